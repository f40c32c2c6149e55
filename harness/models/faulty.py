"""A library of bad artifacts to push: a folder with `index.json` naming each one.

    {"degraded": {"file": "degraded.onnx", "accuracy": 0.48, "what": "labels of digits 5-9 rotated"},
     "crash-on-load": {"file": "crash-on-load.onnx", "accuracy": null, "what": "..."}}

`accuracy` is the artifact's true accuracy on the golden requests (null when
it has none: it does not load, or answers NaN); a push records it, so a
server's self-check passes on a degraded model that answers 200.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path

from harness.errors import BadInput

INDEX = "index.json"
_FORMAT = 'index.json maps a name to {"file": "degraded.onnx", "accuracy": 0.48 (or null), "what": "..."}'


@dataclass(frozen=True)
class FaultyArtifact:
    name: str
    file: Path
    accuracy: float | None
    what: str

    @property
    def format(self) -> str | None:
        return "onnx" if self.file.suffix == ".onnx" else None


class FaultyLibrary:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.artifacts = _read_index(folder)

    def get(self, name: str) -> FaultyArtifact:
        if name not in self.artifacts:
            close = get_close_matches(name, list(self.artifacts), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise BadInput(
                f"the faulty library {self.folder} has no artifact '{name}'",
                f"{hint}it has: {', '.join(sorted(self.artifacts))}",
            )
        return self.artifacts[name]


def _read_index(folder: Path) -> dict[str, FaultyArtifact]:
    path = folder / INDEX
    try:
        index = json.loads(path.read_text())
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror}", "faulty: names a folder holding index.json") from error
    except ValueError as error:
        raise BadInput(f"{path} is not JSON: {error}", _FORMAT) from error
    if not isinstance(index, dict) or not index:
        raise BadInput(f"{path}: expected a mapping of names to artifacts", _FORMAT)
    return {str(name): _artifact(path, str(name), entry) for name, entry in index.items()}


def _artifact(index: Path, name: str, entry: object) -> FaultyArtifact:
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        raise BadInput(f"{index}: '{name}' has no \"file\"", _FORMAT)
    accuracy = entry.get("accuracy")
    if accuracy is not None and (isinstance(accuracy, bool) or not isinstance(accuracy, (int, float))):
        raise BadInput(f"{index}: '{name}': accuracy {json.dumps(accuracy)} is not a number or null", _FORMAT)
    file = (index.parent / entry["file"]).resolve()
    if not file.is_relative_to(index.parent.resolve()) or not file.is_file():
        raise BadInput(f"{index}: '{name}': file {entry['file']} is not a file in {index.parent}", _FORMAT)
    return FaultyArtifact(name, file, None if accuracy is None else float(accuracy), str(entry.get("what", "")))
