"""Inference for logreg-json/1 artifacts, and the start-up self-check."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "logreg-json/1"
N_FEATURES = 64


class ModelError(Exception):
    """The artifact is not a usable model, or it failed the self-check."""


@dataclass(frozen=True)
class LogRegModel:
    """Multinomial logistic regression over standardised features."""

    classes: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> LogRegModel:
        if params.get("format") != FORMAT:
            raise ModelError(f"unsupported artifact format {params.get('format')!r}, expected {FORMAT}")
        model = cls(
            classes=np.asarray(params["classes"], dtype=np.int64),
            mean=np.asarray(params["scaler_mean"], dtype=np.float64),
            scale=np.asarray(params["scaler_scale"], dtype=np.float64),
            coef=np.asarray(params["coef"], dtype=np.float64),
            intercept=np.asarray(params["intercept"], dtype=np.float64),
        )
        n_classes = len(model.classes)
        expected = {
            "scaler_mean": (model.mean.shape, (N_FEATURES,)),
            "scaler_scale": (model.scale.shape, (N_FEATURES,)),
            "coef": (model.coef.shape, (n_classes, N_FEATURES)),
            "intercept": (model.intercept.shape, (n_classes,)),
        }
        for name, (shape, want) in expected.items():
            if shape != want:
                raise ModelError(f"artifact field {name} has shape {shape}, expected {want}")
        return model

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class per row. Softmax is monotonic, so argmax over the logits is
        the argmax over the class probabilities without computing them."""
        logits = ((x - self.mean) / self.scale) @ self.coef.T + self.intercept
        return self.classes[logits.argmax(axis=1)]

    def predict_one(self, features: Sequence[float]) -> int:
        return int(self.predict(np.asarray(features, dtype=np.float64)[None, :])[0])


def read_labeled(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Rows of {"features": [...], "label": int} -> (features, labels)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        raise ModelError(f"{path} has no labeled rows")
    features = np.asarray([row["features"] for row in rows], dtype=np.float64)
    labels = np.asarray([row["label"] for row in rows], dtype=np.int64)
    return features, labels


def accuracy(model: LogRegModel, features: np.ndarray, labels: np.ndarray) -> float:
    return float((model.predict(features) == labels).mean())


def self_check(model: LogRegModel, validation_file: Path, expected: float, tolerance: float) -> float:
    """Validation accuracy, which must be within tolerance of the manifest's.

    Catches an artifact that is intact but not the one its metrics describe,
    and an inference path that disagrees with the one the build measured.
    """
    measured = accuracy(model, *read_labeled(validation_file))
    if abs(measured - expected) > tolerance:
        raise ModelError(
            f"self-check failed: accuracy {measured:.4f} on {validation_file}, "
            f"manifest says {expected:.4f} (tolerance {tolerance})"
        )
    return measured
