// The relay's own messages: what the page sends is what reactor_web/relay/peer.py reads, and what the backend
// sends is read back, with anything malformed refused (null) rather than thrown.
import { describe, expect, test } from "bun:test";
import {
  beatMessage,
  connectMarksMessage,
  DEFAULT_BYE_REASON,
  offerMessage,
  parseAnswer,
  parseChannelMessage,
} from "../../reactor_web/ui/frontend/relay-protocol.js";

describe("the offer", () => {
  test("carries its number, the SDP and each track's m-section, nothing else", () => {
    const transceiver = { mid: "9" };
    const text = offerMessage(3, "v=0\r\n", [
      { name: "main_video", kind: "video", direction: "recvonly", mid: "0", transceiver },
      { name: "webcam", kind: "video", direction: "sendonly", mid: null },
    ]);
    expect(JSON.parse(text)).toEqual({
      id: 3,
      sdp: "v=0\r\n",
      tracks: [
        { name: "main_video", kind: "video", direction: "recvonly", mid: "0" },
        { name: "webcam", kind: "video", direction: "sendonly", mid: null },
      ],
    });
  });
});

describe("the answer", () => {
  test("an SDP answer", () => {
    expect(parseAnswer('{"id": 2, "sdp": "v=0 answer"}')).toEqual({ id: 2, sdp: "v=0 answer" });
  });

  test("a refusal keeps its id as sent: a number, null, or absent", () => {
    expect(parseAnswer('{"id": 2, "error": "no such track"}')).toEqual({ id: 2, error: "no such track" });
    expect(parseAnswer('{"id": null, "error": "bad JSON"}')).toEqual({ id: null, error: "bad JSON" });
    const absent = parseAnswer('{"error": "x"}');
    expect(absent).toEqual({ id: undefined, error: "x" });
    expect("id" in absent && absent.id === undefined).toBe(true);
  });

  test("malformed answers are refused", () => {
    for (const text of ["", "not json", "[1]", "null", "42", '"text"', '{"id": 1}', '{"id": 1, "sdp": 5}', undefined]) {
      expect(parseAnswer(text)).toBeNull();
    }
  });
});

describe("the beat", () => {
  test("a bare beat is the page's time", () => {
    expect(JSON.parse(beatMessage(1234.5, true, null))).toEqual({ t: 1234.5 });
  });

  test("says when the page's websocket is down, and carries stats when given", () => {
    expect(JSON.parse(beatMessage(10, false, { rtt_ms: 3 }))).toEqual({ t: 10, ws: false, stats: { rtt_ms: 3 } });
  });
});

describe("what the backend sends on the channel", () => {
  test("a clock answer", () => {
    expect(parseChannelMessage('{"type": "clock", "t": 100, "at": 5000.25}')).toEqual({ type: "clock", t: 100, at: 5000.25 });
  });

  test("a clock answer without both times is refused", () => {
    for (const text of ['{"type": "clock", "t": 100}', '{"type": "clock", "t": "100", "at": 1}', '{"type": "clock", "at": 1}']) {
      expect(parseChannelMessage(text)).toBeNull();
    }
  });

  test("a goodbye says why, or the default reason", () => {
    expect(parseChannelMessage('{"type": "bye", "reason": "released after 6 s"}')).toEqual({
      type: "bye",
      reason: "released after 6 s",
    });
    for (const text of ['{"type": "bye"}', '{"type": "bye", "reason": ""}', '{"type": "bye", "reason": {"a": 1}}']) {
      expect(parseChannelMessage(text)).toEqual({ type: "bye", reason: DEFAULT_BYE_REASON });
    }
  });

  test("anything else is refused", () => {
    for (const text of ["", "{", "[]", "null", '"bye"', '{"type": "other"}', '{"t": 1}', new ArrayBuffer(4)]) {
      expect(parseChannelMessage(text)).toBeNull();
    }
  });
});

test("the connect marks carry the moments and the clock estimate", () => {
  const text = connectMarksMessage({ ready_shown_at: 1000, first_frame_at: 1040 }, { offset: -12.5, rtt: 3, at: 999 });
  expect(JSON.parse(text)).toEqual({
    type: "connect_marks",
    ready_shown_at: 1000,
    first_frame_at: 1040,
    offset_ms: -12.5,
    rtt_ms: 3,
  });
});
