// Browser side of reactor-web: one WebRTC peer per tab to the Reflex backend (the relay), and the
// components that use it. The backend holds the GPU session; this peer only carries the model's video
// down and the camera up, so the page never talks to the GPU or sees an API key.
import React, { useEffect, useRef, useState, useSyncExternalStore } from "react";

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
// What the relay carries today: one model video down, one camera up.
export const RELAY_MODEL_TRACK = "main_video";
export const RELAY_CAMERA_TRACK = "webcam";

// ---- the page's relay peer ---------------------------------------------------------------------

const listeners = new Set();
// live: decoded frames of the model's video are arriving now; notice: why the backend last ended the relay.
let snapshot = { relay: null, stream: null, state: "new", live: false, notice: "" };
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
const SERVER_SNAPSHOT = { relay: null, stream: null, state: "new", live: false, notice: "" };
const getServerSnapshot = () => SERVER_SNAPSHOT;
// The camera outlives relay restarts: a new peer picks it up.
let cameraTrack = null;
// Whether the page's Reflex websocket is up; the heartbeat tells the backend when it is not, so a page that
// lost its events connection for longer than the grace period is released like one that stopped beating.
let eventsConnected = true;

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
    this.start();
  }

  start() {
    if (this.closed) return;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy });
    this.pc = pc;
    // Why a TURN server gave no candidate (wrong credentials: 401), for the message when none came.
    this.candidateErrors = [];
    pc.onicecandidateerror = (event) => {
      if (event.errorCode >= 300 && event.errorCode < 700) {
        this.candidateErrors.push(`${event.url || "ICE server"}: ${event.errorCode} ${event.errorText || ""}`.trim());
      }
    };
    this.channel = pc.createDataChannel("relay");
    this.model = pc.addTransceiver("video", { direction: "recvonly" });
    this.webcam = pc.addTransceiver("video", { direction: "sendonly" });
    preferVp8(this.model);
    if (cameraTrack) this.webcam.sender.replaceTrack(cameraTrack);
    pc.ontrack = (event) => {
      if (event.transceiver === this.model) publish({ stream: new MediaStream([event.track]) });
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
    };
    channel.onclose = () => {
      if (channel === this.channel) this.restart();
    };
    this.watchFrames(pc, this.model.receiver);
    this.offer(pc);
  }

  // "live" only while the decoder makes progress: a frozen or stale peer must not look ready.
  watchFrames(pc, receiver) {
    let decoded = 0;
    let progressAt = 0;
    const timer = setInterval(async () => {
      let now = decoded;
      try {
        // The receiver's own report only: far cheaper than the whole connection's.
        (await receiver.getStats()).forEach((s) => {
          if (s.type === "inbound-rtp" && s.kind === "video") now = s.framesDecoded || 0;
        });
      } catch {
        return;
      }
      if (pc !== this.pc) return;
      if (now > decoded) {
        decoded = now;
        progressAt = Date.now();
      }
      const live = progressAt > 0 && Date.now() - progressAt < LIVE_WITHIN_MS;
      if (live !== snapshot.live) publish(live ? { live, notice: "" } : { live });
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
    this.sendOffer(
      JSON.stringify({ id, sdp: pc.localDescription.sdp, model_mid: this.model.mid, webcam_mid: this.webcam.mid }),
    );
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
      const report = await this.pc.getStats();
      report.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") {
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

  restart(delayMs = RESTART_DELAY_MS) {
    if (this.closed) return;
    this.teardown();
    this.timers.push(setTimeout(() => this.start(), delayMs));
  }

  setCamera(track) {
    cameraTrack = track;
    if (this.webcam && this.pc && this.pc.signalingState !== "closed") {
      this.webcam.sender.replaceTrack(track).catch((err) => console.warn("reactor-web: camera", err));
    }
  }

  teardown() {
    this.timers.forEach((t) => clearInterval(t));
    this.timers = [];
    this.channel = null;
    if (this.pc) this.pc.close();
    this.pc = null;
    publish({ stream: null, state: "closed", live: false });
  }

  close() {
    this.closed = true;
    this.teardown();
  }
}

// ---- components -------------------------------------------------------------------------------

// Owns the tab's relay peer: mount it once per page. `answer` is the backend's reply to `onOffer`.
export function ReactorProvider({ answer, onOffer, iceServers, iceTransportPolicy, eventsConnected: up, children }) {
  const offerRef = useRef(onOffer);
  offerRef.current = onOffer;
  eventsConnected = up !== false;
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

// The model's video; while there is none, the status text in its place. "ready" shows the video only once
// its frames are arriving (never a last frame left from a frozen or released relay).
export function ReactorView({
  status,
  track = RELAY_MODEL_TRACK,
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
  const { stream, live, notice } = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot);
  const carried = track === RELAY_MODEL_TRACK;
  const notifyLive = useRef(onLiveChange);
  notifyLive.current = onLiveChange;
  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    video.srcObject = carried ? stream : null;
    if (stream && carried) video.play().catch((err) => console.warn("reactor-web: video.play()", err));
    return () => {
      video.srcObject = null;
    };
  }, [stream, carried]);
  useEffect(() => {
    // React does not keep the `muted` property in step with the prop: set it on the element.
    if (videoRef.current) videoRef.current.muted = muted;
  }, [muted]);
  const showVideo = carried && Boolean(stream) && live && status === "ready";
  useEffect(() => {
    if (notifyLive.current) notifyLive.current(showVideo);
  }, [showVideo]);
  const text = !carried
    ? `The relay does not carry the track "${track}" (it carries "${RELAY_MODEL_TRACK}").`
    : status === "ready"
      ? "waiting for video..."
      : status;
  return (
    <div
      ref={ref}
      id={id}
      className={className}
      data-status={status}
      data-live={showVideo ? "true" : "false"}
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
          {notice && carried && (
            <div data-testid="reactor-view-notice" style={noticeStyle}>
              {notice}
            </div>
          )}
        </div>
      )}
    </div>
  );
}

const DENIED = "Camera access denied. Please allow access in your browser settings.";

// The user's camera: previewed here (unless showWebcam is false), sent to the backend while `publish` is on.
// videoConstraints go to getUserMedia as the `video` constraints.
export function WebcamStream({
  track = RELAY_CAMERA_TRACK,
  publish: publishing = true,
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
  const [camera, setCamera] = useState({ state: "starting", track: null });
  const { relay } = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot);
  const notify = useRef(onCameraChange);
  notify.current = onCameraChange;

  const carried = track === RELAY_CAMERA_TRACK;
  useEffect(() => {
    if (!carried) return; // nothing to send it on: do not ask for the camera
    let cancelled = false;
    const constraints = videoConstraints || { width: { ideal: 1280 }, height: { ideal: 720 } };
    navigator.mediaDevices
      .getUserMedia({ video: constraints, audio: false })
      .then((stream) => {
        if (cancelled) {
          stream.getTracks().forEach((t) => t.stop());
          return;
        }
        streamRef.current = stream;
        if (videoRef.current) videoRef.current.srcObject = stream;
        setCamera({ state: "on", track: stream.getVideoTracks()[0] || null });
      })
      .catch((err) => {
        if (cancelled) return;
        const denied = err && (err.name === "NotAllowedError" || err.name === "PermissionDeniedError");
        setCamera({ state: denied ? "denied" : "error", track: null, error: String(err) });
      });
    return () => {
      cancelled = true;
      // Unlike the JS SDK, really stop the camera on unmount (read through a ref, not a stale closure).
      if (streamRef.current) streamRef.current.getTracks().forEach((t) => t.stop());
      streamRef.current = null;
      if (snapshot.relay) snapshot.relay.setCamera(null);
    };
  }, [JSON.stringify(videoConstraints || null), carried]);

  const sent = publishing ? camera.track : null;
  useEffect(() => {
    if (!carried) return; // another component's camera may be on the relay: leave it
    if (relay) relay.setCamera(sent);
    else cameraTrack = sent;
  }, [relay, sent, carried]);

  useEffect(() => {
    if (notify.current) notify.current(camera.state);
  }, [camera.state]);

  const text = !carried
    ? `The relay does not carry the track "${track}" (it sends the camera as "${RELAY_CAMERA_TRACK}").`
    : camera.state === "denied"
      ? DENIED
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
        style={{ width: "100%", height: "100%", objectFit, display: camera.state === "on" && carried ? "block" : "none" }}
      />
      {(camera.state !== "on" || !carried) && (
        <div data-testid="webcam-status" style={overlayStyle}>
          {text}
        </div>
      )}
    </div>
  );
}
