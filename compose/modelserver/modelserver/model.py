"""Inference for ONNX artifacts with onnxruntime, and the labelled self-check.

An artifact has one input `features` (float32, N x 64) and two outputs,
`label` (int64, N) and `probabilities` (float32, N x classes); see
fixtures/build_models.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

N_FEATURES = 64
INPUT = "features"
OUTPUTS = ("label", "probabilities")


class ModelError(Exception):
    """The artifact is not a usable model, or it failed the self-check."""


class NonFiniteOutput(ModelError):
    """The model answered with NaN or infinite scores."""


def session_options() -> ort.SessionOptions:
    """One thread per session: the server has one core's worth of work, and
    a second session loaded aside during a reload must not steal the first's."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


@dataclass(frozen=True)
class OnnxModel:
    session: ort.InferenceSession

    @classmethod
    def from_bytes(cls, data: bytes) -> OnnxModel:
        """A runtime session on the artifact's bytes; the runtime refuses a
        truncated protobuf or an unknown operator here."""
        try:
            session = ort.InferenceSession(data, session_options(), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types (Fail, InvalidProtobuf, ...)
            raise ModelError(f"onnxruntime refused the artifact: {type(exc).__name__}: {exc}") from exc
        inputs = {arg.name: arg.shape for arg in session.get_inputs()}
        outputs = {arg.name for arg in session.get_outputs()}
        if list(inputs) != [INPUT] or inputs[INPUT][-1] != N_FEATURES or not set(OUTPUTS) <= outputs:
            raise ModelError(
                f"artifact signature is inputs {inputs}, outputs {sorted(outputs)}; "
                f"expected input {INPUT!r} [N, {N_FEATURES}] and outputs {', '.join(OUTPUTS)}"
            )
        return cls(session)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(label per row, True where the row's scores are all finite)."""
        labels, probabilities = self.session.run(list(OUTPUTS), {INPUT: np.asarray(x, dtype=np.float32)})
        return labels, np.isfinite(probabilities).all(axis=1)

    def predict_one(self, features: Sequence[float]) -> int:
        labels, finite = self.predict(np.asarray(features, dtype=np.float32)[None, :])
        if not finite[0]:
            raise NonFiniteOutput("the model returned non-finite scores (NaN or inf) for this input")
        return int(labels[0])


def read_labeled(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Rows of {"features": [...], "label": int} -> (features, labels)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise ModelError(f"{path} has no labeled rows")
    features = np.asarray([row["features"] for row in rows], dtype=np.float32)
    labels = np.asarray([row["label"] for row in rows], dtype=np.int64)
    return features, labels


def accuracy(model: OnnxModel, features: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows answered right with finite scores."""
    predicted, finite = model.predict(features)
    return float(((predicted == labels) & finite).mean())


def self_check(model: OnnxModel, validation_file: Path, expected: float, tolerance: float) -> float:
    """Validation accuracy, which must be within tolerance of the manifest's.

    Catches an artifact that is intact but not the one its metrics describe,
    an inference path that disagrees with the one the build measured, and a
    model with non-finite scores (never servable, whatever its manifest says).
    """
    features, labels = read_labeled(validation_file)
    _, finite = model.predict(features)
    if not finite.all():
        raise ModelError(
            f"self-check failed: non-finite scores (NaN or inf) on {int((~finite).sum())} of "
            f"{len(labels)} rows of {validation_file}"
        )
    measured = accuracy(model, features, labels)
    if abs(measured - expected) > tolerance:
        raise ModelError(
            f"self-check failed: accuracy {measured:.4f} on {validation_file}, "
            f"manifest says {expected:.4f} (tolerance {tolerance})"
        )
    return measured
