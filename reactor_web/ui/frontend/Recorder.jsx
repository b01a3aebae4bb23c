// A Record button: records what the model shows (video `track`, and audio `audioTrack` when given) in the browser,
// from the relay's received tracks: a MediaRecorder encodes its own copy, so the live view keeps every frame and
// gains no latency. Stops on the second click or after `maxSeconds`, then downloads the clip (WebM, its duration
// written into the file so players can seek).
import fixWebmDuration from "fix-webm-duration";
import { useEffect, useRef, useState } from "react";
import { useModelTrack, useNotify } from "./hooks.js";
import { clipFileName, recorderMimeType } from "./media.js";
import { DEFAULT_VIDEO_TRACK } from "./tracks.js";

const isTypeSupported = typeof MediaRecorder !== "undefined" ? (type) => MediaRecorder.isTypeSupported(type) : null;

// `onRecordingChange(bool)`: a recording started (true) or stopped (false; its clip is then downloaded).
export function Recorder({
  track = DEFAULT_VIDEO_TRACK,
  audioTrack,
  maxSeconds = 300,
  filename = "reactor-clip",
  onRecordingChange,
  style,
  ...rest
}) {
  const { stream: video } = useModelTrack(track, "video", "recvonly");
  const { stream: sound } = useModelTrack(audioTrack, "audio", "recvonly");
  const [rec, setRec] = useState({ state: "idle", seconds: 0, error: "" });
  const recorderRef = useRef(null);
  useNotify(onRecordingChange, rec.state === "recording");
  useEffect(() => () => recorderRef.current && recorderRef.current.stop(), []);

  const start = () => {
    if (!video || video.readyState !== "live") {
      setRec({ state: "idle", seconds: 0, error: `Nothing to record yet: no video on "${track}".` });
      return;
    }
    const tracks = sound && sound.readyState === "live" ? [video, sound] : [video];
    const mimeType = recorderMimeType(tracks.length > 1, isTypeSupported);
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
      download(blob, clipFileName(filename, new Date(), webm));
      setRec((r) => ({ ...r, state: "idle" }));
    };
    recorderRef.current = recorder;
    recorder.start(1000); // a chunk a second: a long clip never sits in one buffer
    setRec({ state: "recording", seconds: 0, error: "" });
  };
  const stop = () => recorderRef.current && recorderRef.current.stop();
  const recording = rec.state === "recording";
  return (
    <div data-recording={recording ? "true" : "false"} style={style} {...rest}>
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

// Save `blob` as a download named `name`.
function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
