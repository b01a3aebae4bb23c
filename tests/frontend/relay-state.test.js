// The relay's reducer: each state, what moves it on, and the stale or untimely events that must change nothing.
import { describe, expect, test } from "bun:test";
import {
  initialRelayState,
  NO_RELAY_RETRY_MS,
  Phase,
  relayReducer,
  RESTART_DELAY_MS,
} from "../../reactor_web/ui/frontend/relay-state.js";

const run = (events, state = initialRelayState) => events.reduce(relayReducer, state);

// A relay at `phase` on its offer number 2 (one retry behind it).
function at(phase) {
  const offering = run([{ type: "start" }, { type: "renegotiate" }, { type: "start" }]);
  const steps = {
    [Phase.OFFERING]: [],
    [Phase.ANSWERING]: [{ type: "offer-ready", offerId: 2 }],
    [Phase.CONNECTING]: [{ type: "offer-ready", offerId: 2 }, { type: "answer", id: 2 }],
    [Phase.CONNECTED]: [
      { type: "offer-ready", offerId: 2 },
      { type: "answer", id: 2 },
      { type: "connection-state", offerId: 2, state: "connected" },
    ],
    [Phase.DISCONNECTED]: [
      { type: "offer-ready", offerId: 2 },
      { type: "answer", id: 2 },
      { type: "connection-state", offerId: 2, state: "disconnected" },
    ],
  };
  const state = run(steps[phase], offering);
  expect(state.phase).toBe(phase);
  return state;
}

const LIVE = [Phase.OFFERING, Phase.ANSWERING, Phase.CONNECTING, Phase.CONNECTED, Phase.DISCONNECTED];

describe("the happy path", () => {
  test("start, offer, answer, connect", () => {
    const phases = [];
    let state = initialRelayState;
    for (const event of [
      { type: "start" },
      { type: "offer-ready", offerId: 1 },
      { type: "answer", id: 1 },
      { type: "connection-state", offerId: 1, state: "connecting" },
      { type: "connection-state", offerId: 1, state: "connected" },
    ]) {
      state = relayReducer(state, event);
      phases.push(state.phase);
    }
    expect(phases).toEqual(["offering", "answering", "connecting", "connecting", "connected"]);
    expect(state).toEqual({ phase: "connected", offerId: 1, pendingId: null, retry: null });
  });

  test("the offer pending is the one sent, until its answer", () => {
    expect(at(Phase.ANSWERING).pendingId).toBe(2);
    expect(at(Phase.CONNECTING).pendingId).toBeNull();
  });

  test("ICE that comes back after a disconnect is connected again", () => {
    const state = relayReducer(at(Phase.DISCONNECTED), { type: "connection-state", offerId: 2, state: "connected" });
    expect(state.phase).toBe(Phase.CONNECTED);
  });

  test("each start numbers a new offer", () => {
    const state = run([{ type: "start" }, { type: "bye", offerId: 1, reason: "x" }, { type: "start" }]);
    expect(state).toMatchObject({ phase: Phase.OFFERING, offerId: 2, pendingId: null, retry: null });
  });
});

describe("what makes it offer again, after how long, saying what", () => {
  const cases = [
    [Phase.CONNECTED, { type: "connection-state", offerId: 2, state: "failed" }, RESTART_DELAY_MS, null],
    [Phase.CONNECTED, { type: "channel-closed", offerId: 2 }, RESTART_DELAY_MS, null],
    [Phase.CONNECTED, { type: "bye", offerId: 2, reason: "the tab was released" }, 0, "the tab was released"],
    [Phase.CONNECTED, { type: "renegotiate" }, 0, null],
    [Phase.DISCONNECTED, { type: "disconnected-timeout", offerId: 2 }, 0, null],
    [Phase.ANSWERING, { type: "answer-timeout", offerId: 2 }, 0, null],
    [Phase.ANSWERING, { type: "refused", id: 2, error: "bad sdp" }, RESTART_DELAY_MS, "The backend refused the relay offer: bad sdp"],
    [Phase.CONNECTED, { type: "refused", id: undefined, error: "gone" }, RESTART_DELAY_MS, "The backend refused the relay offer: gone"],
    [Phase.OFFERING, { type: "failed", offerId: 2 }, RESTART_DELAY_MS, null],
    [Phase.CONNECTING, { type: "failed", offerId: 2 }, RESTART_DELAY_MS, null],
    [
      Phase.OFFERING,
      { type: "no-relay-candidate", offerId: 2, why: "turn:x: 401 Unauthorized" },
      NO_RELAY_RETRY_MS,
      "The TURN server gave no relay candidate (turn:x: 401 Unauthorized); relay-only is set: check REACTOR_ICE_SERVERS.",
    ],
  ];
  for (const [phase, event, delayMs, notice] of cases) {
    test(`${event.type} in ${phase}`, () => {
      const state = relayReducer(at(phase), event);
      expect(state).toEqual({ phase: Phase.RETRYING, offerId: 2, pendingId: null, retry: { delayMs, notice } });
    });
  }
});

describe("events that change nothing (the same state comes back)", () => {
  test("anything about an older connection", () => {
    for (const phase of LIVE) {
      const state = at(phase);
      for (const event of [
        { type: "offer-ready", offerId: 1 },
        { type: "no-relay-candidate", offerId: 1, why: "" },
        { type: "connection-state", offerId: 1, state: "failed" },
        { type: "connection-state", offerId: 1, state: "connected" },
        { type: "disconnected-timeout", offerId: 1 },
        { type: "answer-timeout", offerId: 1 },
        { type: "bye", offerId: 1, reason: "old" },
        { type: "channel-closed", offerId: 1 },
        { type: "failed", offerId: 1 },
      ]) {
        expect(relayReducer(state, event)).toBe(state);
      }
    }
  });

  test("an answer or refusal of another offer", () => {
    const answering = at(Phase.ANSWERING);
    expect(relayReducer(answering, { type: "answer", id: 1 })).toBe(answering);
    expect(relayReducer(answering, { type: "refused", id: 1, error: "old" })).toBe(answering);
    // The backend could not read the offer's id (null): not this offer's refusal; the answer timeout covers it.
    expect(relayReducer(answering, { type: "refused", id: null, error: "?" })).toBe(answering);
  });

  test("an answer that is not awaited", () => {
    for (const phase of [Phase.OFFERING, Phase.CONNECTING, Phase.CONNECTED]) {
      const state = at(phase);
      expect(relayReducer(state, { type: "answer", id: 2 })).toBe(state);
    }
  });

  test("an answer timeout once the answer came", () => {
    const state = at(Phase.CONNECTED);
    expect(relayReducer(state, { type: "answer-timeout", offerId: 2 })).toBe(state);
  });

  test("a disconnect timeout after ICE came back", () => {
    const state = at(Phase.CONNECTED);
    expect(relayReducer(state, { type: "disconnected-timeout", offerId: 2 })).toBe(state);
  });

  test("a relay candidate verdict or offer after the offer went", () => {
    const state = at(Phase.ANSWERING);
    expect(relayReducer(state, { type: "offer-ready", offerId: 2 })).toBe(state);
    expect(relayReducer(state, { type: "no-relay-candidate", offerId: 2, why: "" })).toBe(state);
  });

  test("a start while a connection is live", () => {
    for (const phase of LIVE) {
      const state = at(phase);
      expect(relayReducer(state, { type: "start" })).toBe(state);
    }
  });

  test("while retrying, everything but the start (and close)", () => {
    const retrying = relayReducer(at(Phase.CONNECTED), { type: "channel-closed", offerId: 2 });
    for (const event of [
      { type: "renegotiate" },
      { type: "answer", id: 2 },
      { type: "refused", id: undefined, error: "late" },
      { type: "bye", offerId: 2, reason: "late" },
      { type: "connection-state", offerId: 2, state: "failed" },
      { type: "channel-closed", offerId: 2 },
    ]) {
      expect(relayReducer(retrying, event)).toBe(retrying);
    }
    expect(relayReducer(retrying, { type: "start" }).phase).toBe(Phase.OFFERING);
  });

  test("connection states that mean no change, and unknown events", () => {
    const state = at(Phase.CONNECTING);
    expect(relayReducer(state, { type: "connection-state", offerId: 2, state: "new" })).toBe(state);
    expect(relayReducer(state, { type: "connection-state", offerId: 2, state: "connecting" })).toBe(state);
    expect(relayReducer(state, { type: "no-such-event" })).toBe(state);
  });
});

describe("close", () => {
  test("ends every state for good", () => {
    for (const phase of [...LIVE, Phase.IDLE]) {
      const closed = relayReducer(phase === Phase.IDLE ? initialRelayState : at(phase), { type: "close" });
      expect(closed.phase).toBe(Phase.CLOSED);
      for (const event of [{ type: "start" }, { type: "renegotiate" }, { type: "refused", error: "x" }]) {
        expect(relayReducer(closed, event)).toBe(closed);
      }
    }
  });

  test("cancels a retry", () => {
    const retrying = relayReducer(at(Phase.CONNECTED), { type: "bye", offerId: 2, reason: "x" });
    const closed = relayReducer(retrying, { type: "close" });
    expect(closed).toMatchObject({ phase: Phase.CLOSED, retry: null });
    expect(relayReducer(closed, { type: "start" })).toBe(closed);
  });
});

test("the reducer never changes the state it is given", () => {
  const state = Object.freeze({ ...at(Phase.CONNECTED) });
  expect(() => relayReducer(state, { type: "bye", offerId: 2, reason: "x" })).not.toThrow();
  expect(state.phase).toBe(Phase.CONNECTED);
  expect(initialRelayState.phase).toBe(Phase.IDLE);
});
