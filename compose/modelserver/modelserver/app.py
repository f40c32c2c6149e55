"""The FastAPI app: endpoints and the two background tasks.

The HTTP server is up before the model is: the reloader (reload.py) loads it
in the background, so /healthz answers at once and /readyz explains what is
missing. The reloader keeps following the registry: a new version is loaded
aside, verified and swapped in; one that fails leaves the served model in
place and its reason in /readyz (`reload_error`). The server is never ready
without a verified model. The store is checked every STORE_CHECK_INTERVAL by
a second task, so /readyz only reads a cached result and never waits on Redis.

/predict answers malformed requests with 4xx and a message (400 bad JSON,
413 too large, 422 wrong features), never 5xx.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config import Settings
from .metrics import CONTENT_TYPE, ServerMetrics
from .middleware import ServingHeaders
from .model import N_FEATURES, NonFiniteOutput
from .reload import Loaded, Reloader
from .store import PredictionStore, StoreError

log = logging.getLogger(__name__)

STORE_CHECK_INTERVAL = 0.1
"""After a store failover /readyz turns ready at most this long after the Sentinels name the new primary
(one Sentinel query and one PING per check)."""
STORE_CLOSE_TIMEOUT = 2.0
"""Shutdown gives up on closing Redis and Sentinel connections after this long (a half-open one can hang)."""

Feature = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    features: Annotated[list[Feature], Field(min_length=N_FEATURES, max_length=N_FEATURES)]


class BadRequest(Exception):
    """A request the server refuses with a 4xx status and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON (use a finite number)")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) past `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"body of {declared} bytes is over the limit of {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadRequest(413, f"body is over the limit of {limit} bytes")
    return bytes(body)


def parse_predict(body: bytes) -> PredictRequest:
    if not body.strip():
        raise BadRequest(400, 'empty body: expected JSON {"features": [64 numbers]}')
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(400, f"body is not valid JSON: {exc}") from None
    try:
        return PredictRequest.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}" for error in exc.errors()[:5]
        )
        raise BadRequest(422, f'expected {{"features": [{N_FEATURES} finite numbers]}}: {problems}') from None


class Server:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = ServerMetrics()
        self.inference_slots = asyncio.Semaphore(settings.max_inferences)
        self.store = PredictionStore(
            settings.sentinels, settings.sentinel_master, settings.redis_routes, settings.store_timeout
        )
        self.reloader = Reloader(settings, self.metrics.count_reload, self.swapped)
        self.store_error: str | None = "store not checked yet"

    @property
    def version(self) -> str:
        loaded = self.reloader.current
        return loaded.version if loaded else "none"

    @property
    def model_error(self) -> str | None:
        """Why no model is served (None once one is)."""
        if self.reloader.current is not None:
            return None
        return self.reloader.error or "model is loading"

    def identity(self) -> dict[str, str]:
        return {
            "X-Served-By": self.settings.server_name,
            "X-Model-Version": self.version,
            "X-Degraded": "true" if self.settings.degraded else "false",
        }

    def swapped(self, loaded: Loaded) -> None:
        log.info(
            "serving %s (alias %s, sha256 %s): validation accuracy %.4f, loaded in %.3f s",
            loaded.version,
            loaded.alias,
            loaded.sha256,
            loaded.accuracy,
            loaded.seconds,
        )
        self.metrics.model_ready.set(1)
        self.metrics.model_info.info(
            {
                "server": self.settings.server_name,
                "version": loaded.version,
                "alias": loaded.alias,
                "sha256": loaded.sha256,
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
        tasks = [asyncio.create_task(self.reloader.run()), asyncio.create_task(self.watch_store())]
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await asyncio.wait_for(self.store.close(), STORE_CLOSE_TIMEOUT)
        except TimeoutError:
            log.warning("store: connections not closed within %.0f s; exiting anyway", STORE_CLOSE_TIMEOUT)

    async def predict(self, request: Request) -> JSONResponse:
        try:
            body = parse_predict(await read_body(request, self.settings.max_body_bytes))
        except BadRequest as exc:
            return JSONResponse({"error": "bad request", "reason": str(exc)}, status_code=exc.status)
        try:
            await asyncio.wait_for(self.inference_slots.acquire(), self.settings.queue_wait)
        except TimeoutError:
            self.metrics.shed.inc()
            why = f"no inference slot within {self.settings.queue_wait:g}s ({self.settings.max_inferences} busy)"
            return JSONResponse({"error": "overloaded", "reason": why}, status_code=503)
        try:
            return await self._predict(body, request)
        finally:
            self.inference_slots.release()

    async def _predict(self, body: PredictRequest, request: Request) -> JSONResponse:
        loaded = self.reloader.current  # this request finishes on this model, whatever a swap does meanwhile
        if loaded is None:
            return JSONResponse({"error": "not ready", "reason": self.model_error}, status_code=503)
        try:
            prediction = await asyncio.to_thread(loaded.model.predict_one, body.features)
        except NonFiniteOutput as exc:
            self.metrics.nonfinite_outputs.inc()
            log.error("%s %s: %s", loaded.version, request.state.request_id, exc)
            return JSONResponse({"error": "model output not finite", "reason": str(exc)}, status_code=500)
        request_id = request.state.request_id
        record = {
            "id": request_id,
            "version": loaded.version,
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
                "model_version": loaded.version,
                "server": self.settings.server_name,
                "degraded": self.settings.degraded,
                "request_id": request_id,
            }
        )

    async def healthz(self) -> JSONResponse:
        return JSONResponse(
            {
                "alive": True,
                "server": self.settings.server_name,
                "version": self.version,
                "reload_error": self.reloader.error,
            }
        )

    async def readyz(self) -> JSONResponse:
        reasons = [reason for reason in (self.model_error, self.store_error) if reason]
        body: dict[str, Any] = {
            "ready": not reasons,
            "server": self.settings.server_name,
            "version": self.version,
            "primary": self.store.primary,
            "reload_error": self.reloader.error,
        }
        if reasons:
            body["reason"] = "; ".join(reasons)
        return JSONResponse(body, status_code=503 if reasons else 200)

    async def version_info(self) -> JSONResponse:
        loaded = self.reloader.current
        return JSONResponse(
            {
                "server": self.settings.server_name,
                "version": self.version,
                "alias": loaded.alias if loaded else None,
                "aliases": list(self.settings.model_aliases),
                "sha256": loaded.sha256 if loaded else None,
                "degraded": self.settings.degraded,
                "reload_error": self.reloader.error,
            }
        )

    async def metrics_text(self) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)


def create_app(settings: Settings) -> FastAPI:
    server = Server(settings)
    app = FastAPI(lifespan=server.lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.server = server
    app.add_middleware(ServingHeaders, identity=server.identity, metrics=server.metrics)
    app.add_api_route("/predict", server.predict, methods=["POST"])
    app.add_api_route("/healthz", server.healthz, methods=["GET"])
    app.add_api_route("/readyz", server.readyz, methods=["GET"])
    app.add_api_route("/version", server.version_info, methods=["GET"])
    app.add_api_route("/metrics", server.metrics_text, methods=["GET"])
    return app
