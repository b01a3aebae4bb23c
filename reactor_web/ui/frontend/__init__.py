"""The components' JavaScript: ES modules importing each other (``./store.js``), shipped as Reflex shared assets.

How Reflex 0.10 ships them, and so the rule for this folder: ``rx.asset(name, shared=True)`` links a file that
sits beside the *calling* Python file into the app's ``assets/external/<calling module as folders>/`` (here
``assets/external/reactor_web/ui/frontend/``), one file per call and flat (a name with a folder in it fails: Reflex
creates no folder under that one); compiling then copies ``assets/`` into ``.web/public/``, where Vite imports the
copies, in dev (``reflex run``, AppHarness) as in prod (``--env prod``), and from an installed wheel alike. A
relative import between the modules therefore resolves only to a file declared here, so every ``.js`` / ``.jsx``
file of this folder is declared (the loop below takes them all; ``pyproject.toml`` ships them in the wheel), and
the folder has no subfolders.
"""

from pathlib import Path

import reflex as rx

#: Each module's import path for a component's ``library``, by file name (``MODULES["ReactorView.jsx"]`` is
#: ``"$/public/external/reactor_web/ui/frontend/ReactorView.jsx"``).
MODULES: dict[str, str] = {}
for _module in sorted(Path(__file__).parent.iterdir()):
    if _module.suffix in (".js", ".jsx"):
        MODULES[_module.name] = rx.asset(_module.name, shared=True).importable_path
