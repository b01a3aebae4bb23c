"""The v1 wire schema (package ``reactor_wire.v1``, shared/reactor-protocol.md Part C): the ``.proto`` files and
the modules ``protoc`` generates from them (``scripts/gen_protos.py``; do not edit the ``_pb2`` files by hand).

Only :mod:`reactor_web.protocol.codec_v1` uses them; everything else speaks :mod:`reactor_web.protocol.messages`.
These modules register the ``reactor_wire.v1`` names in protobuf's default descriptor pool, as reactor-runtime's
own generated ``reactor_wire`` package does: the two cannot be imported into one Python process.
"""
