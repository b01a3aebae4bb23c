// Codec and format choices, and what the camera and microphone components say (pure).

// `codecs` (RTCRtpCodec list) with VP8 first, the rest in their order: VP8 costs the backend about half of
// H.264's CPU per stream.
export function vp8First(codecs) {
  const rank = (c) => (c.mimeType === "video/VP8" ? 0 : 1);
  return [...codecs].sort((a, b) => rank(a) - rank(b));
}

// What MediaRecorder can write here, best first (`isTypeSupported`: MediaRecorder.isTypeSupported; absent: no
// MediaRecorder): WebM (VP8 + Opus) plays everywhere the page does. "" when none is supported.
export function recorderMimeType(withAudio, isTypeSupported) {
  const candidates = withAudio
    ? ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm", "video/mp4"]
    : ["video/webm;codecs=vp8", "video/webm", "video/mp4"];
  return (isTypeSupported && candidates.find((t) => isTypeSupported(t))) || "";
}

// The recorded clip's download name: `<filename>-<UTC time to the second>.<webm|mp4>`.
export function clipFileName(filename, date, webm) {
  const stamp = date.toISOString().replace(/[:.]/g, "-").slice(0, 19);
  return `${filename}-${stamp}.${webm ? "webm" : "mp4"}`;
}

// getUserMedia's failure as a device state: "denied" (the user or the browser refused) or "error", with why.
export function deviceFailure(err) {
  const denied = Boolean(err) && (err.name === "NotAllowedError" || err.name === "PermissionDeniedError");
  return { state: denied ? "denied" : "error", error: String(err) };
}

const CAMERA_DENIED = "Camera access denied. Please allow access in your browser settings.";
const CAMERA_AND_MICROPHONE_DENIED =
  "Camera and microphone access denied. Please allow access in your browser settings.";
const MICROPHONE_DENIED = "Microphone access denied. Please allow access in your browser settings.";

// The text in place of the camera preview: the track's problem, else what the camera's state says.
export function cameraText(problem, state, withMicrophone) {
  if (problem) return problem;
  if (state === "denied") return withMicrophone ? CAMERA_AND_MICROPHONE_DENIED : CAMERA_DENIED;
  return state === "error" ? "Camera unavailable" : "Starting camera...";
}

const MICROPHONE_TEXTS = new Map([
  ["denied", MICROPHONE_DENIED],
  ["error", "Microphone unavailable"],
  ["starting", "Starting microphone..."],
  ["on", "Microphone on"],
]);

// The microphone's status line: the track's problem, else its state's text ("Microphone off" when off).
export function microphoneText(problem, state) {
  return problem || MICROPHONE_TEXTS.get(state) || "Microphone off";
}
