"""``ReactorState.on_message`` overrides: every subclass that overrides it is called for every message."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import reflex as rx
from reflex.state import State, reload_state_module

from reactor_web.ui import ReactorState


@pytest.fixture(scope="module")
def pages() -> Iterator[SimpleNamespace]:
    """Three pages' states. Defined here, not at import: collected with the other tests, they would join the
    apps that browser tests compile in this process."""

    class PingLog(ReactorState):
        seen: list[str] = []

        def on_message(self, message: Any) -> None:
            self.seen = [*self.seen, message["type"]]

    class OtherPage(ReactorState):
        count: int = 0

        def on_message(self, message: Any) -> None:
            self.count += 1

    class Broken(ReactorState):
        def on_message(self, message: Any) -> None:
            raise RuntimeError("a user's bug")

    yield SimpleNamespace(PingLog=PingLog, OtherPage=OtherPage, Broken=Broken)
    # Reflex files states defined in a function under one module of its own; forget this test's.
    reload_state_module(module=PingLog.__module__)


def _tree() -> rx.State:
    return State(_reflex_internal_init=True)


def _substate(root: rx.State, cls: type[rx.State]) -> Any:
    return root.get_substate(cls.get_full_name().split(".")[1:])


async def test_every_override_is_called_for_every_message_in_order(pages: SimpleNamespace) -> None:
    root = _tree()
    base = _substate(root, ReactorState)
    messages = [{"type": "state_update", "data": {}}, {"type": "pong", "data": {"frame": 3}}]

    await base._deliver(messages)
    await base._deliver([{"type": "pong", "data": {"frame": 4}}])

    assert _substate(root, pages.PingLog).seen == ["state_update", "pong", "pong"]
    assert _substate(root, pages.OtherPage).count == 3
    assert [m["type"] for m in base.messages] == ["state_update", "pong", "pong"]


async def test_a_failing_override_costs_no_message_to_the_others(pages: SimpleNamespace) -> None:
    root = _tree()
    await _substate(root, ReactorState)._deliver([{"type": "pong"}, {"type": "pong"}])
    assert _substate(root, pages.PingLog).seen == ["pong", "pong"]
    assert _substate(root, pages.OtherPage).count == 2


async def test_subclass_sees_the_sessions_fields(pages: SimpleNamespace) -> None:
    """A subclass reads (and its components bind to) the same status, messages and errors as ReactorState."""
    root = _tree()
    base, sub = _substate(root, ReactorState), _substate(root, pages.PingLog)
    base.status = "ready"
    await base._deliver([{"type": "pong"}])
    assert sub.status == "ready"
    assert sub.messages == [{"type": "pong"}]
    assert pages.PingLog.status._js_expr == ReactorState.status._js_expr
