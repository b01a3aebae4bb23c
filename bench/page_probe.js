// Installed in a dashboard tab by bench/dashboard.py (page.add_init_script): watches the model's <video>
// (#reactor-view video) with requestVideoFrameCallback, which fires once per frame the page presents.
// For each presented frame it counts it and reads the frame's stamp (reactor_web/protocol/stamp.py,
// decoded exactly as read_stamp does: 16 px cells, guard white/black, 24 bits of wall-clock ms, the
// centre half of each cell averaged over R, G, B) through a canvas, and keeps the frame's age:
//   age_cb_ms:      Date.now() in the callback - stamp   (the frame is about to be composited)
//   age_display_ms: timeOrigin + metadata.expectedDisplayTime - stamp   (when it is due on screen)
// window.__bench.take() returns and clears what was collected since the last call.
(() => {
  const BITS = 24, CELL = 16, MASK = (1 << BITS) - 1, WIDTH = (BITS + 2) * CELL;
  const canvas = document.createElement("canvas");
  canvas.width = WIDTH;
  canvas.height = CELL;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const state = { frames: 0, unreadable: 0, ages: [], displayAges: [], since: performance.now() };

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

  window.__bench = {
    take() {
      const now = performance.now();
      const out = { ...state, seconds: (now - state.since) / 1000 };
      Object.assign(state, { frames: 0, unreadable: 0, ages: [], displayAges: [], since: now });
      return out;
    },
  };
})();
