"""Compile the v1 wire schema (``reactor_web/protocol/pb/*.proto``) with ``protoc`` from the grpcio-tools wheel.

Writes ``*_pb2.py`` and their ``.pyi`` stubs next to the ``.proto`` files (or under ``--out``, which a unit
test uses to check that the committed modules are what this produces). Run from anywhere:

    python scripts/gen_protos.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTO_DIR = ROOT / "reactor_web" / "protocol" / "pb"


def proto_files() -> list[Path]:
    return sorted(PROTO_DIR.glob("*.proto"))


def generate(out: Path) -> None:
    """Compile every schema file into ``out`` (laid out by package path, as protoc does); raise on failure."""
    out.mkdir(parents=True, exist_ok=True)
    well_known = resources.files("grpc_tools") / "_proto"  # google/protobuf/struct.proto
    args = [
        "protoc",
        f"-I{ROOT}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        *(str(p.relative_to(ROOT)) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed: {' '.join(args)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT, help="output root (default: the checkout)")
    args = parser.parse_args()
    generate(args.out.resolve())


if __name__ == "__main__":
    sys.exit(main())
