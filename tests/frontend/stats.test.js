// What the beats report of the page's WebRTC stats, and when a model video counts as live.
import { describe, expect, test } from "bun:test";
import {
  framesDecoded,
  isLive,
  LIVE_WITHIN_MS,
  liveChanged,
  nextProgress,
  summarizeStats,
} from "../../reactor_web/ui/frontend/stats.js";

const video = (mid, framesDecoded) => ({
  type: "inbound-rtp",
  kind: "video",
  mid,
  framesPerSecond: 30,
  jitter: 0.002,
  packetsLost: 1,
  framesDecoded,
  bytesReceived: 5000,
});

describe("summarizeStats", () => {
  test("the main video's receiver and the selected pair's round trip, in the stats panel's keys", () => {
    const report = new Map([
      ["a", video("1", 99)],
      ["b", video("0", 40)],
      ["c", { type: "candidate-pair", state: "succeeded", currentRoundTripTime: 0.0125 }],
      ["d", { type: "candidate-pair", state: "failed", currentRoundTripTime: 9 }],
      ["e", { type: "inbound-rtp", kind: "audio", mid: "0", framesDecoded: 1 }],
    ]);
    expect(summarizeStats(report.values(), "0")).toEqual({
      frames_per_second: 30,
      jitter: 0.002,
      packets_lost: 1,
      frames_decoded: 40,
      bytes_received: 5000,
      rtt_ms: 12.5,
    });
  });

  test("without a main video, or a report naming no mid, any video receiver", () => {
    expect(summarizeStats([video("1", 7)], null).frames_decoded).toBe(7);
    expect(summarizeStats([video(undefined, 8)], "0").frames_decoded).toBe(8);
  });

  test("nothing known is nothing said", () => {
    expect(summarizeStats([{ type: "candidate-pair", state: "succeeded" }], "0")).toEqual({});
  });
});

test("framesDecoded reads the video receiver's count, keeping the last one when there is none", () => {
  expect(framesDecoded([{ type: "transport" }, video("0", 12)], 3)).toBe(12);
  expect(framesDecoded([{ type: "transport" }], 3)).toBe(3);
  expect(framesDecoded([video("0", undefined)], 3)).toBe(0);
});

describe("liveness", () => {
  test("progress moves on only when more frames were decoded; a rebase takes the count afresh", () => {
    const seen = { decoded: 10, at: 500 };
    expect(nextProgress(seen, 10, 900, false)).toBe(seen);
    expect(nextProgress(seen, 12, 900, false)).toEqual({ decoded: 12, at: 900 });
    expect(nextProgress(seen, 50, 900, true)).toEqual({ decoded: 50, at: 0 });
  });

  test("live within LIVE_WITHIN_MS of the last decoded or presented frame", () => {
    expect(isLive({ decoded: 5, at: 1000 }, undefined, undefined, 1000 + LIVE_WITHIN_MS - 1)).toBe(true);
    expect(isLive({ decoded: 5, at: 1000 }, undefined, undefined, 1000 + LIVE_WITHIN_MS)).toBe(false);
    expect(isLive({ decoded: 5, at: 0 }, 3000, 0, 3100)).toBe(true);
    expect(isLive({ decoded: 0, at: 0 }, undefined, undefined, 10)).toBe(false);
  });

  test("frames from before the last session ended do not count", () => {
    expect(isLive({ decoded: 5, at: 1000 }, 1000, 1000, 1001)).toBe(false);
    expect(isLive({ decoded: 5, at: 1200 }, 1000, 1100, 1300)).toBe(true);
  });

  test("liveChanged compares names as booleans, an absent name not live", () => {
    expect(liveChanged({ a: false }, {})).toBe(false);
    expect(liveChanged({ a: true }, { a: true, b: false })).toBe(false);
    expect(liveChanged({}, { a: true })).toBe(true);
    expect(liveChanged({ a: true }, { a: false })).toBe(true);
  });
});
