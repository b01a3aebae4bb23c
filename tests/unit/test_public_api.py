"""The public names are exactly what the API reference documents (as httpx's exported-members test).

Each of the three public modules lists its names in ``__all__``, and has a page in ``docs/reference/``: a
summary bullet per name (``* [`name`][path]: ...``, an autorefs link to its entry) and a mkdocstrings
directive (``::: path``) that generates the entry from the docstrings. Every exported name has both, the
directive documents that very object, and nothing else is listed. ``mkdocs build --strict`` (in
``scripts/test.sh``) then fails on a summary link whose entry was not generated.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"
PAGES = {
    "reactor_web": REFERENCE / "reactor_web.md",
    "reactor_web.ui": REFERENCE / "ui.md",
    "reactor_web.runtime": REFERENCE / "runtime.md",
}


def summary(page: Path) -> dict[str, str]:
    """``{name: reference path}`` from the page's summary bullets."""
    return dict(re.findall(r"^\* \[`(\w+)`\]\[([\w.]+)\]:", page.read_text(), re.M))


def directives(page: Path) -> list[str]:
    """The paths of the page's ``::: path`` directives, in order."""
    return re.findall(r"^::: ([\w.]+)$", page.read_text(), re.M)


def resolve(path: str) -> Any:
    """The object at a dotted path, as mkdocstrings names it: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(path)


def test_the_reference_has_a_page_per_public_module() -> None:
    index = (REFERENCE / "index.md").read_text()
    for module, page in PAGES.items():
        assert f"[`{module}`]({page.name})" in index


@pytest.mark.parametrize("module_name", sorted(PAGES))
def test_exported_members_are_the_documented_ones(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = set(module.__all__)
    assert len(exported) == len(module.__all__), "a name is listed twice in __all__"
    page = PAGES[module_name]
    listed = summary(page)
    assert set(listed) == exported, "the summary bullets and __all__ differ"
    generated = directives(page)
    assert len(generated) == len(set(generated)), "a name is generated twice"
    assert sorted(generated) == sorted(listed.values()), "each summary bullet links to its own generated entry"
    for name in exported:
        member = getattr(module, name)  # resolves (reactor_web loads the client lazily)
        path = listed[name]
        assert path.rsplit(".", 1)[1] == name, f"{name} is documented under another name: {path}"
        assert resolve(path) is member, f"{path} is not {module_name}.{name}"
        if inspect.isclass(member) or inspect.isfunction(member):
            assert inspect.getdoc(member), f"{module_name}.{name} has no docstring"


def test_last_errors_type_names_every_key_the_client_gives() -> None:
    from reactor_web import RefusalError
    from reactor_web.ui import ErrorInfo

    refusal = RefusalError("INVALID_IMAGE", "cannot decode", scope="application", command="set_image")
    assert set(ErrorInfo.__annotations__) == set(refusal.to_dict())
