// ICE for the page's relay peer: gathering with a bound, and why a relay-only peer got no TURN candidate.

export const ICE_GATHER_TIMEOUT_MS = 3000;

// What an RTCPeerConnectionIceErrorEvent says of an ICE server that gave no candidate ("turn:...: 401
// Unauthorized"), or null for codes that are no server's answer (STUN's 3xx-6xx are).
export function candidateError(event) {
  if (!(event.errorCode >= 300 && event.errorCode < 700)) return null;
  return `${event.url || "ICE server"}: ${event.errorCode} ${event.errorText || ""}`.trim();
}

// Why no relay candidate came, from the candidate errors seen (each said once), for the page's notice.
export function noRelayReason(errors) {
  return errors.length ? [...new Set(errors)].join("; ") : "no answer";
}

// Whether an SDP holds a TURN (relay) candidate.
export function hasRelayCandidate(sdp) {
  return /^a=candidate:.* typ relay/m.test(sdp || "");
}

// Resolves when `pc` has gathered its candidates, or after `timeoutMs` (an unreachable STUN or TURN server must
// not hold the offer back: the host candidates suffice on a LAN).
export function waitForIceGathering(pc, timeoutMs = ICE_GATHER_TIMEOUT_MS) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener("icegatheringstatechange", check);
      clearTimeout(timer);
      resolve();
    };
    const check = () => pc.iceGatheringState === "complete" && done();
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}
