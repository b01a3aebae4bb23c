"""The one decoder for untrusted JSON: each pathological input gets its documented code, nothing else raises,
and ordinary JSON (the JS SDK's frames, descriptors, schemas) decodes as ``json.loads`` would."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from reactor_web._aiortc import guarded
from reactor_web.protocol.envelope import decode_frame
from reactor_web.protocol.json_safe import MAX_JSON_DEPTH, JsonInputError, loads

REFUSED: list[tuple[str | bytes, str]] = [
    ("[" * 20_000 + "]" * 20_000, "DECODE_FAILED"),  # the input: RecursionError before
    ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "DECODE_FAILED"),
    ('{"a":' * 40 + "1" + "}" * 40, "DECODE_FAILED"),
    ('"\\ud800"', "DECODE_FAILED"),
    ('{"k\\udc00": 1}', "DECODE_FAILED"),  # in a key
    ('["ok", "\\ud83d"]', "DECODE_FAILED"),  # a high surrogate without its pair
    ("\ud800", "DECODE_FAILED"),  # a raw surrogate in the text itself
    (b'"\xed\xa0\x80"', "DECODE_FAILED"),  # a UTF-8-encoded surrogate (json.loads(bytes) accepts it)
    (b'"\xff"', "DECODE_FAILED"),
    ("1" * 100_000, "DECODE_FAILED"),
    ("-" + "1" * 41, "DECODE_FAILED"),
    ("1." + "0" * 100, "DECODE_FAILED"),
    ("1e999", "DECODE_FAILED"),
    ("-1e400", "DECODE_FAILED"),
    ("NaN", "DECODE_FAILED"),
    ("[Infinity]", "DECODE_FAILED"),
    ('{"x": -Infinity}', "DECODE_FAILED"),
    ("{nope", "DECODE_FAILED"),
    ("", "DECODE_FAILED"),
    ("x" * 1001, "MESSAGE_TOO_LARGE"),
    ("é" * 501, "MESSAGE_TOO_LARGE"),  # 1002 UTF-8 bytes in 501 characters
    (b"x" * 1001, "MESSAGE_TOO_LARGE"),
]


@pytest.mark.parametrize(("data", "code"), REFUSED)
def test_pathological_input_gets_its_code(data: str | bytes, code: str) -> None:
    with pytest.raises(JsonInputError) as refused:
        loads(data, max_bytes=1000 if code == "MESSAGE_TOO_LARGE" else 1_000_000, what="frame")
    assert refused.value.code == code and refused.value.message.startswith("frame")


@pytest.mark.parametrize(
    "text",
    [
        '{"scope":"application","data":{"type":"set_brightness","data":{"value":80}}}',
        '{"emoji":"\\ud83d\\ude00","raw":"😀","é":[1,2.5,-3e10,true,false,null]}',
        "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH,
        "12345678901234567890",
        '"' + "x" * 900 + '"',
    ],
)
def test_ordinary_json_decodes_as_json_loads_does(text: str) -> None:
    assert loads(text, max_bytes=1000) == json.loads(text)
    assert loads(text.encode(), max_bytes=1000) == json.loads(text)


def test_decode_frame_never_raises_and_keeps_refused_text_raw() -> None:
    deep = "[" * 20_000 + "]" * 20_000
    assert decode_frame(deep).payload == deep and decode_frame(deep).scope is None
    assert decode_frame(b"\xff").payload == b"\xff"
    assert decode_frame('{"scope":"runtime","data":{"type":"pong"}}').type == "pong"


async def test_guarded_handlers_log_instead_of_raising(caplog: pytest.LogCaptureFixture) -> None:
    def sync_handler(value: int) -> int:
        raise RecursionError("deep")

    async def async_handler(value: int) -> int:
        await asyncio.sleep(0)
        raise ValueError("bad")

    with caplog.at_level(logging.ERROR):
        assert guarded(sync_handler)(1) is None
        assert await guarded(async_handler)(1) is None
        assert guarded(lambda v: v + 1)(1) == 2
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [RecursionError, ValueError]
