"""The embedded local runtime: a Reactor-compatible server with a CPU demo model.

It speaks both the JS SDK 2.9 local protocol (Part A) and reactor-runtime 3.x's connections flow
(Part B) over HTTP, with media and messages over aiortc WebRTC.
"""

from reactor_web.runtime.config import RuntimeConfig
from reactor_web.runtime.model import DemoModel
from reactor_web.runtime.process import RuntimeProcess, free_port
from reactor_web.runtime.serve import serve_runtime
from reactor_web.runtime.server import create_app

__all__ = ["DemoModel", "RuntimeConfig", "RuntimeProcess", "create_app", "free_port", "serve_runtime"]
