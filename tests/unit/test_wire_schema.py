"""The v1 wire schema: the committed generated modules are what protoc makes of the ``.proto`` files, and the
schema matches reactor-runtime 3.10's own ``reactor_wire.v1`` field by field (when ``.venv-interop`` is there)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor

from reactor_web.protocol.pb import (
    common_pb2,
    control_pb2,
    data_pb2,
    model_pb2,
    platform_pb2,
    step_pb2,
    track_pb2,
)

ROOT = Path(__file__).resolve().parents[2]
PB_DIR = ROOT / "reactor_web" / "protocol" / "pb"
INTEROP_PYTHON = ROOT / ".venv-interop" / "bin" / "python"
OURS = {
    m.__name__.rsplit(".", 1)[1]: m.DESCRIPTOR
    for m in (common_pb2, control_pb2, data_pb2, model_pb2, platform_pb2, step_pb2, track_pb2)
}

# Prints, for each reactor_wire.v1 module of the wheel, its FileDescriptorProto (serialised, hex).
_DUMP_THEIRS = """
import json
from google.protobuf import descriptor_pb2
from reactor_wire.v1 import common_pb2, control_pb2, data_pb2, model_pb2, platform_pb2, step_pb2, track_pb2
out = {}
for m in (common_pb2, control_pb2, data_pb2, model_pb2, platform_pb2, step_pb2, track_pb2):
    proto = descriptor_pb2.FileDescriptorProto()
    m.DESCRIPTOR.CopyToProto(proto)
    out[m.__name__.rsplit(".", 1)[1]] = proto.SerializeToString().hex()
print(json.dumps(out))
"""


def test_the_committed_modules_are_what_protoc_generates(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from gen_protos import generate
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    generate(tmp_path)
    fresh = tmp_path / "reactor_web" / "protocol" / "pb"
    made = sorted(p.name for p in fresh.iterdir())
    committed = sorted(p.name for p in PB_DIR.iterdir() if p.name.endswith(("_pb2.py", "_pb2.pyi")))
    assert made == committed
    stale = [name for name in made if (fresh / name).read_bytes() != (PB_DIR / name).read_bytes()]
    assert not stale, f"regenerate with `python scripts/gen_protos.py`: {stale} differ from protoc's output"


def _shape(file: descriptor_pb2.FileDescriptorProto) -> dict[str, Any]:
    """What the wire depends on, keyed by name: every message's fields (number, type, label, message or enum
    type, oneof, explicit presence, map entries) and every enum's values. File names are left out (ours live
    under reactor_web/: see reactor_web/protocol/pb/__init__.py), and so are JSON names (the binary wire has none)."""

    def message(msg: descriptor_pb2.DescriptorProto) -> dict[str, Any]:
        oneofs = [o.name for o in msg.oneof_decl]
        return {
            "fields": {
                f.name: {
                    "number": f.number,
                    "type": f.type,
                    "label": f.label,
                    "type_name": f.type_name,
                    "oneof": oneofs[f.oneof_index] if f.HasField("oneof_index") else None,
                    "proto3_optional": f.proto3_optional,
                }
                for f in msg.field
            },
            "map_entry": msg.options.map_entry,
            "nested": {n.name: message(n) for n in msg.nested_type},
            "enums": {e.name: {v.name: v.number for v in e.value} for e in msg.enum_type},
        }

    return {
        "package": file.package,
        "syntax": file.syntax,
        "messages": {m.name: message(m) for m in file.message_type},
        "enums": {e.name: {v.name: v.number for v in e.value} for e in file.enum_type},
    }


def _proto(descriptor: FileDescriptor) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    descriptor.CopyToProto(proto)
    return proto


def test_the_schema_matches_reactor_runtimes_field_by_field() -> None:
    if not INTEROP_PYTHON.exists():
        pytest.skip("no .venv-interop (scripts/setup_interop.sh): reactor-runtime's reactor_wire is not here")
    result = subprocess.run(
        [str(INTEROP_PYTHON), "-c", _DUMP_THEIRS], capture_output=True, text=True, timeout=60, check=True
    )
    theirs = json.loads(result.stdout)
    assert sorted(theirs) == sorted(OURS)
    for name, hex_proto in theirs.items():
        their_file = descriptor_pb2.FileDescriptorProto.FromString(bytes.fromhex(hex_proto))
        assert _shape(_proto(OURS[name])) == _shape(their_file), f"{name}.proto differs from reactor-runtime's"


def test_a_frame_reactor_sdk_would_send_parses() -> None:
    """Bytes as protobuf lays them out for ``DataClientMessage{request_id "data_1", REQUEST, command ping {seq 7}}``
    (field 1, 2, then 10), independently of our classes' own serialiser."""
    frame = b"\n\x06data_1\x10\x01R\x1a\n\x04ping\x12\x12\n\x10\n\x03seq\x12\t\x11\x00\x00\x00\x00\x00\x00\x1c@"
    message = data_pb2.DataClientMessage.FromString(frame)
    assert message.request_id == "data_1"
    assert message.kind == common_pb2.MESSAGE_KIND_REQUEST
    assert message.WhichOneof("payload") == "command"
    assert message.command.type == "ping"
    assert message.command.data["seq"] == 7.0
