"""Shifting a share of the gateway's traffic to the canary replica, and restoring it."""

from __future__ import annotations

import logging

from .haproxy import RuntimeApi, RuntimeApiError, canary_weights

log = logging.getLogger(__name__)


class WeightShifter:
    """Sets canary weights through the runtime API and restores each server's initial weight.

    Weights count as shifted from the start: a guardian killed mid-canary may have left them so,
    and the first restore (when no canary runs) puts them back. A restore that fails (HAProxy
    restarting) is retried by `retry`. Without a runtime API the canary runs on its normal share.
    """

    def __init__(self, api: RuntimeApi | None, servers: list[str], canary: str, share: float) -> None:
        self._api = api
        self._servers = servers
        self._canary = canary
        self._share = share
        self._shifted = api is not None
        self._last_error: str | None = None

    def shift(self) -> dict[str, object]:
        if self._api is None:
            return {"weights": None, "why": "no runtime API configured"}
        weights = canary_weights(self._servers, self._canary, self._share)
        self._shifted = True
        try:
            for server, weight in weights.items():
                self._api.set_weight(server, weight)
        except RuntimeApiError as exc:
            log.warning("canary weights not set: %s", exc)
            return {"weights": None, "error": str(exc)}
        return {"weights": weights, "canary_share": self._share}

    def restore(self) -> dict[str, object]:
        if self._api is None:
            return {"weights_restored": None}
        try:
            restored = {}
            for server in self._servers:
                _, initial = self._api.weight(server)
                self._api.set_weight(server, initial)
                restored[server] = initial
        except RuntimeApiError as exc:
            if str(exc) != self._last_error:
                log.warning("weights not restored yet (retrying): %s", exc)
            self._last_error = str(exc)
            return {"weights_restored": None, "error": str(exc)}
        self._shifted = False
        self._last_error = None
        return {"weights_restored": restored}

    def retry(self) -> None:
        if self._shifted:
            self.restore()
