// Codec and format choices, ICE verdicts, and the camera's and microphone's texts.
import { describe, expect, test } from "bun:test";
import { candidateError, hasRelayCandidate, noRelayReason } from "../../reactor_web/ui/frontend/ice.js";
import {
  cameraText,
  clipFileName,
  deviceFailure,
  microphoneText,
  recorderMimeType,
  vp8First,
} from "../../reactor_web/ui/frontend/media.js";

test("vp8First puts every VP8 entry first and keeps the others' order", () => {
  const codecs = [
    { mimeType: "video/H264", sdpFmtpLine: "a" },
    { mimeType: "video/VP9" },
    { mimeType: "video/VP8" },
    { mimeType: "video/rtx" },
    { mimeType: "video/VP8", clockRate: 2 },
  ];
  const sorted = vp8First(codecs);
  expect(sorted.map((c) => c.mimeType)).toEqual(["video/VP8", "video/VP8", "video/H264", "video/VP9", "video/rtx"]);
  expect(sorted[1].clockRate).toBe(2);
  expect(codecs[0].mimeType).toBe("video/H264");
});

describe("recorderMimeType", () => {
  test("the best type supported, with or without audio", () => {
    const supported = (types) => (t) => types.includes(t);
    expect(recorderMimeType(true, supported(["video/webm", "video/webm;codecs=vp9,opus"]))).toBe("video/webm;codecs=vp9,opus");
    expect(recorderMimeType(false, supported(["video/mp4", "video/webm;codecs=vp8"]))).toBe("video/webm;codecs=vp8");
    expect(recorderMimeType(false, supported(["video/webm;codecs=vp8,opus"]))).toBe("");
  });

  test("no MediaRecorder: none", () => {
    expect(recorderMimeType(true, null)).toBe("");
  });
});

test("clipFileName stamps the UTC time to the second", () => {
  const date = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678));
  expect(clipFileName("reactor-clip", date, true)).toBe("reactor-clip-2025-01-02T03-04-05.webm");
  expect(clipFileName("x", date, false)).toBe("x-2025-01-02T03-04-05.mp4");
});

describe("devices", () => {
  test("a refused permission is denied, anything else an error", () => {
    expect(deviceFailure({ name: "NotAllowedError", toString: () => "NotAllowedError: no" })).toEqual({
      state: "denied",
      error: "NotAllowedError: no",
    });
    expect(deviceFailure({ name: "PermissionDeniedError" }).state).toBe("denied");
    expect(deviceFailure(new Error("NotFoundError")).state).toBe("error");
    expect(deviceFailure(undefined)).toEqual({ state: "error", error: "undefined" });
  });

  test("the camera's text", () => {
    expect(cameraText("The model has no track", "on", false)).toBe("The model has no track");
    expect(cameraText(null, "starting", false)).toBe("Starting camera...");
    expect(cameraText(null, "error", true)).toBe("Camera unavailable");
    expect(cameraText(null, "denied", false)).toBe("Camera access denied. Please allow access in your browser settings.");
    expect(cameraText(null, "denied", true)).toBe(
      "Camera and microphone access denied. Please allow access in your browser settings.",
    );
  });

  test("the microphone's text", () => {
    expect(microphoneText(null, "off")).toBe("Microphone off");
    expect(microphoneText(null, "starting")).toBe("Starting microphone...");
    expect(microphoneText(null, "on")).toBe("Microphone on");
    expect(microphoneText(null, "error")).toBe("Microphone unavailable");
    expect(microphoneText(null, "denied")).toBe("Microphone access denied. Please allow access in your browser settings.");
    expect(microphoneText("no such input", "on")).toBe("no such input");
    expect(microphoneText(null, "constructor")).toBe("Microphone off");
  });
});

describe("ICE", () => {
  test("a TURN or STUN server's error code is kept with its URL; others are not", () => {
    expect(candidateError({ errorCode: 401, url: "turn:127.0.0.1:3478", errorText: "Unauthorized" })).toBe(
      "turn:127.0.0.1:3478: 401 Unauthorized",
    );
    expect(candidateError({ errorCode: 701, url: "turn:x" })).toBeNull();
    expect(candidateError({ errorCode: 299 })).toBeNull();
    expect(candidateError({ errorCode: 300 })).toBe("ICE server: 300");
  });

  test("why no relay candidate came: each error once, or no answer", () => {
    expect(noRelayReason(["a: 401", "b: 500", "a: 401"])).toBe("a: 401; b: 500");
    expect(noRelayReason([])).toBe("no answer");
  });

  test("hasRelayCandidate looks for a relay candidate line", () => {
    const host = "v=0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host\r\n";
    expect(hasRelayCandidate(host)).toBe(false);
    expect(hasRelayCandidate(`${host}a=candidate:2 1 udp 41885439 127.0.0.1 6000 typ relay raddr 0.0.0.0 rport 0\r\n`)).toBe(true);
    expect(hasRelayCandidate(null)).toBe(false);
  });
});
