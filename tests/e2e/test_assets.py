"""The dashboard's own static files (``assets/``): its favicon and logo load, and the sample image it offers
downloads and is what the model then blends into its picture."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_controls_uploads_stats import connect_to_scene, slider_to
from tests.e2e.video import mean_rgb, wait_for_video

ROOT = Path(__file__).resolve().parents[2]
#: The sample's mean colour is about (201, 95, 42): an orange sky, a sun, dark hills.
WARM = "rgb[0] > 150 && rgb[0] > 1.5 * rgb[1] && rgb[0] > 2.5 * rgb[2]"


def test_favicon_and_logo_load(page: Page) -> None:
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href is not None
    icon = page.request.get(urljoin(page.url, href))
    assert icon.ok, f"{href}: {icon.status}"
    assert icon.body() == (ROOT / "assets/favicon.ico").read_bytes()
    expect(page.locator("#dashboard-logo")).to_be_visible()
    page.wait_for_function("() => document.querySelector('#dashboard-logo').naturalWidth > 0")  # decoded


@pytest.mark.usefixtures("disconnect_after")
def test_the_sample_image_downloads_and_the_model_blends_it(page: Page, tmp_path: Path) -> None:
    with page.expect_download() as download:
        page.locator("#sample-image-link").click()
    sample = tmp_path / download.value.suggested_filename
    download.value.save_as(sample)
    assert sample.name == "sample-image.png"
    assert sample.read_bytes() == (ROOT / "assets/sample-image.png").read_bytes()

    connect_to_scene(page)
    slider_to(page.locator("#image-opacity"), "End")
    before = mean_rgb(page)
    page.locator("#image-upload input[type=file]").set_input_files(sample)
    expect(page.locator("#image-name")).to_have_text("sample-image.png")
    warm = wait_for_video(page, WARM)
    assert warm[0] > 150, f"the picture did not take the sample's colours: {before} → {warm}"
    expect(page.locator("#image-error")).to_have_count(0)
