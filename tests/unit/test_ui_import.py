"""Importing ``reactor_web.ui`` registers no Reflex memo: memos are registered when a page is built.

Reflex's AppHarness empties the memo registry when it starts an app. A memo registered at import, by a
package imported before the harness (as test modules do), was then left out of the build while the page
still imported it: Vite answered 500 for the page module and the page stayed blank (commit 386f530).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
from reflex_base.components.memo import MEMOS
import reactor_web.ui
at_import = [list(key) for key in MEMOS if (key[1] or "").startswith("reactor_web")]
MEMOS.clear()  # what AppHarness does before it imports the app
reactor_web.ui.reactor_controller()  # building the page
at_build = [list(key) for key in MEMOS if (key[1] or "").startswith("reactor_web")]
print(json.dumps([at_import, at_build]))
"""


def test_memos_are_registered_when_the_page_is_built_not_at_import() -> None:
    # A fresh interpreter: in this one, pages built by other tests may have registered memos already.
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    at_import, at_build = json.loads(out.stdout.strip().splitlines()[-1])
    assert at_import == []
    assert at_build, "the controller's upload field (a memo) was not registered by building the page"
