// The clock-offset estimate (NTP's, from the heartbeat's answers) and the connect marks.
import { describe, expect, test } from "bun:test";
import {
  CLOCK_SAMPLE_MAX_AGE_MS,
  marksComplete,
  nextClock,
  noteMark,
  startMarks,
} from "../../reactor_web/ui/frontend/timeline.js";

describe("the clock estimate", () => {
  test("the offset is the backend's time minus the page's at the round trip's middle", () => {
    // Sent at page 1000, answered at backend 6010, back at page 1020: the middle is page 1010.
    expect(nextClock(null, { t: 1000, at: 6010 }, 1020)).toEqual({ offset: 5000, rtt: 20, at: 1020 });
  });

  test("a faster round trip replaces the estimate, a slower one does not", () => {
    const kept = nextClock(null, { t: 1000, at: 6010 }, 1020);
    expect(nextClock(kept, { t: 2000, at: 7050 }, 2100)).toBe(kept);
    expect(nextClock(kept, { t: 2000, at: 7003 }, 2004)).toEqual({ offset: 5001, rtt: 4, at: 2004 });
    expect(nextClock(kept, { t: 2000, at: 7010 }, 2020)).toEqual({ offset: 5000, rtt: 20, at: 2020 });
  });

  test("an estimate older than the sample age gives way to any answer", () => {
    const kept = nextClock(null, { t: 0, at: 5002 }, 4);
    const late = 4 + CLOCK_SAMPLE_MAX_AGE_MS + 1;
    expect(nextClock(kept, { t: late - 100, at: late + 4950 }, late)).toEqual({ offset: 5000, rtt: 100, at: late });
    expect(nextClock(kept, { t: late - 101, at: 0 }, late - 1)).toBe(kept);
  });

  test("an answer from the future (a negative round trip) is ignored", () => {
    expect(nextClock(null, { t: 2000, at: 1 }, 1999)).toBeNull();
    const kept = { offset: 1, rtt: 50, at: 10 };
    expect(nextClock(kept, { t: 2000, at: 1 }, 1999)).toBe(kept);
  });
});

describe("the connect marks", () => {
  test("each moment is taken once, and the marks are complete with both", () => {
    let marks = startMarks();
    expect(marksComplete(marks)).toBe(false);
    marks = noteMark(marks, "ready_shown_at", 100);
    const once = noteMark(marks, "ready_shown_at", 200);
    expect(once).toBe(marks);
    expect(marksComplete(marks)).toBe(false);
    marks = noteMark(marks, "first_frame_at", 150);
    expect(marks).toEqual({ ready_shown_at: 100, first_frame_at: 150 });
    expect(marksComplete(marks)).toBe(true);
  });

  test("nothing is noted while no connect is timed, nor an unknown moment", () => {
    expect(noteMark(null, "ready_shown_at", 1)).toBeNull();
    expect(marksComplete(null)).toBe(false);
    const marks = startMarks();
    expect(noteMark(marks, "shown_at", 1)).toBe(marks);
  });

  test("noting does not change the marks it is given", () => {
    const marks = startMarks();
    noteMark(marks, "first_frame_at", 5);
    expect(marks.first_frame_at).toBeNull();
  });
});
