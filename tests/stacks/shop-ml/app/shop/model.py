"""The model: nearest centroid over 4 features, 3 classes. Deterministic, no dependencies."""

from __future__ import annotations

import math
from typing import Any

MODEL_VERSION = "shop-v1"
FEATURES = 4
CENTROIDS: tuple[tuple[float, float, float, float], ...] = (
    (5.0, 3.4, 1.5, 0.2),
    (5.9, 2.8, 4.3, 1.3),
    (6.6, 3.0, 5.6, 2.0),
)


def parse_inputs(body: Any) -> list[float]:
    """The feature vector of a request body `{"inputs": [x1, x2, x3, x4]}`; ValueError says what is wrong."""
    if not isinstance(body, dict) or "inputs" not in body:
        raise ValueError('expected a JSON object {"inputs": [x1, x2, x3, x4]}')
    inputs = body["inputs"]
    if not isinstance(inputs, list) or len(inputs) != FEATURES:
        raise ValueError(f'"inputs" must be a list of {FEATURES} numbers')
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in inputs):
        raise ValueError(f'"inputs" must be a list of {FEATURES} finite numbers')
    return [float(x) for x in inputs]


def predict(inputs: list[float]) -> int:
    """The class whose centroid is nearest (squared Euclidean distance; ties go to the lower class)."""
    distances = [sum((x - c) ** 2 for x, c in zip(inputs, centroid)) for centroid in CENTROIDS]
    return distances.index(min(distances))
