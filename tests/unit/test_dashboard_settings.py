"""Dashboard settings come from the environment, and bad values fail at startup with a clear message."""

from __future__ import annotations

import pytest

from reactor_web.protocol.schemas import IceServer
from reactor_web.ui.settings import DashboardSettings


def test_defaults_start_the_embedded_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REACTOR_RUNTIME_URL", "REACTOR_MODEL", "REACTOR_ICE_SERVERS", "REACTOR_GPU_ICE_SERVERS"):
        monkeypatch.delenv(name, raising=False)
    settings = DashboardSettings.from_env()
    assert settings.runtime_url is None
    assert settings.model_name == "reactor-web-demo"
    assert settings.rtc_ice_servers() == [] and settings.gpu_ice_override() is None


def test_ice_servers_for_both_legs(monkeypatch: pytest.MonkeyPatch) -> None:
    turn = '[{"urls": ["turn:turn.example.com:3478?transport=udp"], "username": "u", "credential": "p"}]'
    monkeypatch.setenv("REACTOR_ICE_SERVERS", turn)
    monkeypatch.setenv("REACTOR_GPU_ICE_SERVERS", '[{"urls": "stun:stun.example.com:3478"}]')
    settings = DashboardSettings.from_env()
    browser = settings.rtc_ice_servers()
    assert browser[0].urls == ["turn:turn.example.com:3478?transport=udp"] and browser[0].credential == "p"
    assert settings.gpu_ice_override() == [IceServer(["stun:stun.example.com:3478"])]


@pytest.mark.parametrize("variable", ["REACTOR_ICE_SERVERS", "REACTOR_GPU_ICE_SERVERS"])
@pytest.mark.parametrize("raw", ['{"urls": "stun:x"}', '[{"url": "stun:x"}]', "[1]", "turn:x"])
def test_malformed_ice_servers_are_refused(monkeypatch: pytest.MonkeyPatch, variable: str, raw: str) -> None:
    monkeypatch.setenv(variable, raw)
    with pytest.raises(ValueError, match=variable):
        DashboardSettings.from_env()


def test_an_api_key_means_production_and_stays_out_of_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REACTOR_RUNTIME_URL", raising=False)
    monkeypatch.setenv("REACTOR_API_KEY", "rk_secret_value")
    monkeypatch.setenv("REACTOR_API_URL", "http://127.0.0.1:8090")
    settings = DashboardSettings.from_env()
    assert settings.production and settings.api_url == "http://127.0.0.1:8090"
    assert "rk_secret_value" not in repr(settings)


def test_api_key_and_runtime_url_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REACTOR_API_KEY", "rk_x")
    monkeypatch.setenv("REACTOR_RUNTIME_URL", "http://127.0.0.1:8080")
    with pytest.raises(ValueError, match="unset one"):
        DashboardSettings.from_env()


GOOD_AND_BAD: list[tuple[str, str, str]] = [
    # (variable, a good value, a bad value)
    ("REACTOR_ICE_HOST_ADDRESSES", "127.0.0.1", "203.0.113.7"),  # TEST-NET-3: not an address of this host
    ("REACTOR_ICE_HOST_ADDRESSES", "127.0.0.1, ::1", "not-an-address"),
    ("REACTOR_ICE_HOST_ADDRESSES", "127.0.0.1", " , "),
    ("REACTOR_ICE_SERVERS", '[{"urls": "stun:stun.example.com:3478"}]', '[{"urls": "http://stun.example.com"}]'),
    ("REACTOR_ICE_SERVERS", '[{"urls": ["turns:t.example.com"], "username": "u"}]', '[{"urls": []}]'),
    ("REACTOR_ICE_SERVERS", "[]", "[" * 5000 + "]" * 5000),
    ("REACTOR_GPU_ICE_SERVERS", '[{"urls": ["turn:t.example.com"]}]', '[{"urls": [5]}]'),
    ("REACTOR_GPU_ICE_SERVERS", "[]", '[{"urls": "stun:x", "credential": 7}]'),
    ("REACTOR_HEARTBEAT_TIMEOUT_S", "2.5", "0"),
    ("REACTOR_HEARTBEAT_TIMEOUT_S", "10", "nan"),
    ("REACTOR_PEER_TIMEOUT_S", "15", "-1"),
    ("REACTOR_PEER_TIMEOUT_S", "15", "inf"),
    ("REACTOR_PEER_TIMEOUT_S", "15", "soon"),
    ("REACTOR_API_URL", "https://api.example.com", "api.example.com"),
    ("REACTOR_API_URL", "http://127.0.0.1:8090", "ftp://127.0.0.1"),
    ("REACTOR_RUNTIME_URL", "http://127.0.0.1:8080", "http://127.0.0.1:99999"),
    ("REACTOR_AUTO_CONNECT", "yes", "maybe"),
    ("REACTOR_AUTO_RETRY", "off", "ture"),
    ("REACTOR_MODEL", "my-model", "   "),
    ("REACTOR_PLAYOUT_DELAY_MS", "0,200", "0,15"),  # not a multiple of 10 ms
    ("REACTOR_PLAYOUT_DELAY_MS", "browser", "200,0"),  # minimum above maximum
    ("REACTOR_PLAYOUT_DELAY_MS", "0, 0", "soon"),
]


@pytest.mark.parametrize(("variable", "good", "bad"), GOOD_AND_BAD)
def test_every_setting_is_validated_at_start_with_a_message_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, good: str, bad: str
) -> None:
    for name in ("REACTOR_API_KEY", "REACTOR_RUNTIME_URL"):
        monkeypatch.delenv(name, raising=False)
    DashboardSettings.from_env({variable: good})  # accepted
    with pytest.raises(ValueError, match=variable):
        DashboardSettings.from_env({variable: bad})


def test_flags_read_yes_and_no_words() -> None:
    assert DashboardSettings.from_env({"REACTOR_AUTO_CONNECT": "TRUE", "REACTOR_AUTO_RETRY": "0"}).auto_connect
    assert not DashboardSettings.from_env({"REACTOR_AUTO_RETRY": "no"}).auto_retry
    assert DashboardSettings.from_env({"REACTOR_ICE_HOST_ADDRESSES": "127.0.0.1"}).ice_host_addresses == ("127.0.0.1",)


def test_the_playout_delay_the_relay_asks_the_browser_for_is_0_0_unless_set() -> None:
    assert DashboardSettings.from_env({}).playout_delay_ms == (0, 0)
    assert DashboardSettings.from_env({"REACTOR_PLAYOUT_DELAY_MS": "0,200"}).playout_delay_ms == (0, 200)
    assert DashboardSettings.from_env({"REACTOR_PLAYOUT_DELAY_MS": "browser"}).playout_delay_ms is None


def test_relay_only_policy_needs_a_turn_server() -> None:
    turn = '[{"urls": ["turn:127.0.0.1:3478"], "username": "u", "credential": "p"}]'
    settings = DashboardSettings.from_env({"REACTOR_ICE_SERVERS": turn, "REACTOR_ICE_TRANSPORT_POLICY": "Relay"})
    assert settings.ice_transport_policy == "relay"
    assert DashboardSettings.from_env({}).ice_transport_policy == "all"
    for env in (
        {"REACTOR_ICE_SERVERS": turn, "REACTOR_ICE_TRANSPORT_POLICY": "relay-only"},
        {"REACTOR_ICE_SERVERS": '[{"urls": "stun:stun.example.com"}]', "REACTOR_ICE_TRANSPORT_POLICY": "relay"},
        {"REACTOR_ICE_TRANSPORT_POLICY": "relay"},
    ):
        with pytest.raises(ValueError, match="REACTOR_ICE_TRANSPORT_POLICY"):
            DashboardSettings.from_env(env)
