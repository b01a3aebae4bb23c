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
