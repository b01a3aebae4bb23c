// The relay's states, and the pure reducer that moves between them (streamlit-webrtc's frontend reducer is the
// model). relay.js runs what each state entered means: a peer connection and its offer on OFFERING, the offer
// sent on ANSWERING, the answer applied on CONNECTING, a teardown and a timer on RETRYING.
//
//   IDLE ─start→ OFFERING ─offer-ready→ ANSWERING ─answer→ CONNECTING ⇄ CONNECTED ⇄ DISCONNECTED
//   every live state ─(failure, goodbye, refusal, timeout, tracks to add)→ RETRYING ─start→ OFFERING
//   any state ─close→ CLOSED (final)
//
// Each peer connection's offer has its own number, `offerId`; an event about a connection carries the number of
// the offer that made it, and an event about an older one (or any event while no connection is live) changes
// nothing: the reducer returns the same state object.

export const Phase = Object.freeze({
  IDLE: "idle", // not started
  OFFERING: "offering", // a peer connection is making its offer (ICE gathering)
  ANSWERING: "answering", // the offer went to the backend, whose answer is awaited
  CONNECTING: "connecting", // the answer is applied: ICE and DTLS are connecting
  CONNECTED: "connected",
  DISCONNECTED: "disconnected", // ICE lost the backend: offered again if it does not come back
  RETRYING: "retrying", // torn down: the next peer connection starts after `retry.delayMs`
  CLOSED: "closed", // the provider unmounted
});

const LIVE = new Set([Phase.OFFERING, Phase.ANSWERING, Phase.CONNECTING, Phase.CONNECTED, Phase.DISCONNECTED]);

// The pause before offering again after a failure (ICE failed, the channel closed, an offer refused or failing).
export const RESTART_DELAY_MS = 1000;
// A relay-only peer that got no TURN candidate tries again after this long (the TURN server may come back).
export const NO_RELAY_RETRY_MS = 5000;
// An offer the backend never answers (a restarted backend, a lost event) is made again after this long.
export const ANSWER_TIMEOUT_MS = 20000;
// A relay whose ICE stays "disconnected" this long is offered again: the backend worker holding it may be gone
// (a new offer reaches whichever worker now holds the tab), and waiting for "failed" takes ICE ~30 s.
export const DISCONNECTED_RESTART_MS = 4000;

export const initialRelayState = Object.freeze({ phase: Phase.IDLE, offerId: 0, pendingId: null, retry: null });

// RETRYING after `delayMs`; `notice` (or null) is what the page says about it.
function retry(state, delayMs, notice = null) {
  return { ...state, phase: Phase.RETRYING, pendingId: null, retry: { delayMs, notice } };
}

// The event concerns the live connection (its offer is the current one).
const current = (state, event) => LIVE.has(state.phase) && event.offerId === state.offerId;

function onConnectionState(state, connectionState) {
  if (connectionState === "failed") return retry(state, RESTART_DELAY_MS);
  if (connectionState === "connected") return { ...state, phase: Phase.CONNECTED };
  if (connectionState === "disconnected") return { ...state, phase: Phase.DISCONNECTED };
  return state;
}

// The relay's next state after `event` ({ type, ... }: see each case). Unknown events change nothing.
export function relayReducer(state, event) {
  if (state.phase === Phase.CLOSED) return state;
  switch (event.type) {
    case "start": // the provider mounted, or a retry's delay passed
      if (state.phase !== Phase.IDLE && state.phase !== Phase.RETRYING) return state;
      return { phase: Phase.OFFERING, offerId: state.offerId + 1, pendingId: null, retry: null };
    case "close":
      return { ...state, phase: Phase.CLOSED, pendingId: null, retry: null };
    case "offer-ready": // { offerId }: ICE gathering ended with usable candidates
      if (!current(state, event) || state.phase !== Phase.OFFERING) return state;
      return { ...state, phase: Phase.ANSWERING, pendingId: event.offerId };
    case "no-relay-candidate": // { offerId, why }: relay-only, and no TURN server gave a candidate
      if (!current(state, event) || state.phase !== Phase.OFFERING) return state;
      return retry(
        state,
        NO_RELAY_RETRY_MS,
        `The TURN server gave no relay candidate (${event.why}); relay-only is set: check REACTOR_ICE_SERVERS.`,
      );
    case "answer": // { id }: the backend's answer (relay-protocol.js parseAnswer)
      if (state.phase !== Phase.ANSWERING || event.id !== state.pendingId) return state;
      return { ...state, phase: Phase.CONNECTING, pendingId: null };
    case "refused": // { id, error }: the backend refused an offer: this one, or (no id) whichever was last
      if (!LIVE.has(state.phase) || (event.id !== undefined && event.id !== state.pendingId)) return state;
      return retry(state, RESTART_DELAY_MS, `The backend refused the relay offer: ${event.error}`);
    case "failed": // { offerId }: making the offer or applying the answer threw
      return current(state, event) ? retry(state, RESTART_DELAY_MS) : state;
    case "answer-timeout": // { offerId }
      return current(state, event) && state.pendingId === event.offerId ? retry(state, 0) : state;
    case "connection-state": // { offerId, state: RTCPeerConnection.connectionState }
      return current(state, event) ? onConnectionState(state, event.state) : state;
    case "disconnected-timeout": // { offerId }
      return current(state, event) && state.phase === Phase.DISCONNECTED ? retry(state, 0) : state;
    case "bye": // { offerId, reason }: the backend ended the relay; offer again at once rather than wait for ICE
      return current(state, event) ? retry(state, 0, event.reason) : state;
    case "channel-closed": // { offerId }: the data channel closed without a word
      return current(state, event) ? retry(state, RESTART_DELAY_MS) : state;
    case "renegotiate": // a component wants a track the live connection lacks
      return LIVE.has(state.phase) ? retry(state, 0) : state;
    default:
      return state;
  }
}
