// The user's microphone, with a level meter: opened (asked for) only while `publish` is on, and sent on model audio
// input `track` then; closed again when it goes off (a microphone is not held open for nothing).
import { useEffect, useMemo, useRef } from "react";
import { useInput, useJsonMemo, useModelTrack, useNotify, useUserMedia } from "./hooks.js";
import { microphoneText } from "./media.js";
import { DEFAULT_MICROPHONE_TRACK } from "./tracks.js";

// `audioConstraints` go to getUserMedia as the `audio` constraints (none: the browser's defaults).
// `onMicrophoneChange(state)`: "off", "starting", "on", "denied" or "error".
export function Microphone({
  track = DEFAULT_MICROPHONE_TRACK,
  publish = true,
  audioConstraints,
  onMicrophoneChange,
  style,
  ...rest
}) {
  const meterRef = useRef(null);
  const { problem } = useModelTrack(track, "audio", "sendonly");
  const constraints = useJsonMemo(audioConstraints || true);
  const open = publish && !problem;
  const request = useMemo(() => (open ? { audio: constraints, video: false } : null), [open, constraints]);
  const mic = useUserMedia(request, "off");
  const sound = mic.stream ? mic.stream.getAudioTracks()[0] || null : null;
  useInput(track, sound);
  useNotify(onMicrophoneChange, mic.state);
  useLevelMeter(meterRef, sound);

  return (
    <div data-microphone={mic.state} style={{ ...style }} {...rest}>
      <div data-testid="microphone-status" style={{ fontSize: "0.8rem" }}>
        {microphoneText(problem, mic.state)}
      </div>
      <div style={{ height: "6px", background: "#333", borderRadius: "3px", overflow: "hidden" }}>
        <div data-testid="microphone-level" ref={meterRef} style={{ height: "100%", width: "0%", background: "#4c4" }} />
      </div>
    </div>
  );
}

// The level of MediaStreamTrack `sound` drawn into the bar of `meterRef`: an analyser on it, written straight into
// the bar's width each animation frame (no React render per frame).
function useLevelMeter(meterRef, sound) {
  useEffect(() => {
    if (!sound || typeof AudioContext === "undefined") return undefined;
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(new MediaStream([sound])).connect(analyser);
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
  }, [meterRef, sound]);
}
