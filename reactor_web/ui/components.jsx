// Browser side of reactor-web: one WebRTC peer per tab to the Reflex backend (the relay), and the
// components that use it. The backend holds the GPU session; this peer carries the model's tracks the page
// uses down (video and audio) and the camera and microphone up, so the page never talks to the GPU or sees
// an API key.
import React, { useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import fixWebmDuration from "fix-webm-duration";

const HEARTBEAT_MS = 1000;
const STATS_EVERY_BEATS = 2;
const ICE_GATHER_TIMEOUT_MS = 3000;
const RESTART_DELAY_MS = 1000;
const ANSWER_TIMEOUT_MS = 20000;
// A relay whose ICE stays "disconnected" this long is offered again: the backend worker holding it may be gone
// (a new offer reaches whichever worker now holds the tab), and waiting for "failed" takes ICE ~30 s.
const DISCONNECTED_RESTART_MS = 4000;
// A relay-only peer that got no TURN candidate tries again after this long (the TURN server may come back).
const NO_RELAY_RETRY_MS = 5000;
// The model's video counts as live while the decoder made progress within this long.
const FRAMES_CHECK_MS = 500;
const LIVE_WITHIN_MS = 1500;
// The components' default track names (the JS SDK's defaults, and the usual audio names).
export const DEFAULT_VIDEO_TRACK = "main_video";
export const DEFAULT_CAMERA_TRACK = "webcam";
export const DEFAULT_MICROPHONE_TRACK = "microphone";
// The page's clock is set against the backend's from the least-delayed heartbeat answer of this long.
const CLOCK_SAMPLE_MAX_AGE_MS = 60000;
// A component asking for a track the relay has not negotiated re-offers after this pause, so that components
// mounting together (and the model's declared tracks arriving) cost one new offer, not one each.
const RENEGOTIATE_DEBOUNCE_MS = 50;

// ---- the page's relay peer ---------------------------------------------------------------------

const listeners = new Set();
// streams: received tracks by name; live: per video track, decoded frames are arriving now; declared: the
// model's tracks from its capabilities (null until a session declared them); notice: why the backend last
// ended the relay.
const EMPTY = { relay: null, streams: {}, state: "new", live: {}, notice: "", declared: null };
let snapshot = EMPTY;
function publish(patch) {
  snapshot = { ...snapshot, ...patch };
  listeners.forEach((fn) => fn());
}
function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
const getSnapshot = () => snapshot;
// The production build prerenders the page on the server, where no peer exists yet.
const getServerSnapshot = () => EMPTY;
// What the page sends on each input track (camera, microphone) by name; outlives relay restarts.
const inputTracks = new Map();
// The tracks the page's components use: "direction:name" → { name, kind, direction, count }.
const wantedTracks = new Map();
// Whether the page's Reflex websocket is up; the heartbeat tells the backend when it is not, so a page that
// lost its events connection for longer than the grace period is released like one that stopped beating.
let eventsConnected = true;
let renegotiateTimer = null;
// The moments of the connect being timed, on the page's clock (Date.now()): the main view rendered "ready" and
// showed the first frame. Null while none is timed. The backend puts them beside its own (the stats panel's
// connection timings).
let connectMarks = null;

function startConnectMarks() {
  connectMarks = { ready_shown_at: null, first_frame_at: null };
}

function noteConnectMark(key) {
  if (!connectMarks || connectMarks[key] !== null) return;
  connectMarks[key] = Date.now();
  if (connectMarks.ready_shown_at !== null && connectMarks.first_frame_at !== null) {
    if (snapshot.relay) snapshot.relay.reportConnect(connectMarks);
    connectMarks = null;
  }
}

function scheduleRenegotiate() {
  clearTimeout(renegotiateTimer);
  renegotiateTimer = setTimeout(() => {
    const relay = snapshot.relay;
    if (relay && relay.needsOffer()) relay.restart(0);
  }, RENEGOTIATE_DEBOUNCE_MS);
}

// A component's claim on a track: the relay negotiates it (now, or with a new offer). Returns the release.
function want(name, kind, direction) {
  if (!name) return undefined;
  const key = `${direction}:${name}`;
  const entry = wantedTracks.get(key) || { name, kind, direction, count: 0 };
  entry.count += 1;
  wantedTracks.set(key, entry);
  if (entry.count === 1) scheduleRenegotiate();
  return () => {
    entry.count -= 1;
    if (entry.count === 0) wantedTracks.delete(key);
  };
}

// The tracks the relay offers: all the model declares, and those the components use (a name the model also
// declares takes the declared kind and direction).
function desiredTracks() {
  const out = new Map();
  for (const t of snapshot.declared || []) out.set(t.name, { name: t.name, kind: t.kind, direction: t.direction });
  for (const t of wantedTracks.values()) if (!out.has(t.name)) out.set(t.name, { ...t });
  return [...out.values()];
}

function setInput(name, track) {
  inputTracks.set(name, track);
  if (snapshot.relay) snapshot.relay.applyInput(name);
}

// Why a component cannot use model track `name` as a `kind` `direction` track (null: it can, or nothing is
// declared yet).
function trackProblem(declared, name, kind, direction) {
  if (!declared || !name) return null;
  const t = declared.find((d) => d.name === name);
  const names = declared.map((d) => `"${d.name}"`).join(", ") || "none";
  if (!t) return `The model has no track "${name}" (it declares ${names}).`;
  if (t.kind !== kind || t.direction !== direction) {
    const role = (d) => (d === "recvonly" ? "output" : "input");
    return `The model's "${name}" is a ${t.kind} ${role(t.direction)}, not a ${kind} ${role(direction)}.`;
  }
  return null;
}

function preferVp8(transceiver) {
  // VP8 costs the backend about half of H.264's CPU per stream.
  try {
    const codecs = RTCRtpReceiver.getCapabilities("video").codecs;
    const rank = (c) => (c.mimeType === "video/VP8" ? 0 : 1);
    transceiver.setCodecPreferences([...codecs].sort((a, b) => rank(a) - rank(b)));
  } catch (err) {
    console.debug("reactor-web: codec preferences not applied", err);
  }
}

function waitForIceGathering(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener("icegatheringstatechange", check);
      clearTimeout(timer);
      resolve();
    };
    const check = () => pc.iceGatheringState === "complete" && done();
    const timer = setTimeout(done, ICE_GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

class Relay {
  constructor(iceServers, iceTransportPolicy, sendOffer) {
    this.iceServers = iceServers || [];
    this.iceTransportPolicy = iceTransportPolicy === "relay" ? "relay" : "all";
    this.sendOffer = sendOffer;
    this.closed = false;
    this.offerId = 0;
    this.timers = [];
    // Per video output: when the page last presented one of its frames, and since when only frames decoded or
    // presented after that count as live (Date.now()).
    this.presentedAt = new Map();
    this.liveSince = new Map();
    // Outputs whose decoder count is taken afresh at the next check (frames decoded before a reset are no
    // progress).
    this.rebase = new Set();
    // A connect's marks waiting for the channel and a clock estimate.
    this.pendingMarks = null;
    this.start();
  }

  start() {
    if (this.closed) return;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy });
    this.pc = pc;
    // This page's clock against the backend's ({ offset, rtt, at }), from the backend's answers to the beats: a
    // new connection may reach another backend.
    this.clock = null;
    // Why a TURN server gave no candidate (wrong credentials: 401), for the message when none came.
    this.candidateErrors = [];
    pc.onicecandidateerror = (event) => {
      if (event.errorCode >= 300 && event.errorCode < 700) {
        this.candidateErrors.push(`${event.url || "ICE server"}: ${event.errorCode} ${event.errorText || ""}`.trim());
      }
    };
    this.channel = pc.createDataChannel("relay");
    // One transceiver per track: what is wanted now, and what the last connection carried (a component that
    // unmounted may mount again; dropping its track would cost another offer then).
    const tracks = desiredTracks();
    for (const t of this.tracks ? this.tracks.values() : []) {
      if (!tracks.some((d) => d.name === t.name)) tracks.push({ name: t.name, kind: t.kind, direction: t.direction });
    }
    this.tracks = new Map();
    for (const t of tracks) {
      const transceiver = pc.addTransceiver(t.kind, { direction: t.direction });
      if (t.kind === "video" && t.direction === "recvonly") preferVp8(transceiver);
      this.tracks.set(t.name, { ...t, transceiver });
      if (t.direction === "sendonly") this.applyInput(t.name);
    }
    pc.ontrack = (event) => {
      for (const t of this.tracks.values()) {
        if (t.transceiver === event.transceiver) publish({ streams: { ...snapshot.streams, [t.name]: event.track } });
      }
    };
    pc.onconnectionstatechange = () => {
      publish({ state: pc.connectionState });
      if (pc.connectionState === "failed") this.restart();
      if (pc.connectionState === "disconnected") {
        this.timers.push(
          setTimeout(() => {
            if (pc === this.pc && pc.connectionState === "disconnected") this.restart(0);
          }, DISCONNECTED_RESTART_MS),
        );
      }
    };
    const channel = this.channel;
    channel.onopen = () => this.beat();
    // The backend ending the relay (a tab it released, a shutdown) says why; re-offer at once rather than
    // wait for ICE to fail. A channel closed without a word is noticed the same way.
    channel.onmessage = (event) => {
      let message = null;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && message.type === "bye" && channel === this.channel) {
        publish({ notice: String(message.reason || "the backend ended the relay") });
        this.restart(0);
      }
      if (message && message.type === "clock" && channel === this.channel) this.noteClock(message);
    };
    channel.onclose = () => {
      if (channel === this.channel) this.restart();
    };
    this.watchFrames(pc);
    this.offer(pc);
  }

  // Whether a track the page wants now is not on the current connection (a new offer must carry it).
  needsOffer() {
    if (!this.pc || this.closed) return false;
    return desiredTracks().some((d) => {
      const t = this.tracks.get(d.name);
      return !t || t.kind !== d.kind || t.direction !== d.direction;
    });
  }

  applyInput(name) {
    const t = this.tracks && this.tracks.get(name);
    if (!t || t.direction !== "sendonly" || !this.pc || this.pc.signalingState === "closed") return;
    const track = inputTracks.get(name) || null;
    if (track && track.kind !== t.kind) return; // a camera is not sent on an audio input, nor the reverse
    t.transceiver.sender.replaceTrack(track).catch((err) => console.warn(`reactor-web: input "${name}"`, err));
  }

  // A video track counts as "live" only while its decoder makes progress: a frozen or stale peer must not look
  // ready.
  watchFrames(pc) {
    const progress = new Map(); // name → { decoded, at }
    const timer = setInterval(async () => {
      const live = {};
      for (const t of this.tracks.values()) {
        if (t.kind !== "video" || t.direction !== "recvonly") continue;
        const seen = progress.get(t.name) || { decoded: 0, at: 0 };
        let now = seen.decoded;
        try {
          // The receiver's own report only: far cheaper than the whole connection's.
          (await t.transceiver.receiver.getStats()).forEach((s) => {
            if (s.type === "inbound-rtp" && s.kind === "video") now = s.framesDecoded || 0;
          });
        } catch {
          continue;
        }
        if (this.rebase.delete(t.name)) progress.set(t.name, { decoded: now, at: 0 });
        else if (now > seen.decoded) progress.set(t.name, { decoded: now, at: Date.now() });
        const at = Math.max((progress.get(t.name) || seen).at, this.presentedAt.get(t.name) || 0);
        live[t.name] = at > (this.liveSince.get(t.name) || 0) && Date.now() - at < LIVE_WITHIN_MS;
      }
      if (pc !== this.pc) return;
      const changed = Object.keys({ ...live, ...snapshot.live }).some((n) => Boolean(live[n]) !== Boolean(snapshot.live[n]));
      if (changed) publish(Object.values(live).some(Boolean) ? { live, notice: "" } : { live });
    }, FRAMES_CHECK_MS);
    this.timers.push(timer);
  }

  async offer(pc) {
    const id = ++this.offerId;
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc);
    if (pc !== this.pc || this.closed) return;
    if (this.iceTransportPolicy === "relay" && !/^a=candidate:.* typ relay/m.test(pc.localDescription.sdp)) {
      // Relay-only with no TURN candidate cannot connect: say so rather than wait for ICE to fail.
      const why = this.candidateErrors.length ? [...new Set(this.candidateErrors)].join("; ") : "no answer";
      publish({
        notice: `The TURN server gave no relay candidate (${why}); relay-only is set: check REACTOR_ICE_SERVERS.`,
      });
      this.restart(NO_RELAY_RETRY_MS);
      return;
    }
    this.pendingId = id;
    // An offer the backend never answers (a restarted backend, a lost event) is made again, not waited on forever.
    this.timers.push(
      setTimeout(() => {
        if (this.pendingId === id && pc === this.pc) this.restart(0);
      }, ANSWER_TIMEOUT_MS),
    );
    const tracks = [...this.tracks.values()].map((t) => ({
      name: t.name,
      kind: t.kind,
      direction: t.direction,
      mid: t.transceiver.mid,
    }));
    this.sendOffer(JSON.stringify({ id, sdp: pc.localDescription.sdp, tracks }));
  }

  async applyAnswer(raw) {
    if (!raw || !this.pc) return;
    let answer;
    try {
      answer = JSON.parse(raw);
    } catch {
      return;
    }
    if (answer.error) {
      console.warn("reactor-web relay:", answer.error);
      if (answer.id === undefined || answer.id === this.pendingId) {
        publish({ notice: `The backend refused the relay offer: ${answer.error}` });
        this.restart();
      }
      return;
    }
    if (answer.id !== this.pendingId || this.pc.signalingState !== "have-local-offer") return;
    this.pendingId = null;
    await this.pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
  }

  beat() {
    let beats = 0;
    const timer = setInterval(async () => {
      const channel = this.channel;
      if (!channel || channel.readyState !== "open") return;
      const message = { t: Date.now() };
      if (!eventsConnected) message.ws = false;
      if (++beats % STATS_EVERY_BEATS === 0) message.stats = await this.browserStats();
      if (channel.readyState === "open") channel.send(JSON.stringify(message));
    }, HEARTBEAT_MS);
    this.timers.push(timer);
  }

  async browserStats() {
    const out = {};
    try {
      const main = this.tracks.get(DEFAULT_VIDEO_TRACK);
      const mainMid = main ? main.transceiver.mid : null;
      const report = await this.pc.getStats();
      report.forEach((s) => {
        // The main video's receiver when the report names it (mid), else any video receiver.
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
      });
    } catch (err) {
      console.debug("reactor-web: getStats failed", err);
    }
    return out;
  }

  // A frame of video output `name` was presented: it is live now, without waiting for the next decoder check
  // (twice a second), so the first frame of a connect shows at once.
  framePresented(name) {
    this.presentedAt.set(name, Date.now());
    if (!snapshot.live[name]) publish({ live: { ...snapshot.live, [name]: true }, notice: "" });
  }

  // The session that fed output `name` ended (or is reconnecting): its last frames no longer count as live, so a
  // quick new connect does not show the old session's picture as its own.
  resetLive(name) {
    this.liveSince.set(name, Date.now());
    this.rebase.add(name);
    if (snapshot.live[name]) publish({ live: { ...snapshot.live, [name]: false } });
  }

  // The backend's answer to a beat: { t: the beat's Date.now(), at: the backend's time }. NTP's estimate of the
  // offset, within half the round trip: the least-delayed answer of the last minute is kept.
  noteClock(message) {
    const now = Date.now();
    const rtt = now - message.t;
    if (typeof message.t !== "number" || typeof message.at !== "number" || !(rtt >= 0)) return;
    if (!this.clock || rtt <= this.clock.rtt || now - this.clock.at > CLOCK_SAMPLE_MAX_AGE_MS) {
      this.clock = { offset: message.at - (message.t + now) / 2, rtt, at: now };
    }
    this.flushMarks();
  }

  reportConnect(marks) {
    this.pendingMarks = { ...marks };
    this.flushMarks();
  }

  flushMarks() {
    const channel = this.channel;
    if (!this.pendingMarks || !this.clock || !channel || channel.readyState !== "open") return;
    const report = { type: "connect_marks", ...this.pendingMarks, offset_ms: this.clock.offset, rtt_ms: this.clock.rtt };
    channel.send(JSON.stringify(report));
    this.pendingMarks = null;
  }

  restart(delayMs = RESTART_DELAY_MS) {
    if (this.closed) return;
    this.teardown();
    this.timers.push(setTimeout(() => this.start(), delayMs));
  }

  teardown() {
    this.timers.forEach((t) => clearInterval(t));
    this.timers = [];
    this.channel = null;
    if (this.pc) this.pc.close();
    this.pc = null;
    publish({ streams: {}, state: "closed", live: {} });
  }

  close() {
    this.closed = true;
    this.teardown();
  }
}

// ---- components -------------------------------------------------------------------------------

// Owns the tab's relay peer: mount it once per page. `answer` is the backend's reply to `onOffer`.
// `tracks`: the model's declared tracks ([{name, kind, direction}], from its capabilities; null before any).
export function ReactorProvider({ answer, onOffer, iceServers, iceTransportPolicy, eventsConnected: up, tracks, children }) {
  const offerRef = useRef(onOffer);
  offerRef.current = onOffer;
  eventsConnected = up !== false;
  const declaredKey = JSON.stringify(tracks || null);
  useEffect(() => {
    // A session's declared tracks stay until another session declares others (no churn between sessions).
    if (!Array.isArray(tracks) || declaredKey === JSON.stringify(snapshot.declared)) return;
    publish({ declared: tracks.filter((t) => t && typeof t.name === "string") });
    scheduleRenegotiate();
  }, [declaredKey]);
  useEffect(() => {
    const relay = new Relay(iceServers, iceTransportPolicy, (offer) => offerRef.current && offerRef.current(offer));
    publish({ relay });
    return () => {
      // React StrictMode mounts twice in dev: the first peer must be closed here.
      relay.close();
      if (snapshot.relay === relay) publish({ relay: null });
    };
  }, [JSON.stringify(iceServers || []), iceTransportPolicy]);
  useEffect(() => {
    if (snapshot.relay) snapshot.relay.applyAnswer(answer);
  }, [answer]);
  return <>{children}</>;
}

const overlayStyle = {
  position: "absolute",
  inset: 0,
  display: "flex",
  alignItems: "center",
  justifyContent: "center",
  color: "#ddd",
  fontFamily: "monospace",
  fontSize: "1rem",
  pointerEvents: "none",
};

const noticeStyle = { fontSize: "0.8rem", color: "#f99", marginTop: "0.5em", maxWidth: "90%", textAlign: "center" };

// The model's video, with its audio when `audioTrack` names an audio output; while there is no video, the status
// text in its place. "ready" shows the video only once its frames are arriving (never a last frame left from a
// frozen or released relay). With `muted` false and the browser refusing playback with sound (autoplay rules),
// the video plays muted and a "Click to unmute" button says so.
export function ReactorView({
  status,
  track = DEFAULT_VIDEO_TRACK,
  audioTrack,
  muted = true,
  objectFit = "contain",
  onLiveChange,
  style,
  className,
  ref,
  id,
  ...rest
}) {
  const videoRef = useRef(null);
  const { streams, live, notice, declared } = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot);
  const [soundBlocked, setSoundBlocked] = useState(false);
  useEffect(() => want(track, "video", "recvonly"), [track]);
  useEffect(() => want(audioTrack, "audio", "recvonly"), [audioTrack]);
  // A video the model lacks replaces the view by a message; missing audio only says so over the video.
  const problem = trackProblem(declared, track, "video", "recvonly");
  const audioProblem = trackProblem(declared, audioTrack, "audio", "recvonly");
  const videoTrack = (!problem && streams[track]) || null;
  const soundTrack = (!audioProblem && audioTrack && streams[audioTrack]) || null;
  const stream = useMemo(() => {
    const tracks = [videoTrack, soundTrack].filter(Boolean);
    return tracks.length ? new MediaStream(tracks) : null;
  }, [videoTrack, soundTrack]);
  const notifyLive = useRef(onLiveChange);
  notifyLive.current = onLiveChange;

  const play = (video) => {
    video.muted = muted;
    video.play().then(
      () => setSoundBlocked(false),
      (err) => {
        if (err && err.name === "NotAllowedError" && !video.muted) {
          // Autoplay with sound refused until the user interacts: play muted, and offer the click that unmutes.
          setSoundBlocked(true);
          video.muted = true;
          video.play().catch((e) => console.warn("reactor-web: video.play()", e));
        } else if (err && err.name !== "AbortError") {
          console.warn("reactor-web: video.play()", err);
        }
      },
    );
  };
  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    video.srcObject = stream;
    if (stream) play(video);
    return () => {
      video.srcObject = null;
    };
  }, [stream]);
  useEffect(() => {
    // React does not keep the `muted` property in step with the prop: set it on the element.
    const video = videoRef.current;
    if (video && video.srcObject) play(video);
    else if (video) video.muted = muted;
    if (muted) setSoundBlocked(false);
  }, [muted]);
  const unmute = () => {
    const video = videoRef.current;
    if (!video) return;
    video.muted = false;
    video.play().then(
      () => setSoundBlocked(false),
      (err) => console.warn("reactor-web: unmute", err),
    );
  };

  const isLive = Boolean(live[track]);
  const showVideo = !problem && Boolean(videoTrack) && isLive && status === "ready";
  useEffect(() => {
    if (notifyLive.current) notifyLive.current(showVideo);
  }, [showVideo]);
  // Until the track is live, its first presented frame makes it so (and shows it) at once.
  useEffect(() => {
    const video = videoRef.current;
    if (!video || !videoTrack || isLive || !("requestVideoFrameCallback" in video)) return undefined;
    const handle = video.requestVideoFrameCallback(() => snapshot.relay && snapshot.relay.framePresented(track));
    return () => video.cancelVideoFrameCallback(handle);
  }, [videoTrack, isLive, track]);
  // The main view times each connect from "disconnected": "ready" rendered, then the first frame shown.
  const lastStatus = useRef(status);
  useEffect(() => {
    const was = lastStatus.current;
    lastStatus.current = status;
    // Each status short of "ready" (disconnected, then connecting or waiting) starts the view afresh: what it
    // shows after the next "ready" is that connection's own frames.
    if (was !== status && status !== "ready" && snapshot.relay) snapshot.relay.resetLive(track);
    if (track !== DEFAULT_VIDEO_TRACK) return;
    if (was === "disconnected" && status !== "disconnected") startConnectMarks();
    if (status === "ready") noteConnectMark("ready_shown_at");
  }, [status, track]);
  useEffect(() => {
    if (showVideo && track === DEFAULT_VIDEO_TRACK) noteConnectMark("first_frame_at");
  }, [showVideo, track]);
  const text = problem || (status === "ready" ? "waiting for video..." : status);
  return (
    <div
      ref={ref}
      id={id}
      className={className}
      data-status={status}
      data-live={showVideo ? "true" : "false"}
      data-track={track}
      style={{ position: "relative", background: "#000", overflow: "hidden", ...style }}
      {...rest}
    >
      <video
        ref={videoRef}
        data-testid="reactor-video"
        muted={muted}
        playsInline
        autoPlay
        style={{ width: "100%", height: "100%", objectFit, display: showVideo ? "block" : "none" }}
      />
      {!showVideo && (
        <div data-testid="reactor-view-status" style={{ ...overlayStyle, flexDirection: "column" }}>
          <div>{text}</div>
          {notice && !problem && (
            <div data-testid="reactor-view-notice" style={noticeStyle}>
              {notice}
            </div>
          )}
        </div>
      )}
      {audioProblem && showVideo && (
        <div data-testid="reactor-view-audio-notice" style={audioNoticeStyle}>
          {audioProblem}
        </div>
      )}
      {soundBlocked && !muted && (
        <button type="button" data-testid="reactor-unmute" onClick={unmute} style={unmuteStyle}>
          Click to unmute
        </button>
      )}
    </div>
  );
}

const audioNoticeStyle = {
  position: "absolute",
  left: "0.5em",
  top: "0.5em",
  fontSize: "0.75rem",
  color: "#fdd",
  background: "rgba(0, 0, 0, 0.6)",
  padding: "0.2em 0.5em",
  borderRadius: "4px",
  pointerEvents: "none",
};

const unmuteStyle = {
  position: "absolute",
  right: "0.5em",
  bottom: "0.5em",
  padding: "0.3em 0.8em",
  borderRadius: "4px",
  border: "none",
  background: "rgba(0, 0, 0, 0.7)",
  color: "#fff",
  cursor: "pointer",
};

const CAMERA_DENIED = "Camera access denied. Please allow access in your browser settings.";
const CAMERA_AND_MICROPHONE_DENIED = "Camera and microphone access denied. Please allow access in your browser settings.";
const MICROPHONE_DENIED = "Microphone access denied. Please allow access in your browser settings.";

// getUserMedia's outcome as a device state: "on", or "denied" / "error" with the reason.
function deviceFailure(err) {
  const denied = err && (err.name === "NotAllowedError" || err.name === "PermissionDeniedError");
  return { state: denied ? "denied" : "error", error: String(err) };
}

// The user's camera: previewed here (unless showWebcam is false), sent on input `track` while `publish` is on.
// With `audio` naming an audio input, the microphone is asked for with the camera and sent there while
// `publishAudio` is on. videoConstraints go to getUserMedia as the `video` constraints.
export function WebcamStream({
  track = DEFAULT_CAMERA_TRACK,
  audio,
  publish: publishing = true,
  publishAudio = true,
  videoConstraints,
  showWebcam = true,
  objectFit = "cover",
  onCameraChange,
  style,
  className,
  ref,
  id,
  ...rest
}) {
  const videoRef = useRef(null);
  const streamRef = useRef(null);
  const [camera, setCamera] = useState({ state: "starting", video: null, audio: null });
  const { declared } = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot);
  const notify = useRef(onCameraChange);
  notify.current = onCameraChange;
  useEffect(() => want(track, "video", "sendonly"), [track]);
  useEffect(() => want(audio, "audio", "sendonly"), [audio]);
  // A camera for an input the model does not take: say so, and do not ask for (or keep) the camera.
  const problem = trackProblem(declared, track, "video", "sendonly");

  useEffect(() => {
    if (problem) return undefined;
    let cancelled = false;
    const constraints = videoConstraints || { width: { ideal: 1280 }, height: { ideal: 720 } };
    navigator.mediaDevices
      .getUserMedia({ video: constraints, audio: Boolean(audio) })
      .then((stream) => {
        if (cancelled) {
          stream.getTracks().forEach((t) => t.stop());
          return;
        }
        streamRef.current = stream;
        if (videoRef.current) videoRef.current.srcObject = new MediaStream(stream.getVideoTracks());
        setCamera({ state: "on", video: stream.getVideoTracks()[0] || null, audio: stream.getAudioTracks()[0] || null });
      })
      .catch((err) => {
        if (!cancelled) setCamera({ video: null, audio: null, ...deviceFailure(err) });
      });
    return () => {
      cancelled = true;
      // Unlike the JS SDK, really stop the camera on unmount (read through a ref, not a stale closure).
      if (streamRef.current) streamRef.current.getTracks().forEach((t) => t.stop());
      streamRef.current = null;
      if (videoRef.current) videoRef.current.srcObject = null;
      setCamera({ state: "starting", video: null, audio: null });
      setInput(track, null);
      if (audio) setInput(audio, null);
    };
  }, [JSON.stringify(videoConstraints || null), track, audio, Boolean(problem)]);

  const sentVideo = publishing ? camera.video : null;
  const sentAudio = publishAudio ? camera.audio : null;
  useEffect(() => setInput(track, sentVideo), [track, sentVideo]);
  useEffect(() => {
    if (audio) setInput(audio, sentAudio);
  }, [audio, sentAudio]);

  useEffect(() => {
    if (notify.current) notify.current(camera.state);
  }, [camera.state]);

  const shown = camera.state === "on" && !problem;
  const text = problem
    ? problem
    : camera.state === "denied"
      ? audio
        ? CAMERA_AND_MICROPHONE_DENIED
        : CAMERA_DENIED
      : camera.state === "error"
        ? "Camera unavailable"
        : "Starting camera...";
  return (
    <div
      ref={ref}
      id={id}
      className={className}
      data-camera={camera.state}
      style={{ position: "relative", background: "#000", overflow: "hidden", display: showWebcam ? "block" : "none", ...style }}
      {...rest}
    >
      <video
        ref={videoRef}
        data-testid="webcam-preview"
        muted
        playsInline
        autoPlay
        style={{ width: "100%", height: "100%", objectFit, display: shown ? "block" : "none" }}
      />
      {!shown && (
        <div data-testid="webcam-status" style={overlayStyle}>
          {text}
        </div>
      )}
    </div>
  );
}

// The user's microphone, with a level meter: opened (asked for) only while `publish` is on, and sent on audio input
// `track` then; closed again when it goes off (a microphone is not held open for nothing). audioConstraints go to
// getUserMedia as the `audio` constraints.
export function Microphone({
  track = DEFAULT_MICROPHONE_TRACK,
  publish: publishing = true,
  audioConstraints,
  onMicrophoneChange,
  style,
  className,
  ref,
  id,
  ...rest
}) {
  const meterRef = useRef(null);
  const streamRef = useRef(null);
  const [mic, setMic] = useState({ state: "off", track: null });
  const { declared } = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot);
  const notify = useRef(onMicrophoneChange);
  notify.current = onMicrophoneChange;
  useEffect(() => want(track, "audio", "sendonly"), [track]);
  const problem = trackProblem(declared, track, "audio", "sendonly");

  useEffect(() => {
    if (problem || !publishing) return undefined;
    setMic({ state: "starting", track: null });
    let cancelled = false;
    navigator.mediaDevices
      .getUserMedia({ audio: audioConstraints || true, video: false })
      .then((stream) => {
        if (cancelled) {
          stream.getTracks().forEach((t) => t.stop());
          return;
        }
        streamRef.current = stream;
        setMic({ state: "on", track: stream.getAudioTracks()[0] || null });
      })
      .catch((err) => {
        if (!cancelled) setMic({ track: null, ...deviceFailure(err) });
      });
    return () => {
      cancelled = true;
      if (streamRef.current) streamRef.current.getTracks().forEach((t) => t.stop());
      streamRef.current = null;
      setMic({ state: "off", track: null });
      setInput(track, null);
    };
  }, [JSON.stringify(audioConstraints || null), track, Boolean(problem), publishing]);

  useEffect(() => setInput(track, mic.track), [track, mic.track]);
  useEffect(() => {
    if (notify.current) notify.current(mic.state);
  }, [mic.state]);
  useEffect(() => {
    // The level meter: an analyser on the microphone, drawn straight into the bar (no React render per frame).
    if (!mic.track || typeof AudioContext === "undefined") return undefined;
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(new MediaStream([mic.track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let frame = requestAnimationFrame(function draw() {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const v of samples) sum += v * v;
      const level = Math.min(1, Math.sqrt(sum / samples.length) * 4);
      if (meterRef.current) meterRef.current.style.width = `${Math.round(level * 100)}%`;
      frame = requestAnimationFrame(draw);
    });
    return () => {
      cancelAnimationFrame(frame);
      context.close();
    };
  }, [mic.track]);

  const text = problem
    ? problem
    : mic.state === "denied"
      ? MICROPHONE_DENIED
      : mic.state === "error"
        ? "Microphone unavailable"
        : mic.state === "starting"
          ? "Starting microphone..."
          : mic.state === "on"
            ? "Microphone on"
            : "Microphone off";
  return (
    <div ref={ref} id={id} className={className} data-microphone={mic.state} style={{ ...style }} {...rest}>
      <div data-testid="microphone-status" style={{ fontSize: "0.8rem" }}>
        {text}
      </div>
      <div style={{ height: "6px", background: "#333", borderRadius: "3px", overflow: "hidden" }}>
        <div data-testid="microphone-level" ref={meterRef} style={{ height: "100%", width: "0%", background: "#4c4" }} />
      </div>
    </div>
  );
}

// What MediaRecorder can write here, best first: WebM (VP8 + Opus) plays everywhere the page does.
function recorderMimeType(withAudio) {
  const candidates = withAudio
    ? ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm", "video/mp4"]
    : ["video/webm;codecs=vp8", "video/webm", "video/mp4"];
  return candidates.find((t) => typeof MediaRecorder !== "undefined" && MediaRecorder.isTypeSupported(t)) || "";
}

// Records what the model shows (video `track`, and audio `audioTrack` when given) in the browser, from the
// relay's received tracks: a MediaRecorder encodes its own copy, so the live view keeps every frame and gains
// no latency. Stops on the second click or after `maxSeconds`, then downloads the clip (WebM, its duration
// written into the file so players can seek).
export function Recorder({
  track = DEFAULT_VIDEO_TRACK,
  audioTrack,
  maxSeconds = 300,
  filename = "reactor-clip",
  onRecordingChange,
  style,
  className,
  ref,
  id,
  ...rest
}) {
  const { streams } = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot);
  const [rec, setRec] = useState({ state: "idle", seconds: 0, error: "" });
  const recorderRef = useRef(null);
  const notify = useRef(onRecordingChange);
  notify.current = onRecordingChange;
  useEffect(() => want(track, "video", "recvonly"), [track]);
  useEffect(() => want(audioTrack, "audio", "recvonly"), [audioTrack]);
  useEffect(() => {
    if (notify.current) notify.current(rec.state === "recording");
  }, [rec.state]);
  useEffect(() => () => recorderRef.current && recorderRef.current.stop(), []);

  const start = () => {
    const video = streams[track];
    if (!video || video.readyState !== "live") {
      setRec({ state: "idle", seconds: 0, error: `Nothing to record yet: no video on "${track}".` });
      return;
    }
    const sound = audioTrack ? streams[audioTrack] : null;
    const tracks = sound && sound.readyState === "live" ? [video, sound] : [video];
    const mimeType = recorderMimeType(tracks.length > 1);
    let recorder;
    try {
      recorder = new MediaRecorder(new MediaStream(tracks), mimeType ? { mimeType } : undefined);
    } catch (err) {
      setRec({ state: "idle", seconds: 0, error: `Cannot record: ${err}` });
      return;
    }
    const chunks = [];
    const began = performance.now();
    const limit = setTimeout(() => recorder.state !== "inactive" && recorder.stop(), maxSeconds * 1000);
    const ticker = setInterval(() => setRec((r) => ({ ...r, seconds: Math.floor((performance.now() - began) / 1000) })), 1000);
    recorder.ondataavailable = (event) => event.data && event.data.size && chunks.push(event.data);
    recorder.onerror = (event) => setRec((r) => ({ ...r, error: `Recording failed: ${event.error || "unknown error"}` }));
    recorder.onstop = async () => {
      clearTimeout(limit);
      clearInterval(ticker);
      recorderRef.current = null;
      const type = recorder.mimeType || mimeType || "video/webm";
      const webm = type.startsWith("video/webm");
      let blob = new Blob(chunks, { type });
      if (webm) blob = await fixWebmDuration(blob, performance.now() - began, { logger: false });
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
      a.href = url;
      a.download = `${filename}-${stamp}.${webm ? "webm" : "mp4"}`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      setRec((r) => ({ ...r, state: "idle" }));
    };
    recorderRef.current = recorder;
    recorder.start(1000); // a chunk a second: a long clip never sits in one buffer
    setRec({ state: "recording", seconds: 0, error: "" });
  };
  const stop = () => recorderRef.current && recorderRef.current.stop();
  const recording = rec.state === "recording";
  return (
    <div ref={ref} id={id} className={className} data-recording={recording ? "true" : "false"} style={style} {...rest}>
      <button type="button" data-testid="reactor-record" onClick={recording ? stop : start}>
        {recording ? `Stop recording (${rec.seconds} s of ${maxSeconds} s)` : "Record"}
      </button>
      {rec.error && (
        <div data-testid="reactor-record-error" style={{ fontSize: "0.8rem", color: "#f66" }}>
          {rec.error}
        </div>
      )}
    </div>
  );
}
