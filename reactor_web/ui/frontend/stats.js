// What the page measures of its relay peer (pure): the stats its beats carry, and whether a model video is live.

// The beat's stats from a getStats() report's entries (any iterable of RTCStats): the main video's receiver
// (`mainMid`, its m-section; a report entry that names no mid, or no main video, takes any video receiver) and
// the selected candidate pair's round trip. The keys are what the stats panel reads (reactor_web/ui/stats_panel.py).
export function summarizeStats(entries, mainMid) {
  const out = {};
  for (const s of entries) {
    if (s.type === "inbound-rtp" && s.kind === "video" && (!mainMid || !s.mid || s.mid === mainMid)) {
      out.frames_per_second = s.framesPerSecond;
      out.jitter = s.jitter;
      out.packets_lost = s.packetsLost;
      out.frames_decoded = s.framesDecoded;
      out.bytes_received = s.bytesReceived;
    }
    if (s.type === "candidate-pair" && s.state === "succeeded" && s.currentRoundTripTime !== undefined) {
      out.rtt_ms = s.currentRoundTripTime * 1000;
    }
  }
  return out;
}

// The receiver's decoded-frame count in its own getStats() entries (`fallback` when it reports none).
export function framesDecoded(entries, fallback) {
  let decoded = fallback;
  for (const s of entries) if (s.type === "inbound-rtp" && s.kind === "video") decoded = s.framesDecoded || 0;
  return decoded;
}

// How often the decoders are checked, and for how long after its last decoded or presented frame a video counts
// as live: a frozen or stale peer must not look ready.
export const FRAMES_CHECK_MS = 500;
export const LIVE_WITHIN_MS = 1500;

// One output's decoder progress { decoded: frame count, at: page ms it last grew (0: not since the rebase) } after a
// check found `decoded` frames at `now`. `rebase`: the count is taken afresh (frames decoded before a reset are no
// progress).
export function nextProgress(progress, decoded, now, rebase) {
  if (rebase) return { decoded, at: 0 };
  return decoded > progress.decoded ? { decoded, at: now } : progress;
}

// Whether an output is live at `now`: a frame decoded (`progress.at`) or presented (`presentedAt`) after
// `liveSince` (when its last session ended; 0: never) and within LIVE_WITHIN_MS.
export function isLive(progress, presentedAt, liveSince, now) {
  const at = Math.max(progress.at, presentedAt || 0);
  return at > (liveSince || 0) && now - at < LIVE_WITHIN_MS;
}

// Whether two { name: live } maps differ for any name (an absent name is not live).
export function liveChanged(next, previous) {
  return Object.keys({ ...next, ...previous }).some((n) => Boolean(next[n]) !== Boolean(previous[n]));
}
