"""How the stats panel formats the client's stats and charts them."""

from __future__ import annotations

from reactor_web.ui.stats_panel import BROWSER_LEG, GPU_LEG, chart_point, rows


def test_stats_rows_show_a_dash_for_what_is_unknown() -> None:
    shown = rows({"frames_per_second": 29.96, "rtt": 1.234, "inbound_bitrate": 2_500_000}, GPU_LEG, "stat")
    values = {row.test_id: row.value for row in shown}
    assert values["stat-frames-per-second"] == "30.0 fps"
    assert values["stat-rtt"] == "1.2 ms"
    assert values["stat-inbound-bitrate"] == "2.50 Mbit/s"
    assert values["stat-available-outgoing-bitrate"] == "—"
    assert all(row.value == "—" for row in rows(None, BROWSER_LEG, "browser"))


def test_a_chart_point_has_a_time_label_and_leaves_gaps_for_missing_values() -> None:
    point = chart_point({"timestamp": 1_700_000_000_000, "frames_per_second": 29.94, "rtt": None})
    assert point["fps"] == 29.9 and point["rtt"] is None
    assert len(point["time"]) == 8 and point["time"].count(":") == 2
