// The relay's own messages, built and read here only (pure). The backend's side is reactor_web/relay/peer.py.
//
// Through Reflex state (ReactorState.relay_offer / relay_answer):
//   page → backend  offer   {"id": n, "sdp": "v=0...", "tracks": [{"name", "kind", "direction", "mid"}]}
//   backend → page  answer  {"id": n, "sdp": "v=0..."}, or a refusal {"id": n | null, "error": "why"}
// Over the relay peer's "relay" data channel:
//   page → backend  beat           {"t": page ms, "ws"?: false, "stats"?: {...}}, every HEARTBEAT_MS
//   backend → page  clock          {"type": "clock", "t": the beat's t, "at": backend ms}
//   backend → page  bye            {"type": "bye", "reason": "why the backend ended the relay"}
//   page → backend  connect marks  {"type": "connect_marks", "ready_shown_at", "first_frame_at", "offset_ms", "rtt_ms"}
// Builders return the JSON text; readers return a plain object, or null for anything malformed (never throw).

export const HEARTBEAT_MS = 1000;
// Every this many beats, a beat carries the page's WebRTC stats (the stats panel's browser side).
export const STATS_EVERY_BEATS = 2;
export const DEFAULT_BYE_REASON = "the backend ended the relay";

function parseObject(text) {
  if (typeof text !== "string" || !text) return null;
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

// The page's offer: `id` numbers it (the answer echoes it), `tracks` says which model track each m-section is.
export function offerMessage(id, sdp, tracks) {
  const listed = tracks.map(({ name, kind, direction, mid }) => ({ name, kind, direction, mid }));
  return JSON.stringify({ id, sdp, tracks: listed });
}

// The backend's answer: { id, sdp }, or { id, error } for a refused offer. The id is kept as sent (undefined
// when absent, null when the backend could not read the offer's): the relay's reducer tells them apart.
export function parseAnswer(text) {
  const answer = parseObject(text);
  if (!answer) return null;
  if (answer.error) return { id: answer.id, error: String(answer.error) };
  if (typeof answer.sdp !== "string") return null;
  return { id: answer.id, sdp: answer.sdp };
}

// A beat at page time `now` (ms). `eventsConnected` false tells the backend the page's Reflex websocket is down;
// `stats`, when given, are the page's WebRTC stats.
export function beatMessage(now, eventsConnected, stats) {
  const message = { t: now };
  if (!eventsConnected) message.ws = false;
  if (stats) message.stats = stats;
  return JSON.stringify(message);
}

// What the backend sent on the channel: { type: "clock", t, at } or { type: "bye", reason }; null otherwise.
export function parseChannelMessage(text) {
  const message = parseObject(text);
  if (!message) return null;
  if (message.type === "bye") {
    const reason = typeof message.reason === "string" && message.reason ? message.reason : DEFAULT_BYE_REASON;
    return { type: "bye", reason };
  }
  if (message.type === "clock" && Number.isFinite(message.t) && Number.isFinite(message.at)) {
    return { type: "clock", t: message.t, at: message.at };
  }
  return null;
}

// A connect's moments on the page's clock (`marks`, see timeline.js), with the clock estimate that puts them on
// the backend's: `offset` (backend minus page, ms) and `rtt` (the round trip it was taken from, ms).
export function connectMarksMessage(marks, clock) {
  return JSON.stringify({
    type: "connect_marks",
    ready_shown_at: marks.ready_shown_at,
    first_frame_at: marks.first_frame_at,
    offset_ms: clock.offset,
    rtt_ms: clock.rtt,
  });
}
