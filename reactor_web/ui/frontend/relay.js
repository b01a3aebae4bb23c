// The tab's relay peer: one RTCPeerConnection to the Reflex backend, which holds the model session. It carries the
// model's tracks the page uses down (video and audio) and the camera and microphone up, so the page never talks to
// the GPU or sees an API key; its "relay" data channel carries the heartbeat (relay-protocol.js).
//
// Its states and what moves it between them are relay-state.js's reducer; this class feeds the reducer the
// browser's events and does what each state entered means (enter). Everything it owns (the peer connection, its
// channel, its timers) belongs to the current connection and ends with it (teardown).
import { candidateError, hasRelayCandidate, noRelayReason, waitForIceGathering } from "./ice.js";
import { vp8First } from "./media.js";
import {
  beatMessage,
  connectMarksMessage,
  HEARTBEAT_MS,
  offerMessage,
  parseAnswer,
  parseChannelMessage,
  STATS_EVERY_BEATS,
} from "./relay-protocol.js";
import { ANSWER_TIMEOUT_MS, DISCONNECTED_RESTART_MS, initialRelayState, Phase, relayReducer } from "./relay-state.js";
import { FRAMES_CHECK_MS, framesDecoded, isLive, liveChanged, nextProgress, summarizeStats } from "./stats.js";
import { nextClock } from "./timeline.js";
import { DEFAULT_VIDEO_TRACK, mergeTracks, needsOffer } from "./tracks.js";

function preferVp8(transceiver) {
  try {
    transceiver.setCodecPreferences(vp8First(RTCRtpReceiver.getCapabilities("video").codecs));
  } catch (err) {
    console.debug("reactor-web: codec preferences not applied", err);
  }
}

export class Relay {
  // `store`: the page's (store.js), which it reads the wanted tracks and inputs from and publishes the received
  // streams, liveness and notices to. `sendOffer(text)` hands an offer to the backend (ReactorState.relay_offer).
  // `iceServers` / `iceTransportPolicy`: the RTCPeerConnection's ("relay": TURN candidates only).
  constructor(store, { iceServers, iceTransportPolicy, sendOffer }) {
    this.store = store;
    this.iceServers = iceServers || [];
    this.iceTransportPolicy = iceTransportPolicy === "relay" ? "relay" : "all";
    this.sendOffer = sendOffer;
    this.state = initialRelayState;
    // The current connection's: its peer, channel, timers, and one transceiver per track (name → { name, kind,
    // direction, transceiver }; kept after a teardown, for the next offer to carry them again).
    this.pc = null;
    this.channel = null;
    this.timers = [];
    this.tracks = new Map();
    // This page's clock against the backend's ({ offset, rtt, at }, timeline.js), per connection: a new one may
    // reach another backend.
    this.clock = null;
    // Per video output: when the page last presented one of its frames, and since when only frames decoded or
    // presented after that count as live (Date.now()); the outputs whose decoder count is taken afresh next.
    this.presentedAt = new Map();
    this.liveSince = new Map();
    this.rebase = new Set();
    // A connect's marks waiting for the channel and a clock estimate.
    this.pendingMarks = null;
    this.dispatch({ type: "start" });
  }

  // Feed the reducer `event`; a state entered starts what it means.
  dispatch(event) {
    const previous = this.state;
    this.state = relayReducer(previous, event);
    if (this.state.phase !== previous.phase) this.enter(this.state, event);
  }

  enter(state, event) {
    switch (state.phase) {
      case Phase.OFFERING:
        return this.connect(state.offerId);
      case Phase.ANSWERING:
        return this.sendCurrentOffer(state.offerId, event.sdp);
      case Phase.CONNECTING:
        return this.pc.setRemoteDescription({ type: "answer", sdp: event.sdp }).catch((err) => {
          console.warn("reactor-web: relay answer not applied", err);
          this.dispatch({ type: "failed", offerId: state.offerId });
        });
      case Phase.DISCONNECTED:
        return this.later(() => this.dispatch({ type: "disconnected-timeout", offerId: state.offerId }), DISCONNECTED_RESTART_MS);
      case Phase.RETRYING:
        this.teardown(state.retry.notice ? { notice: state.retry.notice } : {});
        return this.later(() => this.dispatch({ type: "start" }), state.retry.delayMs);
      case Phase.CLOSED:
        return this.teardown();
      default:
        return undefined;
    }
  }

  // A new peer connection for offer `offerId`, with a transceiver per track and the channel.
  connect(offerId) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy });
    this.pc = pc;
    this.clock = null;
    // Why a TURN server gave no candidate (wrong credentials: 401), for the notice when none came.
    const candidateErrors = [];
    pc.onicecandidateerror = (event) => {
      const error = candidateError(event);
      if (error) candidateErrors.push(error);
    };
    const channel = pc.createDataChannel("relay");
    this.channel = channel;
    const tracks = mergeTracks(this.store.desiredTracks(), this.tracks.values());
    this.tracks = new Map();
    for (const t of tracks) {
      const transceiver = pc.addTransceiver(t.kind, { direction: t.direction });
      if (t.kind === "video" && t.direction === "recvonly") preferVp8(transceiver);
      this.tracks.set(t.name, { ...t, transceiver });
      if (t.direction === "sendonly") this.applyInput(t.name);
    }
    pc.ontrack = (event) => {
      for (const t of this.tracks.values()) {
        if (t.transceiver !== event.transceiver) continue;
        this.store.publish({ streams: { ...this.store.snapshot.streams, [t.name]: event.track } });
      }
    };
    pc.onconnectionstatechange = () => this.dispatch({ type: "connection-state", offerId, state: pc.connectionState });
    channel.onopen = () => this.beat();
    channel.onmessage = (event) => {
      const message = channel === this.channel ? parseChannelMessage(event.data) : null;
      if (message && message.type === "bye") this.dispatch({ type: "bye", offerId, reason: message.reason });
      if (message && message.type === "clock") this.noteClock(message);
    };
    channel.onclose = () => this.dispatch({ type: "channel-closed", offerId });
    this.watchFrames(pc);
    this.offer(pc, offerId, candidateErrors).catch((err) => {
      if (pc !== this.pc) return; // a connection closed while it offered
      console.warn("reactor-web: relay offer failed", err);
      this.dispatch({ type: "failed", offerId });
    });
  }

  async offer(pc, offerId, candidateErrors) {
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc);
    if (pc !== this.pc) return;
    const sdp = pc.localDescription.sdp;
    if (this.iceTransportPolicy === "relay" && !hasRelayCandidate(sdp)) {
      // Relay-only with no TURN candidate cannot connect: say so rather than wait for ICE to fail.
      this.dispatch({ type: "no-relay-candidate", offerId, why: noRelayReason(candidateErrors) });
    } else {
      this.dispatch({ type: "offer-ready", offerId, sdp });
    }
  }

  sendCurrentOffer(offerId, sdp) {
    this.later(() => this.dispatch({ type: "answer-timeout", offerId }), ANSWER_TIMEOUT_MS);
    const tracks = [...this.tracks.values()].map((t) => ({ ...t, mid: t.transceiver.mid }));
    this.sendOffer(offerMessage(offerId, sdp, tracks));
  }

  // The backend's answer (ReactorState.relay_answer's JSON text), applied when it answers the current offer.
  applyAnswer(text) {
    const answer = parseAnswer(text);
    if (!answer || !this.pc) return;
    if (answer.error !== undefined) {
      console.warn("reactor-web relay:", answer.error);
      this.dispatch({ type: "refused", id: answer.id, error: answer.error });
    } else if (this.pc.signalingState === "have-local-offer") {
      this.dispatch({ type: "answer", id: answer.id, sdp: answer.sdp });
    }
  }

  // Offer again when a track the page wants now is not on the current connection.
  renegotiate() {
    if (needsOffer(this.store.desiredTracks(), this.tracks)) this.dispatch({ type: "renegotiate" });
  }

  // Send on input `name` what the store holds for it (a camera is not sent on an audio input, nor the reverse).
  applyInput(name) {
    const t = this.tracks.get(name);
    if (!t || t.direction !== "sendonly" || !this.pc || this.pc.signalingState === "closed") return;
    const track = this.store.inputs.get(name) || null;
    if (track && track.kind !== t.kind) return;
    t.transceiver.sender.replaceTrack(track).catch((err) => console.warn(`reactor-web: input "${name}"`, err));
  }

  beat() {
    let beats = 0;
    this.every(HEARTBEAT_MS, async () => {
      const channel = this.channel;
      if (!channel || channel.readyState !== "open") return;
      const now = Date.now();
      const stats = ++beats % STATS_EVERY_BEATS === 0 ? await this.browserStats() : null;
      if (channel.readyState === "open") channel.send(beatMessage(now, this.store.eventsConnected, stats));
    });
  }

  async browserStats() {
    try {
      const main = this.tracks.get(DEFAULT_VIDEO_TRACK);
      return summarizeStats((await this.pc.getStats()).values(), main ? main.transceiver.mid : null);
    } catch (err) {
      console.debug("reactor-web: getStats failed", err);
      return {};
    }
  }

  // A video output counts as "live" only while its decoder makes progress: a frozen or stale peer must not look
  // ready.
  watchFrames(pc) {
    const progress = new Map(); // name → { decoded, at } (stats.js)
    this.every(FRAMES_CHECK_MS, async () => {
      const live = {};
      for (const t of this.tracks.values()) {
        if (t.kind !== "video" || t.direction !== "recvonly") continue;
        const seen = progress.get(t.name) || { decoded: 0, at: 0 };
        let decoded;
        try {
          // The receiver's own report only: far cheaper than the whole connection's.
          decoded = framesDecoded((await t.transceiver.receiver.getStats()).values(), seen.decoded);
        } catch {
          continue;
        }
        const now = Date.now();
        const next = nextProgress(seen, decoded, now, this.rebase.delete(t.name));
        progress.set(t.name, next);
        live[t.name] = isLive(next, this.presentedAt.get(t.name), this.liveSince.get(t.name), now);
      }
      if (pc !== this.pc || !liveChanged(live, this.store.snapshot.live)) return;
      this.store.publish(Object.values(live).some(Boolean) ? { live, notice: "" } : { live });
    });
  }

  // A frame of video output `name` was presented: it is live now, without waiting for the next decoder check
  // (twice a second), so the first frame of a connect shows at once.
  framePresented(name) {
    this.presentedAt.set(name, Date.now());
    const { live } = this.store.snapshot;
    if (!live[name]) this.store.publish({ live: { ...live, [name]: true }, notice: "" });
  }

  // The session that fed output `name` ended (or is reconnecting): its last frames no longer count as live, so a
  // quick new connect does not show the old session's picture as its own.
  resetLive(name) {
    this.liveSince.set(name, Date.now());
    this.rebase.add(name);
    const { live } = this.store.snapshot;
    if (live[name]) this.store.publish({ live: { ...live, [name]: false } });
  }

  noteClock(sample) {
    this.clock = nextClock(this.clock, sample, Date.now());
    this.flushMarks();
  }

  // A connect's marks (timeline.js), sent once the channel is open and the clock estimated.
  reportConnect(marks) {
    this.pendingMarks = { ...marks };
    this.flushMarks();
  }

  flushMarks() {
    const channel = this.channel;
    if (!this.pendingMarks || !this.clock || !channel || channel.readyState !== "open") return;
    channel.send(connectMarksMessage(this.pendingMarks, this.clock));
    this.pendingMarks = null;
  }

  later(fn, delayMs) {
    this.timers.push(setTimeout(fn, delayMs));
  }

  every(periodMs, fn) {
    this.timers.push(setInterval(fn, periodMs));
  }

  // End the current connection and what it owns; `patch` goes to the store with its emptied streams.
  teardown(patch = {}) {
    this.timers.forEach((t) => clearInterval(t)); // clearInterval clears timeouts too (one id pool)
    this.timers = [];
    this.channel = null;
    if (this.pc) this.pc.close();
    this.pc = null;
    this.store.publish({ ...patch, streams: {}, live: {} });
  }

  // The provider unmounted: the relay ends for good.
  close() {
    this.dispatch({ type: "close" });
  }
}
