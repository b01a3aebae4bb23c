// Drives the official JS SDK (@reactor-team/js-sdk 2.9.0) against the runtime named by ?api=<url>.
// Bundled for the browser by tests/interop/test_js_sdk.py (bun build --target browser).
import { Reactor } from "@reactor-team/js-sdk";

const params = new URLSearchParams(window.location.search);
const apiUrl = params.get("api") || "http://localhost:8080";
const modelName = params.get("model") || "reactor-web-demo";

const $ = (id) => document.getElementById(id);
const video = $("video");
const statuses = [];

function addItem(listId, value) {
  const li = document.createElement("li");
  li.textContent = JSON.stringify(value);
  $(listId).appendChild(li);
}

const reactor = new Reactor({ modelName, local: true, apiUrl });
window.reactor = reactor;

reactor.on("statusChanged", (status) => {
  statuses.push(status);
  $("status").textContent = status;
  $("statuses").textContent = statuses.join(",");
  if (status === "ready") {
    reactor.sendCommand("ping", {});
  }
});
reactor.on("trackReceived", (name, track, stream) => {
  if (name !== "main_video") return;
  video.srcObject = stream;
  video.play().catch((err) => console.warn("play() failed", err));
});
reactor.on("message", (message) => addItem("messages", message));
reactor.on("runtimeMessage", (message) => addItem("runtime-messages", message));
reactor.on("error", (error) => {
  $("error").textContent = `${error.code}: ${error.message}`;
});

// Mean RGB of the current video frame (drawn small into a canvas), or null before the first frame.
window.videoMeanRGB = () => {
  if (video.readyState < 2 || video.videoWidth === 0) return null;
  const canvas = $("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += 4) {
    sum[0] += data[i];
    sum[1] += data[i + 1];
    sum[2] += data[i + 2];
  }
  const n = data.length / 4;
  return { rgb: sum.map((s) => s / n), width: video.videoWidth, height: video.videoHeight };
};

// Publish the (fake) camera on the model's `webcam` track, as WebcamStream would.
window.publishCamera = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: false });
  await reactor.publishTrack("webcam", stream.getVideoTracks()[0]);
  return true;
};

// Frames the <video> has decoded so far (grows while the stream plays).
window.decodedFrames = () => (video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality().totalVideoFrames : 0);

reactor.connect().catch((err) => {
  $("error").textContent = String(err);
});
