"""Shifting a share of the gateway's traffic to the canary replica, and restoring it."""

from __future__ import annotations

import logging

from .haproxy import RuntimeApi, RuntimeApiError, canary_weights

log = logging.getLogger(__name__)


class WeightShifter:
    """Sets canary weights through the runtime API and restores each server's initial weight.

    A restore that fails (HAProxy restarting) stays pending and is retried by `retry`.
    Without a runtime API the canary runs on the replica's normal share.
    """

    def __init__(self, api: RuntimeApi | None, servers: list[str], canary: str, share: float) -> None:
        self._api = api
        self._servers = servers
        self._canary = canary
        self._share = share
        self._pending_restore = False

    def shift(self) -> dict[str, object]:
        if self._api is None:
            return {"weights": None, "why": "no RUNTIME_API configured"}
        weights = canary_weights(self._servers, self._canary, self._share)
        try:
            for server, weight in weights.items():
                self._api.set_weight(server, weight)
        except RuntimeApiError as exc:
            log.warning("canary weights not set: %s", exc)
            self._pending_restore = True
            return {"weights": None, "error": str(exc)}
        self._pending_restore = True
        return {"weights": weights, "canary_share": self._share}

    def restore(self) -> dict[str, object]:
        if self._api is None or not self._pending_restore:
            return {"weights_restored": None}
        try:
            restored = {}
            for server in self._servers:
                _, initial = self._api.weight(server)
                self._api.set_weight(server, initial)
                restored[server] = initial
        except RuntimeApiError as exc:
            log.warning("weights not restored yet (will retry): %s", exc)
            return {"weights_restored": None, "error": str(exc)}
        self._pending_restore = False
        return {"weights_restored": restored}

    def retry(self) -> None:
        if self._pending_restore and self._api is not None:
            self.restore()

    @property
    def shifted(self) -> bool:
        return self._pending_restore
