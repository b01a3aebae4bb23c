"""``ReactorState.on_message`` overrides: every subclass that overrides it is called for every message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import reflex as rx
from reflex.state import State, reload_state_module

from reactor_web.ui import ReactorState


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


@pytest.fixture(scope="module", autouse=True)
def _forget_test_states() -> Iterator[None]:
    # These states are this module's: keep them out of the apps later tests compile in this process.
    yield
    reload_state_module(module=__name__)


def _tree() -> rx.State:
    return State(_reflex_internal_init=True)


def _substate(root: rx.State, cls: type[rx.State]) -> Any:
    return root.get_substate(cls.get_full_name().split(".")[1:])


async def test_every_override_is_called_for_every_message_in_order() -> None:
    root = _tree()
    base = _substate(root, ReactorState)
    messages = [{"type": "state_update", "data": {}}, {"type": "pong", "data": {"frame": 3}}]

    await base._deliver(messages)
    await base._deliver([{"type": "pong", "data": {"frame": 4}}])

    assert _substate(root, PingLog).seen == ["state_update", "pong", "pong"]
    assert _substate(root, OtherPage).count == 3
    assert [m["type"] for m in base.messages] == ["state_update", "pong", "pong"]


async def test_a_failing_override_costs_no_message_to_the_others() -> None:
    root = _tree()
    await _substate(root, ReactorState)._deliver([{"type": "pong"}, {"type": "pong"}])
    assert _substate(root, PingLog).seen == ["pong", "pong"]
    assert _substate(root, OtherPage).count == 2


async def test_subclass_sees_the_sessions_fields() -> None:
    """A subclass reads (and its components bind to) the same status, messages and errors as ReactorState."""
    root = _tree()
    base, sub = _substate(root, ReactorState), _substate(root, PingLog)
    base.status = "ready"
    await base._deliver([{"type": "pong"}])
    assert sub.status == "ready"
    assert sub.messages == [{"type": "pong"}]
    assert PingLog.status._js_expr == ReactorState.status._js_expr
