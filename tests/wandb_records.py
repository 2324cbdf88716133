"""Reads a wandb run file (run-<id>.wandb) into wandb's own protobuf Records, for tests.

The file is wandb's transaction log: a 7-byte header (":W&B", 0xBEE1, version 0), then LevelDB-log framing in 32 KiB
blocks (each chunk: crc32 (4 bytes), length (2), type (1: full, 2: first, 3: middle, 4: last)). wandb 0.31 reads it
in its Go core only, so the framing is read here; every record is parsed with wandb.proto's Record message.
"""

from __future__ import annotations

import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32768
HEADER = struct.Struct("<4sHB")
CHUNK = struct.Struct("<IHB")


def read_records(path: Path) -> list[wandb_internal_pb2.Record]:
    data = Path(path).read_bytes()
    ident, magic, version = HEADER.unpack_from(data)
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), (ident, magic, version)
    records, pending, offset = [], b"", HEADER.size
    while offset + CHUNK.size <= len(data):
        left_in_block = BLOCK - offset % BLOCK
        if left_in_block < CHUNK.size:  # the block's tail is padding
            offset += left_in_block
            continue
        _, length, kind = CHUNK.unpack_from(data, offset)
        if kind == 0 and length == 0:  # zero padding at the end of a block or of a file still open
            offset += left_in_block
            continue
        body = data[offset + CHUNK.size:offset + CHUNK.size + length]
        offset += CHUNK.size + length
        pending = body if kind in (1, 2) else pending + body
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records
