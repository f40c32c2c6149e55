"""Ways an artifact's bytes go bad, as pure functions of the good bytes.

- `bitflip`: the sign bit of every weight in the model's largest float tensor
  flipped. The ONNX file still parses and loads (only float payloads change,
  never a tag or a length) and its predictions change: only the checksum or a
  labelled self-check catches it.
- `truncate`: the first half of the file (the runtime refuses it: INVALID_PROTOBUF).
- `garbage`: as many pseudo-random bytes (fixed seed, so runs compare).

The weights are found by walking the protobuf wire format of ONNX's
ModelProto -> GraphProto -> initializer TensorProto (`float_data`, or
`raw_data` of a FLOAT tensor) and node AttributeProto (`floats`, `t`): no
`onnx` package needed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Literal

from harness.errors import BadInput

Mode = Literal["bitflip", "truncate", "garbage", "checksum"]
MODES: tuple[Mode, ...] = ("bitflip", "truncate", "garbage", "checksum")

_LEN, _FIXED32, _FIXED64, _VARINT = 2, 5, 1, 0
_FLOAT = 1  # TensorProto.DataType.FLOAT
Field = tuple[int, int, int, int, int]
"""(field number, wire type, value start, value end, varint value)."""


class NotOnnx(BadInput):
    """The bytes are not an ONNX model with float weights: bitflip cannot keep them loadable."""

    def __init__(self, why: str) -> None:
        super().__init__(
            f"bitflip needs an ONNX model (format onnx): {why}", "corrupt it with truncate, garbage or checksum"
        )


def corrupt(data: bytes, mode: Mode) -> bytes:
    """`data` gone bad the `mode` way; `checksum` leaves the bytes intact (the manifest is what is wrong)."""
    return _CORRUPTIONS[mode](data)


def bitflip(data: bytes) -> bytes:
    offsets = max(_float_groups(data), key=len, default=[])
    if not offsets:
        raise NotOnnx("no float weights found")
    flipped = bytearray(data)
    for offset in offsets:
        flipped[offset + 3] ^= 0x80  # little-endian float32: the sign bit is the top bit of the last byte
    return bytes(flipped)


def truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def garbage(data: bytes) -> bytes:
    return random.Random(1729).randbytes(len(data))


_CORRUPTIONS: dict[Mode, Callable[[bytes], bytes]] = {
    "bitflip": bitflip,
    "truncate": truncate,
    "garbage": garbage,
    "checksum": lambda data: data,
}


# --- the protobuf wire format, as far as ONNX's weights need it ----------------


def _float_groups(model: bytes) -> Iterator[list[int]]:
    """Offsets of the float32 values of each weight tensor or float-list attribute of an ONNX model."""
    try:
        for graph in _children(model, 0, len(model), 7):  # ModelProto.graph
            for start, end in _children(model, *graph, 5):  # GraphProto.initializer
                yield _tensor_floats(model, start, end)
            for node in _children(model, *graph, 1):  # GraphProto.node
                for attribute in _children(model, *node, 5):  # NodeProto.attribute
                    yield _repeated_floats(model, *attribute, 7)  # AttributeProto.floats
                    for tensor in _children(model, *attribute, 5):  # AttributeProto.t
                        yield _tensor_floats(model, *tensor)
    except (IndexError, ValueError) as error:
        raise NotOnnx(f"not a protobuf message: {error}") from error


def _tensor_floats(data: bytes, start: int, end: int) -> list[int]:
    fields = list(_fields(data, start, end))
    data_type = next((value for number, wire, _, _, value in fields if number == 2 and wire == _VARINT), None)
    if data_type != _FLOAT:
        return []
    raw = [(s, e) for number, wire, s, e, _ in fields if number == 9 and wire == _LEN]  # raw_data
    if raw:
        s, e = raw[0]
        return list(range(s, e - 3, 4))
    return _repeated_floats(data, start, end, 4)  # float_data


def _repeated_floats(data: bytes, start: int, end: int, number: int) -> list[int]:
    """A repeated float field, packed (one LEN record) or not (one fixed32 record per value)."""
    offsets: list[int] = []
    for field, wire, s, e, _ in _fields(data, start, end):
        if field != number:
            continue
        if wire == _FIXED32:
            offsets.append(s)
        elif wire == _LEN:
            offsets += range(s, e - 3, 4)
    return offsets


def _children(data: bytes, start: int, end: int, number: int) -> Iterator[tuple[int, int]]:
    for field, wire, s, e, _ in _fields(data, start, end):
        if field == number and wire == _LEN:
            yield s, e


def _fields(data: bytes, start: int, end: int) -> Iterator[Field]:
    position = start
    while position < end:
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, after = _varint(data, position)
            yield number, wire, position, after, value
        elif wire == _LEN:
            length, position = _varint(data, position)
            after = position + length
            if after > end:
                raise ValueError(f"field {number} runs past its message")
            yield number, wire, position, after, 0
        elif wire in (_FIXED32, _FIXED64):
            after = position + (4 if wire == _FIXED32 else 8)
            yield number, wire, position, after, 0
        else:
            raise ValueError(f"unsupported wire type {wire}")
        position = after


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")
