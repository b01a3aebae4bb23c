// The JS SDK's WebcamStream: the user's camera, previewed here (unless `showWebcam` is false) and sent on model
// input `track` while `publish` is on.
import { useEffect, useMemo, useRef } from "react";
import { useInput, useJsonMemo, useModelTrack, useNotify, useUserMedia } from "./hooks.js";
import { cameraText } from "./media.js";
import { overlayStyle } from "./styles.js";
import { DEFAULT_CAMERA_TRACK } from "./tracks.js";

const DEFAULT_VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 } };

// With `audio` naming an audio input, the microphone is asked for with the camera and sent there while
// `publishAudio` is on. `videoConstraints` go to getUserMedia as the `video` constraints (none: ideal 1280x720).
// `onCameraChange(state)`: "starting", "on", "denied" or "error".
export function WebcamStream({
  track = DEFAULT_CAMERA_TRACK,
  audio,
  publish = true,
  publishAudio = true,
  videoConstraints,
  showWebcam = true,
  objectFit = "cover",
  onCameraChange,
  style,
  ...rest
}) {
  const videoRef = useRef(null);
  const { problem } = useModelTrack(track, "video", "sendonly");
  useModelTrack(audio, "audio", "sendonly");
  const constraints = useJsonMemo(videoConstraints || DEFAULT_VIDEO);
  const withMicrophone = Boolean(audio);
  // A camera for an input the model does not take: say so, and do not ask for (or keep) the camera.
  const blocked = Boolean(problem);
  const request = useMemo(
    () => (blocked ? null : { video: constraints, audio: withMicrophone }),
    [blocked, constraints, withMicrophone],
  );
  const camera = useUserMedia(request, "starting");
  const video = camera.stream ? camera.stream.getVideoTracks()[0] || null : null;
  const sound = camera.stream ? camera.stream.getAudioTracks()[0] || null : null;
  useEffect(() => {
    const element = videoRef.current;
    if (!element) return undefined;
    element.srcObject = camera.stream ? new MediaStream(camera.stream.getVideoTracks()) : null;
    return () => {
      element.srcObject = null;
    };
  }, [camera.stream]);
  useInput(track, publish ? video : null);
  useInput(audio, publishAudio ? sound : null);
  useNotify(onCameraChange, camera.state);

  const shown = camera.state === "on" && !problem;
  return (
    <div
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
          {cameraText(problem, camera.state, withMicrophone)}
        </div>
      )}
    </div>
  );
}
