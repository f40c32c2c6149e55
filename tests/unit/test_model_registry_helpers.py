"""Registries for the model-registry tests, built in tmp folders: a schema-2 manifest and ONNX-shaped artifacts.

`onnx_model` writes the protobuf wire format of a small ModelProto by hand (no
`onnx` package): a LinearClassifier node whose `coefficients` attribute holds
the weights (unpacked floats, as onnx's proto2 writes them) and an
initializer whose raw_data holds the intercepts.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

WEIGHTS = [((index * 37) % 23 - 11) / 7.0 for index in range(64 * 10)]
INTERCEPTS = [0.5 - index / 10 for index in range(10)]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _len(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _varint(len(payload)) + payload


def _int(number: int, value: int) -> bytes:
    return _key(number, 0) + _varint(value)


def onnx_model(weights: list[float] = WEIGHTS, intercepts: list[float] = INTERCEPTS) -> bytes:
    floats = b"".join(_key(7, 5) + struct.pack("<f", weight) for weight in weights)
    attribute = _len(1, b"coefficients") + floats + _int(20, 6)
    node = _len(1, b"input") + _len(2, b"label") + _len(4, b"LinearClassifier") + _len(5, attribute)
    raw = struct.pack(f"<{len(intercepts)}f", *intercepts)
    tensor = _int(1, len(intercepts)) + _int(2, 1) + _len(8, b"intercepts") + _len(9, raw)
    graph = _len(1, node) + _len(2, b"digits") + _len(5, tensor)
    return _int(1, 8) + _len(8, _int(2, 17)) + _len(7, graph)


def weight_offsets(model: bytes) -> list[int]:
    """Where each coefficient float starts in `onnx_model()`'s bytes (found by their encoding)."""
    start = model.index(b"coefficients") + len(b"coefficients") + 1  # past the name and the first float's key
    return [start + index * 5 for index in range(len(WEIGHTS))]  # 1 key byte + 4 float bytes each


def make_registry(root: Path) -> Path:
    """champion -> v2, previous -> v1; v1 and v2 ONNX-shaped, written like a compact sorted manifest."""
    versions = {}
    for version, scale in (("v1", 1.0), ("v2", 2.0)):
        data = onnx_model([weight * scale for weight in WEIGHTS])
        (root / version).mkdir(parents=True)
        (root / version / "model.onnx").write_bytes(data)
        versions[version] = {
            "path": f"{version}/model.onnx",
            "sha256": hashlib.sha256(data).hexdigest(),
            "format": "onnx",
            "metrics": {"accuracy": 0.9 if version == "v1" else 0.98},
        }
    aliases = {"champion": "v2", "previous": "v1"}
    manifest = {"schema_version": 2, "model": "digits", "aliases": aliases, "versions": versions}
    (root / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, separators=(",", ":")))
    return root


def make_faulty(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "degraded.onnx").write_bytes(onnx_model([-weight for weight in WEIGHTS]))
    (folder / "crash-on-load.onnx").write_bytes(b"\x08\x08not a model")
    index = {
        "degraded": {"file": "degraded.onnx", "accuracy": 0.48, "what": "labels of digits 5-9 rotated"},
        "crash-on-load": {"file": "crash-on-load.onnx", "accuracy": None, "what": "the runtime refuses it"},
    }
    (folder / "index.json").write_text(json.dumps(index))
    return folder


def tree(root: Path, with_times: bool = False) -> dict[str, tuple[bytes | None, int, int]]:
    """Every path under `root` with its bytes (None for a folder), mode and (`with_times`) file mtime and inode."""
    snapshot: dict[str, tuple[bytes | None, int, int]] = {}
    for path in sorted([root, *root.rglob("*")]):
        info = os.lstat(path)
        content = None if path.is_dir() else path.read_bytes()
        stamp = info.st_mtime_ns + info.st_ino if with_times and content is not None else 0
        snapshot[str(path.relative_to(root))] = (content, info.st_mode, stamp)
    return snapshot
