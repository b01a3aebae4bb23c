"""An emulation of Reactor's production coordinator, for tests and local multi-user setups.

API keys mint HS256 JWTs (``POST /tokens``); sessions wait in line for one of N GPU workers (each a
child runtime process); transport calls are forwarded to the session's worker. See ``app.py`` for
the routes and ``queue.py`` for the session states.
"""

from reactor_web.runtime.coordinator.app import create_coordinator_app
from reactor_web.runtime.coordinator.config import CoordinatorConfig
from reactor_web.runtime.coordinator.serve import CoordinatorProcess, serve_coordinator

__all__ = ["CoordinatorConfig", "CoordinatorProcess", "create_coordinator_app", "serve_coordinator"]
