"""The demo model's pixels, sound, hearing and command handling, and its output tracks."""

from __future__ import annotations

import asyncio
import io
import itertools
import math
from fractions import Fraction

import av
import jsonschema
import numpy as np
import pytest
from PIL import Image

from reactor_web.protocol.capabilities import commands_from_openapi, commands_to_openapi
from reactor_web.protocol.stamp import age_ms, read_stamp
from reactor_web.runtime.__main__ import build_parser, runtime_config
from reactor_web.runtime.audio import (
    CLICK_S,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    TONE_AMPLITUDE,
    MicAnalyser,
    ToneSynth,
    mono_samples,
    tone_hz,
)
from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.manager import SessionManager
from reactor_web.runtime.model import (
    COMMANDS,
    EFFECTS,
    MESSAGES,
    METER_RGB,
    METER_WIDTH,
    DemoModel,
    ModelMessage,
    _edges,
    _luma,
    edges_view,
)
from reactor_web.runtime.tracks import FrameClock, ModelAudioTrack, ModelVideoTrack, RenderedFrame


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
    assert update.data == {
        "brightness": 7,
        "effect": "none",
        "prompt": "",
        "image": None,
        "opacity": 0.5,
        "mic_level": 0.0,
        "mic_pitch_hz": None,
    }
    jsonschema.validate(update.data, MESSAGES["state_update"])
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


# ------------------------------------------------------------------------------------------ edges_video


def test_edges_view_is_the_gray_edges_of_the_frame_at_half_size(model: DemoModel) -> None:
    frame = model.render(T)
    view = edges_view(frame)
    assert view.shape == (180, 320, 3) and view.dtype == np.uint8
    assert np.array_equal(view[..., 0], view[..., 1]) and np.array_equal(view[..., 1], view[..., 2])
    assert np.array_equal(view[..., 0], _edges(_luma(frame[::2, ::2])))  # the docstring's definition
    assert view.mean() < 40 and view.max() > 200  # dark where the scene is smooth, bright on its outlines
    spread = np.abs(frame[..., 0].astype(int) - frame[..., 2].astype(int)).mean()
    assert spread > 20  # while the main picture is colourful


def test_edges_view_sizes_are_even_halves() -> None:
    assert edges_view(np.zeros((51, 93, 3), np.uint8)).shape == (24, 46, 3)
    assert edges_view(np.zeros((360, 640, 3), np.uint8)).shape == (180, 320, 3)


async def read_frames(tracks: list[ModelVideoTrack], count: int) -> list[list[av.VideoFrame]]:
    """``count`` frames of each track, the tracks read side by side (as their senders would)."""

    async def read(track: ModelVideoTrack) -> list[av.VideoFrame]:
        return [await track.recv() for _ in range(count)]

    async with asyncio.timeout(20):
        return list(await asyncio.gather(*(read(t) for t in tracks)))


async def test_every_video_output_of_a_session_shares_one_render_per_frame() -> None:
    model = DemoModel(160, 96, 30)
    clock = FrameClock(model, 30)
    main, edges = ModelVideoTrack(clock), ModelVideoTrack(clock, RenderedFrame.edges)
    other_connection = ModelVideoTrack(clock)
    mains, edgess, others = await read_frames([main, edges, other_connection], 10)
    # Ten frames each, ten renders in all: every output showed every render, with the same timestamps.
    assert model.frame_index == 10
    assert [f.pts for f in mains] == [f.pts for f in edgess] == [f.pts for f in others]
    assert all(b.pts > a.pts for a, b in itertools.pairwise(mains))
    assert (mains[0].width, mains[0].height, edgess[0].width, edgess[0].height) == (160, 96, 80, 48)
    assert all(f.time_base == Fraction(1, 90_000) for f in mains)
    for track in (main, edges, other_connection):
        track.stop()


async def test_a_paused_output_renders_nothing_and_resumes_without_a_burst() -> None:
    model = DemoModel(160, 96, 30)
    clock = FrameClock(model, 30)
    main, edges = ModelVideoTrack(clock), ModelVideoTrack(clock, RenderedFrame.edges, paused=True)
    waiting = asyncio.ensure_future(edges.recv())
    await read_frames([main], 5)
    assert model.frame_index == 5 and not waiting.done()  # the paused track neither rendered nor got a frame
    main.pause()
    edges.resume()
    await asyncio.wait_for(waiting, 20)
    assert model.frame_index in (5, 6)  # the frame of this period (still fresh) or one new one: no catch-up
    main.stop()
    edges.stop()


# ------------------------------------------------------------------------------------------ main_audio


def test_tone_pitch_follows_brightness() -> None:
    assert (tone_hz(0), tone_hz(50), tone_hz(100)) == (220.0, 660.0, 1100.0)


def sine(hz: float, amplitude: float, seconds: float, rate: int = SAMPLE_RATE) -> np.ndarray:
    return amplitude * np.sin(2 * math.pi * hz * np.arange(round(seconds * rate)) / rate)


def test_the_tone_is_phase_continuous_across_a_pitch_change_and_clicks_on_demand() -> None:
    synth = ToneSynth()
    blocks = [synth.next_block(tone_hz(50)) for _ in range(5)] + [synth.next_block(tone_hz(100)) for _ in range(5)]
    wave = np.concatenate(blocks).astype(float) / 32767
    assert all(b.shape == (FRAME_SAMPLES,) and b.dtype == np.int16 for b in blocks)
    assert abs(np.abs(wave).max() - TONE_AMPLITUDE) < 0.01
    # No jump anywhere, the pitch change included: a sample moves at most what the higher pitch allows.
    assert np.abs(np.diff(wave)).max() <= TONE_AMPLITUDE * 2 * math.pi * tone_hz(100) / SAMPLE_RATE * 1.01
    synth.click()
    clicked = synth.next_block(tone_hz(100)).astype(float) / 32767
    burst = round(CLICK_S * SAMPLE_RATE)
    assert np.abs(clicked[:burst]).max() > TONE_AMPLITUDE * 1.5  # a click louder than the tone...
    assert np.abs(clicked[burst:]).max() <= TONE_AMPLITUDE + 0.001  # ...for 10 ms only


def audio_frame(
    samples: np.ndarray, *, layout: str = "stereo", fmt: str = "s16", rate: int = SAMPLE_RATE
) -> av.AudioFrame:
    """``samples`` (-1..1, mono) as a frame of ``fmt``/``layout`` (every channel alike)."""
    channels = av.AudioLayout(layout).nb_channels
    if fmt.startswith("s16"):
        data = np.rint(samples * 32767).astype(np.int16)
    else:
        data = samples.astype(np.float32)
    planar = fmt.endswith("p")
    array = np.tile(data, (channels, 1)) if planar else np.repeat(data, channels)[None, :]
    frame = av.AudioFrame.from_ndarray(array, format=fmt, layout=layout)
    frame.sample_rate = rate
    return frame


def feed(
    analyser: MicAnalyser, samples: np.ndarray, *, layout: str = "stereo", fmt: str = "s16", rate: int = SAMPLE_RATE
) -> None:
    """Feed ``samples`` in 20 ms frames, as they arrive from a peer."""
    step = rate // 50
    for start in range(0, len(samples), step):
        assert analyser.feed(audio_frame(samples[start : start + step], layout=layout, fmt=fmt, rate=rate))


async def test_the_audio_track_paces_20_ms_frames_of_the_tone_and_skips_ahead_when_late() -> None:
    model = DemoModel(160, 96, 30)
    track = ModelAudioTrack(model)
    frames = [await track.recv() for _ in range(10)]
    assert [f.pts for f in frames] == [i * FRAME_SAMPLES for i in range(10)]
    first = frames[0]
    assert (first.samples, first.sample_rate, first.format.name, first.layout.name) == (960, 48_000, "s16", "stereo")
    assert first.time_base == Fraction(1, 48_000)
    heard = MicAnalyser()
    for frame in frames:
        heard.feed(frame)
    assert abs((heard.pitch_hz() or 0) - tone_hz(50)) < 5
    assert abs(heard.level - TONE_AMPLITUDE / math.sqrt(2)) < 0.01

    track._t0 = (track._t0 or 0.0) - 1.0  # as if the sender had not read for a second
    late = await asyncio.wait_for(track.recv(), 5)
    assert late.pts >= 59 * FRAME_SAMPLES and late.pts % FRAME_SAMPLES == 0  # caught up at once, on the grid
    model.handle_command("set_brightness", {"value": 100})  # a command applied: a click, then the new pitch
    clicked = mono_samples(await track.recv())
    assert clicked is not None and np.abs(clicked).max() > TONE_AMPLITUDE * 1.5
    track.stop()


# ------------------------------------------------------------------------------------------ microphone


@pytest.mark.parametrize(
    ("layout", "fmt", "rate"),
    [("stereo", "s16", 48_000), ("mono", "s16", 48_000), ("mono", "fltp", 44_100), ("5.1", "s16p", 16_000)],
)
def test_the_microphone_analysis_finds_a_sines_pitch_and_level(layout: str, fmt: str, rate: int) -> None:
    analyser = MicAnalyser()
    feed(analyser, sine(1000.0, 0.5, 0.5, rate), layout=layout, fmt=fmt, rate=rate)
    pitch = analyser.pitch_hz()
    assert pitch is not None and abs(pitch - 1000.0) <= 20
    assert abs(analyser.level - 0.5 / math.sqrt(2)) <= 0.1 * 0.5 / math.sqrt(2)
    assert analyser.active


def test_silence_has_no_level_and_no_pitch() -> None:
    analyser = MicAnalyser()
    feed(analyser, np.zeros(SAMPLE_RATE // 2))
    assert analyser.level < 1e-4 and analyser.pitch_hz() is None and analyser.active
    analyser.clear()
    assert analyser.level == 0 and analyser.pitch_hz() is None and not analyser.active


def test_the_analysis_keeps_the_latest_window_only() -> None:
    analyser = MicAnalyser()
    feed(analyser, sine(300.0, 0.5, 2.0))
    feed(analyser, sine(1500.0, 0.1, 0.5))
    assert abs((analyser.pitch_hz() or 0) - 1500.0) <= 20 and abs(analyser.level - 0.1 / math.sqrt(2)) < 0.01
    assert len(analyser._window) == round(0.16 * SAMPLE_RATE)


def hostile_frames() -> list[av.AudioFrame]:
    empty = av.AudioFrame(format="s16", layout="stereo", samples=0)
    empty.sample_rate = SAMPLE_RATE
    no_rate = audio_frame(sine(1000.0, 0.5, 0.02), rate=SAMPLE_RATE)
    no_rate.sample_rate = 0
    huge_rate = audio_frame(sine(1000.0, 0.5, 0.02))
    huge_rate.sample_rate = 10_000_000
    tiny_rate = audio_frame(sine(1000.0, 0.5, 0.02))
    tiny_rate.sample_rate = 1
    s64 = av.AudioFrame(format="s64", layout="stereo", samples=960)  # numpy cannot read this format
    s64.sample_rate = SAMPLE_RATE
    nan = audio_frame(np.full(960, np.nan), fmt="flt", layout="mono")
    return [empty, no_rate, huge_rate, tiny_rate, s64, nan]


def test_hostile_audio_frames_never_raise() -> None:
    analyser = MicAnalyser()
    results = [analyser.feed(frame) for frame in hostile_frames()]
    assert results == [False, False, False, False, False, True]  # NaN samples read as silence
    assert analyser.level == 0 and analyser.pitch_hz() is None
    model = DemoModel(160, 96, 30)
    for frame in hostile_frames():
        model.feed_microphone(frame)
    assert model.state["mic_level"] == 0 and model.state["mic_pitch_hz"] is None
    model.render(T)


def test_the_model_reports_and_draws_what_it_hears(model: DemoModel) -> None:
    plain = model.render(T)
    assert model.state["mic_level"] == 0.0 and model.state["mic_pitch_hz"] is None
    feed(model.microphone, sine(1000.0, 0.5, 0.3))
    state = model.state
    assert state["mic_level"] == round(0.5 / math.sqrt(2), 3) and abs(state["mic_pitch_hz"] - 1000.0) <= 20
    jsonschema.validate(state, MESSAGES["state_update"])
    metered = model.render(T)
    bar = round(model.microphone.level * 360)
    assert np.array_equal(metered[-bar:, :METER_WIDTH].reshape(-1, 3), np.tile(METER_RGB, (bar * METER_WIDTH, 1)))
    assert np.array_equal(metered[:-bar, :METER_WIDTH], plain[:-bar, :METER_WIDTH] // 4)  # the dark backdrop
    assert np.array_equal(metered[:, METER_WIDTH:], plain[:, METER_WIDTH:])  # nothing else changes
    model.clear_microphone()
    assert np.array_equal(model.render(T), plain) and model.state["mic_level"] == 0.0


def test_the_meter_is_drawn_before_the_stamp() -> None:
    model = DemoModel(640, 360, 30, stamp_frames=True)
    feed(model.microphone, sine(1000.0, 1.0, 0.3))  # a full-height bar, under the stamp's corner
    assert read_stamp(model.render(T)) is not None


# ------------------------------------------------------------------------------------------ capabilities


def test_capabilities_declare_every_track_in_order_and_the_track_map_their_rates() -> None:
    manager = SessionManager(RuntimeConfig(port=0, fps=25))
    assert [(t.name, t.kind, t.direction) for t in manager.capabilities.tracks] == [
        ("main_video", "video", "recvonly"),
        ("edges_video", "video", "recvonly"),
        ("main_audio", "audio", "recvonly"),
        ("webcam", "video", "sendonly"),
        ("microphone", "audio", "sendonly"),
    ]
    assert manager.track_map() == {
        "main_video": {"kind": "video", "direction": "out", "rate": 25.0},
        "edges_video": {"kind": "video", "direction": "out", "rate": 25.0},
        "main_audio": {"kind": "audio", "direction": "out", "rate": 48_000.0},
        "webcam": {"kind": "video", "direction": "in", "rate": 0.0},
        "microphone": {"kind": "audio", "direction": "in", "rate": 48_000.0},
    }
    assert [t["name"] for t in manager.schema["x-reactor"]["tracks"]] == list(manager.track_map())
    assert set(MESSAGES["state_update"]["properties"]) >= {"mic_level", "mic_pitch_hz"}
