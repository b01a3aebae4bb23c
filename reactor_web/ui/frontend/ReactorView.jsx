// The JS SDK's ReactorView: the model's video (with its audio when `audioTrack` names an audio output), or the
// status text in its place.
import { useEffect, useEffectEvent, useMemo, useRef, useState } from "react";
import { useModelTrack, useNotify } from "./hooks.js";
import { useSnapshot, useStore } from "./store.js";
import { audioNoticeStyle, noticeStyle, overlayStyle, unmuteStyle } from "./styles.js";
import { DEFAULT_VIDEO_TRACK } from "./tracks.js";

// "ready" shows the video only once its frames are arriving (never a last frame left from a frozen or released
// relay). With `muted` false and the browser refusing playback with sound (autoplay rules), the video plays muted
// and a "Click to unmute" button says so. `onLiveChange(bool)`: the view starts or stops showing live video.
export function ReactorView({
  status,
  track = DEFAULT_VIDEO_TRACK,
  audioTrack,
  muted = true,
  objectFit = "contain",
  onLiveChange,
  style,
  ...rest
}) {
  const videoRef = useRef(null);
  const store = useStore();
  const { live, notice } = useSnapshot();
  // A video the model lacks replaces the view by a message; missing audio only says so over the video.
  const video = useModelTrack(track, "video", "recvonly");
  const audio = useModelTrack(audioTrack, "audio", "recvonly");
  const videoTrack = video.problem ? null : video.stream;
  const soundTrack = audio.problem ? null : audio.stream;
  const stream = useMemo(() => {
    const tracks = [videoTrack, soundTrack].filter(Boolean);
    return tracks.length ? new MediaStream(tracks) : null;
  }, [videoTrack, soundTrack]);
  const soundBlocked = useSoundOnPlay(videoRef, stream, muted);

  const isLive = Boolean(live[track]);
  const showVideo = !video.problem && Boolean(videoTrack) && isLive && status === "ready";
  useNotify(onLiveChange, showVideo);
  // Until the track is live, its first presented frame makes it so (and shows it) at once.
  useEffect(() => {
    const element = videoRef.current;
    if (!element || !videoTrack || isLive || !("requestVideoFrameCallback" in element)) return undefined;
    const handle = element.requestVideoFrameCallback(() => store.relay && store.relay.framePresented(track));
    return () => element.cancelVideoFrameCallback(handle);
  }, [store, videoTrack, isLive, track]);
  useConnectMarks(store, status, track, showVideo);

  const text = video.problem || (status === "ready" ? "waiting for video..." : status);
  return (
    <div
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
          {notice && !video.problem && (
            <div data-testid="reactor-view-notice" style={noticeStyle}>
              {notice}
            </div>
          )}
        </div>
      )}
      {audio.problem && showVideo && (
        <div data-testid="reactor-view-audio-notice" style={audioNoticeStyle}>
          {audio.problem}
        </div>
      )}
      {soundBlocked.blocked && !muted && (
        <button type="button" data-testid="reactor-unmute" onClick={soundBlocked.unmute} style={unmuteStyle}>
          Click to unmute
        </button>
      )}
    </div>
  );
}

// Plays `stream` in the <video> of `videoRef`, with sound unless `muted`. Returns `blocked`: the browser refused
// sound before a user gesture (the video then plays muted), and `unmute`, the click handler that tries again.
function useSoundOnPlay(videoRef, stream, muted) {
  const [blocked, setBlocked] = useState(false);
  // A mute turned on clears a refusal (adjusting state to a prop during render, not in an effect).
  const [mutedSeen, setMutedSeen] = useState(muted);
  if (mutedSeen !== muted) {
    setMutedSeen(muted);
    if (muted) setBlocked(false);
  }
  const play = useEffectEvent((element) => {
    element.muted = muted;
    element.play().then(
      () => setBlocked(false),
      (err) => {
        if (err && err.name === "NotAllowedError" && !element.muted) {
          // Autoplay with sound refused until the user interacts: play muted, and offer the click that unmutes.
          setBlocked(true);
          element.muted = true;
          element.play().catch((e) => console.warn("reactor-web: video.play()", e));
        } else if (err && err.name !== "AbortError") {
          console.warn("reactor-web: video.play()", err);
        }
      },
    );
  });
  useEffect(() => {
    const element = videoRef.current;
    if (!element) return undefined;
    element.srcObject = stream;
    if (stream) play(element);
    return () => {
      element.srcObject = null;
    };
  }, [videoRef, stream]);
  useEffect(() => {
    // React does not keep the `muted` property in step with the prop: set it on the element.
    const element = videoRef.current;
    if (element && element.srcObject) play(element);
    else if (element) element.muted = muted;
  }, [videoRef, muted]);
  const unmute = () => {
    const element = videoRef.current;
    if (!element) return;
    element.muted = false;
    element.play().then(
      () => setBlocked(false),
      (err) => console.warn("reactor-web: unmute", err),
    );
  };
  return { blocked, unmute };
}

// The main view times each connect from "disconnected": "ready" rendered, then the first frame shown (the stats
// panel's connection timings). Any status short of "ready" also starts the view afresh: what it shows after the
// next "ready" is that connection's own frames.
function useConnectMarks(store, status, track, showVideo) {
  const lastStatus = useRef(status);
  useEffect(() => {
    const was = lastStatus.current;
    lastStatus.current = status;
    if (was !== status && status !== "ready" && store.relay) store.relay.resetLive(track);
    if (track !== DEFAULT_VIDEO_TRACK) return;
    if (was === "disconnected" && status !== "disconnected") store.startConnectMarks();
    if (status === "ready") store.noteConnectMark("ready_shown_at");
  }, [store, status, track]);
  useEffect(() => {
    if (showVideo && track === DEFAULT_VIDEO_TRACK) store.noteConnectMark("first_frame_at");
  }, [store, showVideo, track]);
}
