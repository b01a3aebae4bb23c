"""reactor-web as a library: "Use it in your own Reflex app" (docs/own-app.md), run verbatim against a fresh wheel.

The wheel is built from this checkout and installed into a new virtualenv in a temporary folder outside the
repository (nothing of the repository on the path), with the page's two files as the app and its commands to set
it up and start it. The README shows the same files and commands (checked here too), so what it shows runs as
well. The app is served
in production mode and driven in Chromium: live video, the camera's colour through the model, and Send Command
answered by a ``pong`` that the page's ``ReactorState`` subclass saw in ``on_message``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from reactor_web.runtime import free_port
from tests.e2e.video import wait_for_video
from tests.prod_server import wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
#: pip installs Reflex, aiortc and the rest (from its cache on a warm machine), then Reflex builds the frontend.
STARTUP_TIMEOUT_S = 600
READY_TIMEOUT_MS = 30_000


#: Where a user reads how to use the package in their own app; its files and commands are what this test runs.
OWN_APP_PAGE = ROOT / "docs" / "own-app.md"


def own_app_text() -> str:
    return OWN_APP_PAGE.read_text()


def readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("\n## Use it in your own Reflex app\n", 1)[1].split("\n## ", 1)[0]


def example_files(text: str) -> dict[str, str]:
    """The text's files: a line holding only `` `path` ``, then a fenced block with the content."""
    return {m[1]: m[2] for m in re.finditer(r"^`([\w./]+)`\n\n```python\n(.*?)^```$", text, re.S | re.M)}


def example_commands(text: str) -> str:
    (commands,) = re.findall(r"^```bash\n(.*?)^```$", text, re.S | re.M)
    return commands


def test_the_own_app_example_is_complete() -> None:
    text = own_app_text()
    assert sorted(example_files(text)) == ["myapp/myapp.py", "rxconfig.py"]
    assert "reflex run" in example_commands(text)


def test_the_readme_shows_the_same_example() -> None:
    # The README's short version is the page's, file for file and command for command: this test runs both.
    section = readme_section()
    assert example_files(section) == example_files(own_app_text())
    assert example_commands(section) == example_commands(own_app_text())


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without its virtualenv, the repository on any path, or Reactor settings."""
    # No REACTOR_* settings of this process either (the browser-test packages set some): the app's defaults.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"} and not k.startswith("REACTOR_")
    }
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT)))
    # Reflex cannot download bun here: the repository's copy (scripts/env.sh), as the own-app page says.
    env.setdefault("REFLEX_BUN_PATH", str(ROOT / ".tools/node_modules/.bin/bun"))
    env.setdefault("BUN_INSTALL_CACHE_DIR", str(ROOT / ".tools/bun-cache"))
    # Media on loopback; every other setting is the default, as in a user's app.
    env.update(
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_CHECK_LATEST_VERSION="false",
        REACTOR_ICE_HOST_ADDRESSES="127.0.0.1",
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        env=clean_env(),
    )
    (built,) = dist.glob("reactor_web-*.whl")
    return built


@pytest.fixture(scope="module")
def user_app(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The own-app page's app in a new folder, set up and started with the page's commands; yields its URL."""
    folder = tmp_path_factory.mktemp("myapp-project")
    assert ROOT not in folder.parents
    text = own_app_text()
    for name, content in example_files(text).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content)
    port = free_port()
    env = clean_env(
        REACTOR_WEB=str(wheel),
        PORT=str(port),
        # Quicker, not different: pip takes the tested versions (the wheel's ranges allow them) from its cache.
        PIP_CONSTRAINT=str(ROOT / "requirements.txt"),
    )
    log = folder / "commands.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-euxc", example_commands(text)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(proc, url, log, timeout_s=STARTUP_TIMEOUT_S)
        # What the app runs is the wheel in its own virtualenv, not this checkout.
        site = subprocess.run(
            [str(folder / ".venv/bin/python"), "-c", "import reactor_web.ui; print(reactor_web.ui.__file__)"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=folder,
        ).stdout.strip()
        assert site.startswith(str(folder / ".venv")), site
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the commands, reflex, its backend and the embedded runtime
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def page(browser: Browser, user_app: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(user_app)
    yield page
    context.close()


@pytest.mark.timeout(STARTUP_TIMEOUT_S + 180)
def test_wheel_in_a_new_app_streams_the_camera_and_calls_on_message(page: Page) -> None:
    expect(page.locator("#status")).to_have_text("Status: disconnected", timeout=READY_TIMEOUT_MS)
    page.locator("#connect").click()
    expect(page.locator("#status")).to_have_text("Status: ready", timeout=READY_TIMEOUT_MS)

    # The fake camera is red and published by default: the model's output takes its colour (so not black).
    rgb = wait_for_video(page, "rgb[0] > 120 && rgb[0] > rgb[1] * 2 && rgb[0] > rgb[2] * 2")
    assert sum(rgb) > 60, f"video is black: {rgb}"

    expect(page.locator("#pongs")).to_have_text("Pongs: 0")
    page.locator("#send-command").click()
    # PageState.on_message counted it: the subclass's override ran for the model's reply.
    expect(page.locator("#pongs")).to_have_text("Pongs: 1", timeout=10_000)
    # The controller generated from the model's capabilities is there too.
    expect(page.locator("[data-testid=command-set_brightness]")).to_be_visible()

    page.locator("#disconnect").click()
    expect(page.locator("#status")).to_have_text("Status: disconnected", timeout=10_000)
