"""Read the pixels of the dashboard's video back through a canvas."""

from __future__ import annotations

from playwright.sync_api import Page

# Mean RGB of the playing <video> matched by a selector, or null while it has no frame.
MEAN_RGB_OF_JS = """
(selector) => {
  const video = document.querySelector(selector);
  if (!video || video.readyState < 2 || video.videoWidth === 0) return null;
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 36;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(video, 0, 0, 64, 36);
  const d = ctx.getImageData(0, 0, 64, 36).data;
  let r = 0, g = 0, b = 0;
  for (let i = 0; i < d.length; i += 4) { r += d[i]; g += d[i + 1]; b += d[i + 2]; }
  const n = d.length / 4;
  return [r / n, g / n, b / n];
}
"""
# The same, for the dashboard's reactor view.
MEAN_RGB_JS = f"() => ({MEAN_RGB_OF_JS})('#reactor-view video')"


def mean_rgb(page: Page) -> list[float] | None:
    return page.evaluate(MEAN_RGB_JS)


def wait_for_video(page: Page, predicate_js: str, timeout_ms: float = 20_000) -> list[float]:
    """Wait until the video's mean colour ``[r, g, b]`` satisfies ``predicate_js`` (a JS expression on rgb)."""
    handle = page.wait_for_function(
        f"() => {{ const rgb = ({MEAN_RGB_JS})(); return rgb && ({predicate_js}) ? rgb : null; }}",
        timeout=timeout_ms,
        polling=100,
    )
    return handle.json_value()
