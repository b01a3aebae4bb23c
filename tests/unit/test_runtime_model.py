"""The demo model's pixels and command handling."""

from __future__ import annotations

import av
import jsonschema
import numpy as np
import pytest

from reactor_web.protocol.capabilities import commands_from_openapi, commands_to_openapi
from reactor_web.runtime.model import COMMANDS, EFFECTS, DemoModel, ModelMessage

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
    assert update.data == {"brightness": 7, "effect": "none", "prompt": ""}
    for effect in EFFECTS:
        [update] = run(model, "set_effect", {"name": effect})
        assert update.data["effect"] == effect


def test_command_schemas_round_trip_through_openapi() -> None:
    for command in COMMANDS:
        jsonschema.Draft202012Validator.check_schema(command.json_schema())
    document = commands_to_openapi(COMMANDS, (), title="t", version="1")
    assert {c.name: c.schema for c in commands_from_openapi(document)} == {c.name: c.schema for c in COMMANDS}
