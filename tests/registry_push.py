"""Adding a model version to a registry folder the way a training pipeline would, for the model server's tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from modelserver.registry import read_manifest, write_manifest


def push(registry: Path, version: str, data: bytes, accuracy: float | None, sha256: str | None = None) -> Path:
    """Add a version whose manifest entry names `sha256` (default: the data's) and write its file."""
    path = registry / version / "model.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    manifest = read_manifest(registry)
    manifest["versions"][version] = {
        "path": f"{version}/model.onnx",
        "sha256": sha256 or hashlib.sha256(data).hexdigest(),
        "format": "onnx",
        "metrics": {"accuracy": accuracy, "n_train": 0},
        "created_from": "test push",
    }
    write_manifest(registry, manifest)
    return path
