"""What cannot work is refused at start, naming the option or argument: runtime and coordinator options,
and the Reactor constructor."""

from __future__ import annotations

import pytest

from reactor_web._aiortc import PeerOptions
from reactor_web.client import Reactor
from reactor_web.protocol.schemas import IceServer
from reactor_web.runtime.__main__ import main

BAD_OPTIONS: list[tuple[list[str], str]] = [
    (["--host", "not a host name"], "--host"),
    (["--coordinator", "--host", ""], "--host"),
    (["--port", "70000"], "--port"),
    (["--port", "-1"], "--port"),
    (["--max-sessions", "0"], "--max-sessions"),
    (["--width", "0"], "--width"),
    (["--height", "100000"], "--height"),
    (["--fps", "0"], "--fps"),
    (["--ping-timeout", "0"], "--ping-timeout"),
    (["--ping-timeout", "nan"], "--ping-timeout"),
    (["--ping-timeout", "inf"], "--ping-timeout"),
    (["--max-upload-bytes", "0"], "--max-upload-bytes"),
    (["--max-upload-bytes", "100", "--max-session-upload-bytes", "10"], "--max-session-upload-bytes"),
    (["--model-name", " "], "--model-name"),
    (["--coordinator", "--gpus", "-1"], "--gpus"),
    (["--coordinator", "--token-ttl-s", "0"], "--token-ttl-s"),
    (["--coordinator", "--max-sessions-per-key", "0"], "--max-sessions-per-key"),
    (["--coordinator", "--api-key", " "], "--api-key"),
    (["--coordinator", "--fps", "0"], "--fps"),  # the workers' options are checked before any starts
]


@pytest.mark.parametrize(("argv", "option"), BAD_OPTIONS)
def test_a_bad_runtime_option_stops_it_naming_the_option(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]  # after the usage lines
    assert message.startswith(f"python -m reactor_web.runtime: error: {option} "), message


def test_a_stamp_frames_setting_that_is_not_1_or_0_stops_the_runtime(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REACTOR_RUNTIME_STAMP_FRAMES", "yes please")
    with pytest.raises(SystemExit):
        main([])
    assert "error: REACTOR_RUNTIME_STAMP_FRAMES" in capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("value", ["203.0.113.7", "not-an-address", " , "])
def test_a_host_address_setting_that_cannot_work_stops_the_runtime(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REACTOR_ICE_HOST_ADDRESSES", value)
    with pytest.raises(SystemExit):
        main([])
    assert "error: REACTOR_ICE_HOST_ADDRESSES" in capsys.readouterr().err.strip().splitlines()[-1]


BAD_ARGUMENTS: list[tuple[dict[str, object], str]] = [
    ({"model_name": ""}, "model_name"),
    ({"api_url": "localhost:8080"}, "api_url"),
    ({"ice_servers": [IceServer(["http://stun.example.com"])]}, "ice_servers"),
    ({"signalling": "smoke"}, "signalling"),
    ({"peer_timeout_s": 0}, "peer_timeout_s"),
    ({"http_timeout_s": float("nan")}, "http_timeout_s"),
    ({"ready_timeout_s": -5}, "ready_timeout_s"),
    ({"peer_options": PeerOptions(host_addresses=("203.0.113.7",))}, "host_addresses"),
    ({"peer_options": PeerOptions(host_addresses=("not-an-address",))}, "host_addresses"),
]


@pytest.mark.parametrize(("overrides", "argument"), BAD_ARGUMENTS)
def test_the_reactor_constructor_refuses_what_cannot_work(overrides: dict[str, object], argument: str) -> None:
    kwargs: dict[str, object] = {"model_name": "demo", "local": True, **overrides}
    with pytest.raises(ValueError, match=argument):
        Reactor(**kwargs)  # type: ignore[arg-type]


def test_the_reactor_constructor_accepts_good_arguments() -> None:
    Reactor(
        "demo",
        api_url="http://127.0.0.1:8080",
        ice_servers=[IceServer(["turn:t.example.com"], "u", "p")],
        ready_timeout_s=5,
        peer_options=PeerOptions(host_addresses=("127.0.0.1",)),
    )
