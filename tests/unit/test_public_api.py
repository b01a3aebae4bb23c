"""The public names are exactly what the README's "Public API" section documents (as httpx's exported-members test).

Each of the three public modules lists its names in ``__all__``; every one of them exists, is documented in the
README under the module's heading, and nothing else is.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
MODULES = ["reactor_web", "reactor_web.ui", "reactor_web.runtime"]


def documented_names() -> dict[str, set[str]]:
    """``{module: names}`` from the README: each ``### `module``` heading, then its ``* `name`: ...`` bullets."""
    text = README.read_text()
    section = text.split("\n## Public API\n", 1)[1].split("\n## ", 1)[0]
    names: dict[str, set[str]] = {}
    module = None
    for line in section.splitlines():
        if heading := re.match(r"### `([\w.]+)`$", line):
            module = heading[1]
            names[module] = set()
        elif (bullet := re.match(r"\* `(\w+)`:", line)) and module is not None:
            names[module].add(bullet[1])
    return names


def test_the_readme_documents_each_public_module() -> None:
    assert sorted(documented_names()) == sorted(MODULES)


@pytest.mark.parametrize("module_name", MODULES)
def test_exported_members_are_the_documented_ones(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = set(module.__all__)
    assert len(exported) == len(module.__all__), "a name is listed twice in __all__"
    assert exported == documented_names()[module_name]
    for name in exported:
        member = getattr(module, name)  # resolves (reactor_web loads the client lazily)
        if inspect.isclass(member) or inspect.isfunction(member):
            assert inspect.getdoc(member), f"{module_name}.{name} has no docstring"


def test_last_errors_type_names_every_key_the_client_gives() -> None:
    from reactor_web import RefusalError
    from reactor_web.ui import ErrorInfo

    refusal = RefusalError("INVALID_IMAGE", "cannot decode", scope="application", command="set_image")
    assert set(ErrorInfo.__annotations__) == set(refusal.to_dict())
