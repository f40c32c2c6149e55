"""The FastAPI app: endpoints and the two background tasks.

The HTTP server is up before the model is: loading runs in a background task,
so /healthz answers at once and /readyz explains what is missing. A load
failure is final (the artifacts are immutable; retrying would only turn a
broken deploy into a flapping one): the server stays up, not ready, with the
reason in /readyz and the log. The store is checked every STORE_CHECK_INTERVAL
by a second task, so /readyz only reads a cached result and never waits on Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from .config import Settings
from .metrics import CONTENT_TYPE, ServerMetrics
from .middleware import ServingHeaders
from .model import N_FEATURES, LogRegModel, self_check
from .registry import Artifact, load_artifact
from .store import PredictionStore, StoreError

log = logging.getLogger(__name__)

STORE_CHECK_INTERVAL = 0.25
STORE_CLOSE_TIMEOUT = 2.0
"""Shutdown gives up on closing Redis and Sentinel connections after this long (a half-open one can hang)."""

Feature = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class PredictRequest(BaseModel):
    features: Annotated[list[Feature], Field(min_length=N_FEATURES, max_length=N_FEATURES)]


@dataclass(frozen=True)
class Loaded:
    artifact: Artifact
    model: LogRegModel


def load_model(settings: Settings) -> Loaded:
    """Resolve, verify, parse and self-check the configured model (blocking)."""
    artifact = load_artifact(settings.registry_dir, settings.model_alias)
    model = LogRegModel.from_params(artifact.params)
    measured = self_check(model, settings.validation_file, artifact.expected_accuracy, settings.self_check_tolerance)
    log.info(
        "loaded %s (alias %s, sha256 %s): validation accuracy %.4f",
        artifact.version,
        artifact.alias,
        artifact.sha256,
        measured,
    )
    return Loaded(artifact, model)


class Server:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = ServerMetrics()
        self.store = PredictionStore(
            settings.sentinels, settings.sentinel_master, settings.redis_routes, settings.store_timeout
        )
        self.loaded: Loaded | None = None
        self.model_error: str | None = "model is loading"
        self.store_error: str | None = "store not checked yet"

    @property
    def version(self) -> str:
        return self.loaded.artifact.version if self.loaded else "none"

    def identity(self) -> dict[str, str]:
        return {
            "X-Served-By": self.settings.server_name,
            "X-Model-Version": self.version,
            "X-Degraded": "true" if self.settings.degraded else "false",
        }

    async def load(self) -> None:
        try:
            self.loaded = await asyncio.to_thread(load_model, self.settings)
        except Exception as exc:
            self.model_error = f"model load failed: {type(exc).__name__}: {exc}"
            log.error("%s; staying up, not ready", self.model_error)
            return
        self.model_error = None
        self.metrics.model_ready.set(1)
        self.metrics.model_info.info(
            {
                "server": self.settings.server_name,
                "version": self.loaded.artifact.version,
                "alias": self.loaded.artifact.alias,
                "sha256": self.loaded.artifact.sha256,
                "degraded": str(self.settings.degraded).lower(),
            }
        )

    async def watch_store(self) -> None:
        while True:
            try:
                await self.store.check()
                error = None
            except StoreError as exc:
                error = str(exc)
            except Exception as exc:  # the watcher must outlive any surprise
                log.exception("store check crashed")
                error = f"store check failed: {type(exc).__name__}: {exc}"
            if error != self.store_error:
                level = logging.WARNING if error else logging.INFO
                log.log(level, "store: %s", error or f"ok, primary {self.store.primary}")
            self.store_error = error
            self.metrics.store_ready.set(error is None)
            await asyncio.sleep(STORE_CHECK_INTERVAL)

    @asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(self.load()), asyncio.create_task(self.watch_store())]
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await asyncio.wait_for(self.store.close(), STORE_CLOSE_TIMEOUT)
        except TimeoutError:
            log.warning("store: connections not closed within %.0f s; exiting anyway", STORE_CLOSE_TIMEOUT)

    async def predict(self, body: PredictRequest, request: Request) -> JSONResponse:
        loaded = self.loaded
        if loaded is None:
            return JSONResponse({"error": "not ready", "reason": self.model_error}, status_code=503)
        request_id = request.state.request_id
        prediction = loaded.model.predict_one(body.features)
        record = {
            "id": request_id,
            "version": loaded.artifact.version,
            "server": self.settings.server_name,
            "prediction": prediction,
            "t": time.time(),
        }
        try:
            await self.store.write(f"pred:{request_id}", json.dumps(record))
        except StoreError as exc:
            self.metrics.store_write_failures.inc()
            log.warning("prediction %s not stored: %s", request_id, exc)
            return JSONResponse({"error": "prediction not stored", "reason": str(exc)}, status_code=503)
        return JSONResponse(
            {
                "prediction": prediction,
                "model_version": loaded.artifact.version,
                "server": self.settings.server_name,
                "degraded": self.settings.degraded,
                "request_id": request_id,
            }
        )

    async def healthz(self) -> JSONResponse:
        return JSONResponse({"alive": True, "server": self.settings.server_name})

    async def readyz(self) -> JSONResponse:
        reasons = [reason for reason in (self.model_error, self.store_error) if reason]
        body: dict[str, Any] = {
            "ready": not reasons,
            "server": self.settings.server_name,
            "version": self.version,
            "primary": self.store.primary,
        }
        if reasons:
            body["reason"] = "; ".join(reasons)
        return JSONResponse(body, status_code=503 if reasons else 200)

    async def version_info(self) -> JSONResponse:
        artifact = self.loaded.artifact if self.loaded else None
        return JSONResponse(
            {
                "server": self.settings.server_name,
                "version": self.version,
                "alias": self.settings.model_alias,
                "sha256": artifact.sha256 if artifact else None,
                "degraded": self.settings.degraded,
            }
        )

    async def metrics_text(self) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)


def create_app(settings: Settings) -> FastAPI:
    server = Server(settings)
    app = FastAPI(lifespan=server.lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(ServingHeaders, identity=server.identity, metrics=server.metrics)
    app.add_api_route("/predict", server.predict, methods=["POST"])
    app.add_api_route("/healthz", server.healthz, methods=["GET"])
    app.add_api_route("/readyz", server.readyz, methods=["GET"])
    app.add_api_route("/version", server.version_info, methods=["GET"])
    app.add_api_route("/metrics", server.metrics_text, methods=["GET"])
    return app
