// Installed in a dashboard tab by bench/dashboard.py (page.add_init_script): watches the model's <video>
// (#reactor-view video) with requestVideoFrameCallback, which fires once per frame the page presents.
// For each presented frame it counts it and reads the frame's stamp (reactor_web/protocol/stamp.py,
// decoded exactly as read_stamp does: 16 px cells, guard white/black, 24 bits of wall-clock ms, the
// centre half of each cell averaged over R, G, B) through a canvas, and keeps the frame's age:
//   age_cb_ms:       Date.now() in the callback - stamp   (the frame is about to be composited)
//   age_display_ms:  timeOrigin + metadata.expectedDisplayTime - stamp   (when it is due on screen)
//   age_received_ms: timeOrigin + metadata.receiveTime - stamp   (its last packet reached the page's WebRTC)
//   in_page_ms:      Date.now() in the callback - (timeOrigin + metadata.receiveTime)   (the page's own share)
// It also keeps every RTCPeerConnection the page creates (the dashboard's relay peer), so that take()
// can report WebRTC's own counters of the watched view's video (inbound framesReceived / framesDecoded /
// framesDropped; the model's other video outputs not counted):
// frames lost before the decoder and frames decoded but never presented are told apart. For the watched
// <video>'s own receiver it also reports where Chromium spent the time, per decoded frame (`watched`).
// window.__bench.take() resolves to what was collected since the last call, and clears it.
// window.__benchOptions, when set before this script runs (bench/glass_to_glass.py --compare), changes what
// the page's peers do, to compare configurations in one run:
//   withoutHeaderExtensions: [uri, ...]  the page's offers do not negotiate these RTP header extensions
//   jitterBufferTarget: ms               set on every receiver the page gets (RTCRtpReceiver.jitterBufferTarget)
(() => {
  const BITS = 24, CELL = 16, MASK = (1 << BITS) - 1, WIDTH = (BITS + 2) * CELL;
  const canvas = document.createElement("canvas");
  canvas.width = WIDTH;
  canvas.height = CELL;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const fresh = () => ({ frames: 0, unreadable: 0, ages: [], displayAges: [], receivedAges: [], inPage: [] });
  const state = { ...fresh(), since: performance.now() };

  function readStamp(video) {
    if (video.videoWidth < WIDTH || video.videoHeight < CELL) return null;
    // Source rectangle in the video's own pixels: the stamp, unscaled, whatever size the element has.
    ctx.drawImage(video, 0, 0, WIDTH, CELL, 0, 0, WIDTH, CELL);
    const d = ctx.getImageData(0, 0, WIDTH, CELL).data;
    const lo = CELL / 4, hi = CELL - CELL / 4;
    const levels = [];
    for (let i = 0; i < BITS + 2; i++) {
      let sum = 0, n = 0;
      for (let y = lo; y < hi; y++) {
        for (let x = i * CELL + lo; x < (i + 1) * CELL - lo; x++) {
          const p = (y * WIDTH + x) * 4;
          sum += (d[p] + d[p + 1] + d[p + 2]) / 3;
          n++;
        }
      }
      levels.push(sum / n);
    }
    if (levels[0] < 160 || levels[1] > 96) return null;
    let value = 0;
    for (let i = 2; i < levels.length; i++) value = ((value << 1) | (levels[i] >= 128 ? 1 : 0)) >>> 0;
    return value & MASK;
  }

  const options = window.__benchOptions || {};
  const peers = [];
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      peers.push(this);
      if (options.jitterBufferTarget !== undefined) {
        this.addEventListener("track", (event) => {
          event.receiver.jitterBufferTarget = options.jitterBufferTarget;
        });
      }
    }

    addTransceiver(...args) {
      const transceiver = super.addTransceiver(...args);
      const drop = options.withoutHeaderExtensions || [];
      if (drop.length) {
        transceiver.setHeaderExtensionsToNegotiate(
          transceiver
            .getHeaderExtensionsToNegotiate()
            .map((ext) => (drop.includes(ext.uri) ? { ...ext, direction: "stopped" } : ext)),
        );
      }
      return transceiver;
    }
  };

  // Cumulative counters of the inbound video stream whose track the watched <video> shows.
  const TIMINGS = ["framesDecoded", "jitterBufferDelay", "jitterBufferEmittedCount", "totalDecodeTime",
    "totalProcessingDelay"];
  async function watchedCounters() {
    const track = watched && watched.srcObject && watched.srcObject.getVideoTracks()[0];
    let found = null;
    for (const pc of peers) {
      if (!track || pc.connectionState === "closed") continue;
      (await pc.getStats()).forEach((r) => {
        if (r.type === "inbound-rtp" && r.kind === "video" && r.trackIdentifier === track.id) {
          found = Object.fromEntries(TIMINGS.map((k) => [k, r[k] || 0]));
        }
      });
    }
    return found;
  }

  // Sums of the inbound video counters over the page's open peers (closed ones have no stats).
  // The watched view's video track: its receiver's counters are the model's main video alone (the page also
  // receives the model's other video outputs).
  function watchedTrackId() {
    const stream = document.querySelector("#reactor-view video")?.srcObject;
    const track = stream ? stream.getVideoTracks()[0] : null;
    return track ? track.id : null;
  }

  async function videoCounters() {
    const totals = { framesReceived: 0, framesDecoded: 0, framesDropped: 0 };
    const watched = watchedTrackId();
    for (const pc of [...peers]) {
      if (pc.connectionState === "closed") {
        peers.splice(peers.indexOf(pc), 1); // forget it: a long soak opens hundreds
        continue;
      }
      (await pc.getStats()).forEach((r) => {
        if (r.type === "inbound-rtp" && r.kind === "video" && (watched === null || r.trackIdentifier === watched)) {
          for (const k of Object.keys(totals)) totals[k] += r[k] || 0;
        }
      });
    }
    return totals;
  }

  let watched = null;
  function onFrame(video) {
    return (now, metadata) => {
      if (video !== watched) return; // a newer <video> replaced this one
      state.frames++;
      const stamp = readStamp(video);
      if (stamp === null) {
        state.unreadable++;
      } else {
        state.ages.push((((Date.now() & MASK) - stamp) & MASK));
        const due = Math.round(performance.timeOrigin + metadata.expectedDisplayTime);
        state.displayAges.push((((due & MASK) - stamp) & MASK));
        if (metadata.receiveTime !== undefined) {
          const received = performance.timeOrigin + metadata.receiveTime;
          state.receivedAges.push((((Math.round(received) & MASK) - stamp) & MASK));
          state.inPage.push(Date.now() - received);
        }
      }
      video.requestVideoFrameCallback(onFrame(video));
    };
  }

  // The dashboard mounts (and may replace) its <video> after the page loads: attach to whichever is current.
  setInterval(() => {
    const video = document.querySelector("#reactor-view video");
    if (video && video !== watched && "requestVideoFrameCallback" in video) {
      watched = video;
      video.requestVideoFrameCallback(onFrame(video));
    }
  }, 100);

  // Deltas; after a reconnect the counters restart, so a negative delta counts from zero.
  function deltas(now, before) {
    const out = {};
    for (const k of Object.keys(now)) {
      const b = before ? before[k] : 0;
      out[k] = now[k] >= b ? now[k] - b : now[k];
    }
    return out;
  }

  // Milliseconds per frame, over the frames of the window: in the jitter buffer (first packet to decoder),
  // decoding, and first packet to decoded.
  function perFrame(d) {
    const per = (total, count) => (count > 0 ? (1000 * total) / count : null);
    return {
      jitterBufferMs: per(d.jitterBufferDelay, d.jitterBufferEmittedCount),
      decodeMs: per(d.totalDecodeTime, d.framesDecoded),
      processingMs: per(d.totalProcessingDelay, d.framesDecoded),
    };
  }

  let lastCounters = null;
  let lastWatched = null;
  window.__bench = {
    async take() {
      const counters = await videoCounters();
      const timings = await watchedCounters();
      const now = performance.now();
      const out = { ...state, seconds: (now - state.since) / 1000, webrtc: deltas(counters, lastCounters) };
      out.watched = timings ? perFrame(deltas(timings, lastWatched)) : null;
      lastCounters = counters;
      lastWatched = timings;
      Object.assign(state, { ...fresh(), since: now });
      return out;
    },
  };
})();
