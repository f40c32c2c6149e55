"""Prometheus metrics, kept in a registry per app so several apps can coexist
in one process (tests) without colliding in the global default registry."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest

CONTENT_TYPE = CONTENT_TYPE_LATEST
PATHS = frozenset({"/predict", "/healthz", "/readyz", "/version", "/metrics"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "modelserver_requests", "HTTP responses by path and status", ["path", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "modelserver_request_duration_seconds",
            "Time to serve a request, by path",
            ["path"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.store_write_failures = Counter(
            "modelserver_store_write_failures", "Predictions the primary did not acknowledge", registry=self.registry
        )
        self.model_ready = Gauge(
            "modelserver_model_ready", "1 once the model is loaded, verified and self-checked", registry=self.registry
        )
        self.store_ready = Gauge(
            "modelserver_store_ready", "1 when the last store check reached the primary", registry=self.registry
        )
        self.model_reloads = Counter(
            "model_reloads",
            "Model (re)load attempts by outcome: ok, failed (the served model stays), registry_error",
            ["outcome"],
            registry=self.registry,
        )
        self.nonfinite_outputs = Counter(
            "modelserver_nonfinite_outputs",
            "Predictions refused with 500 because the model's scores were NaN or infinite",
            registry=self.registry,
        )
        self.shed = Counter(
            "modelserver_shed_requests",
            "Predictions refused with 503 because no inference slot freed within QUEUE_WAIT",
            registry=self.registry,
        )
        self.model_info = Info("modelserver_model", "The model this server serves", registry=self.registry)

    def count_reload(self, outcome: str) -> None:
        self.model_reloads.labels(outcome).inc()

    def observe(self, path: str, status: int, seconds: float) -> None:
        label = path if path in PATHS else "other"
        self.requests.labels(label, str(status)).inc()
        self.latency.labels(label).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
