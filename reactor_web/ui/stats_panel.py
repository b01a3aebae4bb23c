"""``stats_panel()``: the connection's live stats, a one-minute chart of frame rate and RTT, the connection
timings (where the latest connect's time went, click to first frame shown), and the browser leg's stats.

Two legs, two sources: the GPU leg's stats come from the backend's client every 2 s (``ReactorState.stats``,
history in the state, so any worker can render it); the browser leg's from the page's own ``getStats`` via the
relay heartbeat (``ReactorState.browser_stats``). Everything is formatted here, in the backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import reflex as rx

from reactor_web.ui.state import ReactorState


@dataclass
class StatRow:
    label: str
    value: str
    test_id: str


def _ms(v: float) -> str:
    return f"{round(v, 1) + 0.0:.1f} ms"  # + 0.0: a rounded -0.04 reads "0.0", not "-0.0"


def _fps(v: float) -> str:
    return f"{v:.1f} fps"


def _bitrate(v: float) -> str:
    return f"{v / 1e6:.2f} Mbit/s" if v >= 1e6 else f"{v / 1e3:.0f} kbit/s"


def _percent(v: float) -> str:
    return f"{v * 100:.1f} %"


Formatter = Callable[[Any], str]
#: (key in ConnectionStats.to_dict(), label, format), in display order.
GPU_LEG: tuple[tuple[str, str, Formatter], ...] = (
    ("frames_per_second", "Frame rate", _fps),
    ("rtt", "Round-trip time", _ms),
    ("candidate_type", "ICE candidate", str),
    ("packet_loss_ratio", "Packet loss", _percent),
    ("jitter", "Jitter", lambda v: _ms(v * 1000)),
    ("inbound_bitrate", "Inbound", _bitrate),
    ("outbound_bitrate", "Outbound", _bitrate),
    ("available_outgoing_bitrate", "Available outgoing", _bitrate),
    ("protocol", "Wire protocol", str),
)
#: Where the latest connect's time went (``ReactorState.connect_breakdown``): the stages from the click to the
#: first frame shown add up to their total; the state update's path runs beside them.
BREAKDOWN: tuple[tuple[str, str, Formatter], ...] = (
    ("click_to_backend_ms", "Click → backend (websocket, event)", _ms),
    ("handler_ms", "Backend handler", _ms),
    ("session_creation_ms", "Session creation", _ms),
    ("transport_connecting_ms", "Transport connecting (offer, answer)", _ms),
    ("ice_dtls_ms", "ICE, DTLS, data channel", _ms),
    ("first_keyframe_ms", "Ready → first frame at the backend", _ms),
    ("relay_ms", "Relay (to the page's sender)", _ms),
    ("page_frame_ms", "Relay → frame shown in the page", _ms),
    ("click_to_frame_ms", "Click → first frame shown", _ms),
    ("ready_shown_ms", "Ready → shown in the page (state update)", _ms),
    ("click_to_ready_ms", "Click → ready shown", _ms),
    ("clock_error_ms", "Page ⇄ backend clock error (at most)", _ms),
)
#: The client's own totals (Part A §9), counted from its ``connect()``.
TIMINGS: tuple[tuple[str, str, Formatter], ...] = (
    ("total_ms", "Client connect → ready", _ms),
    ("first_frame_ms", "Client connect → first frame", _ms),
)
#: What the page's relay peer reports (reactor_web/ui/components.jsx, ``browserStats``).
BROWSER_LEG: tuple[tuple[str, str, Formatter], ...] = (
    ("frames_per_second", "Frame rate", _fps),
    ("rtt_ms", "Round-trip time", _ms),
    ("jitter", "Jitter", lambda v: _ms(v * 1000)),
    ("packets_lost", "Packets lost", str),
    ("frames_decoded", "Frames decoded", str),
    ("bytes_received", "Received", lambda v: f"{v / 1e6:.1f} MB"),
)


def rows(values: Mapping[str, Any] | None, spec: tuple[tuple[str, str, Formatter], ...], prefix: str) -> list[StatRow]:
    """One row per stat, "—" where the value is unknown (aiortc cannot measure some of them)."""
    values = values or {}
    return [
        StatRow(label, "—" if values.get(key) is None else fmt(values[key]), f"{prefix}-{key.replace('_', '-')}")
        for key, label, fmt in spec
    ]


def chart_point(stats: dict[str, Any]) -> dict[str, Any]:
    """``{"time": "HH:MM:SS", "fps", "rtt"}`` (recharts takes plain objects; a gap where a value is None)."""
    clock = time.strftime("%H:%M:%S", time.localtime(stats["timestamp"] / 1000))
    fps, rtt = stats.get("frames_per_second"), stats.get("rtt")
    return {"time": clock, "fps": None if fps is None else round(fps, 1), "rtt": None if rtt is None else round(rtt, 2)}


class StatsState(ReactorState):
    @rx.var
    def stats_history(self) -> list[dict[str, Any]]:
        """The last minute of samples, as the chart plots them (the session sends them with each ``stats``)."""
        return [chart_point(s) for s in self._stats_samples]

    @rx.var
    def gpu_rows(self) -> list[StatRow]:
        return rows(self.stats, GPU_LEG, "stat")

    @rx.var
    def timing_rows(self) -> list[StatRow]:
        return [
            *rows(self.connect_breakdown, BREAKDOWN, "timing"),
            *rows(self.stats.get("connection_timings"), TIMINGS, "timing"),
        ]

    @rx.var
    def browser_rows(self) -> list[StatRow]:
        modes = [
            StatRow("Relay mode (model video)", self.relay_mode or "—", "browser-relay-mode"),
            StatRow("Relay mode (camera)", self.camera_relay_mode or "—", "browser-camera-relay-mode"),
        ]
        return [*rows(self.browser_stats, BROWSER_LEG, "browser"), *modes]


def _table(title: str, data: Any) -> rx.Component:
    def row(r: Any) -> rx.Component:
        return rx.table.row(
            rx.table.cell(r.label),
            rx.table.cell(r.value, text_align="right", custom_attrs={"data-testid": r.test_id}),
        )

    return rx.vstack(
        rx.text(title, size="2", weight="bold"),
        rx.table.root(rx.table.body(rx.foreach(data, row)), size="1", width="100%"),
        width="100%",
        spacing="1",
    )


def _chart() -> rx.Component:
    return rx.recharts.line_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(data_key="time", tick={"fontSize": 11}),
        rx.recharts.y_axis(y_axis_id="fps", domain=[0, "auto"], tick={"fontSize": 11}),
        rx.recharts.y_axis(y_axis_id="rtt", orientation="right", domain=[0, "auto"], tick={"fontSize": 11}),
        rx.recharts.line(
            data_key="fps",
            name="Frame rate (fps)",
            y_axis_id="fps",
            stroke="var(--indigo-9)",
            dot=False,
            is_animation_active=False,
        ),
        rx.recharts.line(
            data_key="rtt",
            name="RTT (ms)",
            y_axis_id="rtt",
            stroke="var(--orange-9)",
            dot=False,
            is_animation_active=False,
        ),
        rx.recharts.legend(),
        rx.recharts.graphing_tooltip(),
        data=StatsState.stats_history,
        width="100%",
        height=220,
    )


def stats_panel() -> rx.Component:
    """Live stats of both legs; the chart fills in over the first minute of a connection."""
    return rx.vstack(
        rx.heading("Connection", size="4"),
        rx.box(_chart(), width="100%", id="stats-chart"),
        rx.grid(
            _table("Backend ⇄ model", StatsState.gpu_rows),
            rx.vstack(
                _table("Connection timings", StatsState.timing_rows),
                _table("Browser ⇄ backend", StatsState.browser_rows),
                width="100%",
            ),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="4",
            width="100%",
        ),
        width="100%",
        spacing="3",
        id="stats-panel",
    )
