"""The demo model's pixels and command handling."""

from __future__ import annotations

import io

import av
import jsonschema
import numpy as np
import pytest
from PIL import Image

from reactor_web.protocol.capabilities import commands_from_openapi, commands_to_openapi
from reactor_web.protocol.stamp import age_ms, read_stamp
from reactor_web.runtime.__main__ import build_parser, runtime_config
from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.model import COMMANDS, EFFECTS, DemoModel, ModelMessage


def parse_args(argv: list[str]) -> RuntimeConfig:
    return runtime_config(build_parser().parse_args(argv))


T = 1.25  # a fixed animation time, so two renders are comparable


@pytest.fixture
def model() -> DemoModel:
    return DemoModel(640, 360, 30)


def run(model: DemoModel, name: str, data: object) -> list[ModelMessage]:
    return model.handle_command(name, data)


def test_scene_is_animated_mid_brightness_rgb(model: DemoModel) -> None:
    a, b = model.render(T), model.render(T + 0.5)
    assert a.shape == (360, 640, 3) and a.dtype == np.uint8
    assert 60 < a.mean() < 190
    assert not np.array_equal(a, b)


def test_brightness(model: DemoModel) -> None:
    normal = model.render(T)
    run(model, "set_brightness", {"value": 0})
    assert model.render(T).max() == 0
    run(model, "set_brightness", {"value": 100})
    assert model.render(T).mean() > normal.mean() * 1.5
    run(model, "set_brightness", {"value": 50})
    assert np.array_equal(model.render(T), normal)


def test_effects(model: DemoModel) -> None:
    normal = model.render(T).astype(int)
    run(model, "set_effect", {"name": "invert"})
    assert np.array_equal(model.render(T).astype(int), 255 - normal)
    run(model, "set_effect", {"name": "posterize"})
    assert set(np.unique(model.render(T))) <= {0, 85, 170, 255}
    run(model, "set_effect", {"name": "grayscale"})
    gray = model.render(T)
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])
    run(model, "set_effect", {"name": "edges"})
    edges = model.render(T)
    assert edges.mean() < gray.mean()  # a smooth gradient has few edges
    assert edges.max() > 200  # the shapes' outlines do


def test_prompt_is_drawn(model: DemoModel) -> None:
    plain = model.render(T)
    messages = run(model, "set_prompt", {"text": "a red fox in the snow"})
    assert messages == [ModelMessage("state_update", model.state, broadcast=True)]
    with_text = model.render(T)
    changed = np.any(plain != with_text, axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 500
    assert ys.min() > 360 // 2 and xs.min() < 640 // 4  # bottom-left caption
    run(model, "set_prompt", {"text": ""})
    assert np.array_equal(model.render(T), plain)


@pytest.mark.parametrize("as_video_frame", [False, True])
def test_webcam_frame_replaces_the_scene(model: DemoModel, as_video_frame: bool) -> None:
    color = (40, 200, 90)
    image = np.empty((240, 320, 3), np.uint8)
    image[:] = color
    model.set_webcam_frame(av.VideoFrame.from_ndarray(image, format="rgb24") if as_video_frame else image)
    out = model.render(T)
    assert out.shape == (360, 640, 3)
    assert np.allclose(out.reshape(-1, 3).mean(axis=0), color, atol=3)
    run(model, "set_effect", {"name": "invert"})
    assert np.allclose(model.render(T).reshape(-1, 3).mean(axis=0), [255 - c for c in color], atol=3)
    model.clear_webcam()
    run(model, "set_effect", {"name": "none"})
    assert not np.allclose(model.render(T).reshape(-1, 3).mean(axis=0), color, atol=3)


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("explode", {}, "UNKNOWN_COMMAND"),
        ("set_brightness", {"value": 101}, "INVALID_COMMAND"),
        ("set_brightness", {"value": -1}, "INVALID_COMMAND"),
        ("set_brightness", {"value": "50"}, "INVALID_COMMAND"),
        ("set_brightness", {"value": True}, "INVALID_COMMAND"),
        ("set_brightness", {}, "INVALID_COMMAND"),
        ("set_brightness", [50], "INVALID_COMMAND"),
        ("set_effect", {"name": "sepia"}, "INVALID_COMMAND"),
        ("set_prompt", {"text": "x" * 201}, "INVALID_COMMAND"),
        ("set_prompt", {"text": "ok", "extra": 1}, "INVALID_COMMAND"),
    ],
)
def test_invalid_commands_reply_with_an_error(model: DemoModel, name: str, data: object, code: str) -> None:
    before = model.state
    [message] = run(model, name, data)
    assert message.type == "error" and not message.broadcast
    assert message.data["code"] == code and message.data["command"] == name
    assert message.data["message"]
    assert model.state == before


def test_ping_and_state_updates(model: DemoModel) -> None:
    [pong] = run(model, "ping", None)
    assert pong.type == "pong" and not pong.broadcast
    [update] = run(model, "set_brightness", {"value": 7.0})  # JSON has no int/float distinction
    assert update.data == {"brightness": 7, "effect": "none", "prompt": "", "image": None, "opacity": 0.5}
    for effect in EFFECTS:
        [update] = run(model, "set_effect", {"name": effect})
        assert update.data["effect"] == effect


def test_command_schemas_round_trip_through_openapi() -> None:
    for command in COMMANDS:
        jsonschema.Draft202012Validator.check_schema(command.json_schema())
    document = commands_to_openapi(COMMANDS, (), title="t", version="1")
    assert {c.name: c.schema for c in commands_from_openapi(document)} == {c.name: c.schema for c in COMMANDS}


def png(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def image_ref(content: bytes, name: str = "red.png") -> dict[str, object]:
    return {"upload_id": "u1", "name": name, "mime_type": "image/png", "size": len(content)}


def test_set_image_blends_the_image_in_and_clear_image_removes_it(model: DemoModel) -> None:
    plain = model.render(T)
    red = png((255, 0, 0))
    [update] = model.handle_command("set_image", {"image": image_ref(red)}, {"image": red})
    assert update.broadcast and update.data["image"] == "red.png" and update.data["opacity"] == 0.5
    half = model.render(T).astype(int)
    # Half way from the scene to pure red, pixel by pixel.
    assert np.abs(half - (plain.astype(int) + np.array([255, 0, 0])) / 2).max() <= 1
    model.handle_command("set_image", {"image": image_ref(red), "opacity": 1}, {"image": red})
    assert np.array_equal(np.unique(model.render(T).reshape(-1, 3), axis=0), [[255, 0, 0]])
    [update] = model.handle_command("clear_image", {})
    assert update.data["image"] is None
    assert np.array_equal(model.render(T), plain)


@pytest.mark.parametrize(
    ("data", "files", "code"),
    [
        ({"image": image_ref(b"not an image", "bad.png")}, {"image": b"not an image"}, "INVALID_IMAGE"),
        ({"image": image_ref(b"x")}, {}, "UNKNOWN_UPLOAD"),
        ({"image": image_ref(b"x"), "opacity": 2}, {}, "INVALID_COMMAND"),
        ({"image": "cat.png"}, {}, "INVALID_COMMAND"),
        ({}, {}, "INVALID_COMMAND"),
    ],
)
def test_set_image_errors_leave_the_picture_alone(
    model: DemoModel, data: dict[str, object], files: dict[str, bytes], code: str
) -> None:
    plain = model.render(T)
    [message] = model.handle_command("set_image", data, files)
    assert message.type == "error" and message.data["code"] == code and message.data["command"] == "set_image"
    assert model.state["image"] is None and np.array_equal(model.render(T), plain)


def test_huge_image_is_refused_before_decoding(model: DemoModel) -> None:
    # 8000x8000 of one colour compresses to a few kB but would decode to 192 MB.
    big = png((0, 0, 0), (8000, 8000))
    [message] = model.handle_command("set_image", {"image": image_ref(big)}, {"image": big})
    assert message.data["code"] == "INVALID_IMAGE" and "pixels" in message.data["message"]


def test_stamped_frames_carry_their_render_time() -> None:
    model = DemoModel(640, 360, 30, stamp_frames=True)
    model.handle_command("set_effect", {"name": "invert"})  # drawn after every effect, so still readable
    stamp = read_stamp(model.render(T))
    assert stamp is not None and age_ms(stamp) < 1000
    assert read_stamp(DemoModel(640, 360, 30).render(T)) is None


def test_stamping_needs_a_wide_enough_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="at least"):
        RuntimeConfig(width=320, stamp_frames=True)
    monkeypatch.setenv("REACTOR_RUNTIME_STAMP_FRAMES", "1")
    assert RuntimeConfig().stamp_frames
    assert parse_args([]).stamp_frames and not parse_args(["--no-stamp-frames"]).stamp_frames
    monkeypatch.setenv("REACTOR_RUNTIME_STAMP_FRAMES", "0")
    assert not RuntimeConfig().stamp_frames
    config = parse_args(["--stamp-frames", "--max-upload-bytes", "1234", "--max-session-upload-bytes", "5678"])
    assert config.stamp_frames and (config.max_upload_bytes, config.max_session_upload_bytes) == (1234, 5678)
