// The page's two time questions (pure): how its clock stands against the backend's, and when a connect was
// shown (reactor_web/relay/timeline.py puts these marks beside the backend's own).

// The estimate is taken from the least-delayed clock answer of this long.
export const CLOCK_SAMPLE_MAX_AGE_MS = 60000;

// The clock estimate { offset, rtt, at } after the backend's answer `sample` ({ t: the beat's page ms, at: the
// backend's ms }) arrived at page time `now`: NTP's estimate, the offset within half the round trip. A sample
// with a longer round trip than the kept one's does not replace it, unless the kept one is older than
// CLOCK_SAMPLE_MAX_AGE_MS. `clock` null: none yet. An answer from the future (a negative round trip) is ignored.
export function nextClock(clock, sample, now) {
  const rtt = now - sample.t;
  if (!(rtt >= 0)) return clock;
  if (clock && rtt > clock.rtt && now - clock.at <= CLOCK_SAMPLE_MAX_AGE_MS) return clock;
  return { offset: sample.at - (sample.t + now) / 2, rtt, at: now };
}

// A connect being timed: the moments (page ms) the main view rendered "ready" and showed the first frame.
export const CONNECT_MARKS = ["ready_shown_at", "first_frame_at"];

export function startMarks() {
  return { ready_shown_at: null, first_frame_at: null };
}

// `marks` with moment `key` at `now`; the same object when nothing is timed (null) or `key` is already set.
export function noteMark(marks, key, now) {
  if (!marks || !CONNECT_MARKS.includes(key) || marks[key] !== null) return marks;
  return { ...marks, [key]: now };
}

export function marksComplete(marks) {
  return Boolean(marks) && CONNECT_MARKS.every((key) => marks[key] !== null);
}
