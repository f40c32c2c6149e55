"""The guardian's decisions: guard the champion, canary a candidate, verify every alias change.

`Guardian.tick(now)` is called every EVAL_INTERVAL_S: it reads the manifest,
judges the windows of the versions in play and writes alias changes.
`follow_up(now)` runs every FOLLOW_UP_INTERVAL_S in between, so a slow analysis
cadence does not slow down verifying a rollback or retrying a refused write.
Beyond the manifest it keeps only what it has seen (versions proven good, the
running canary): a restarted guardian picks a canary up again from the
`candidate` alias and restores weights a killed one left shifted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import Settings
from .events import EventLog
from .registry import FileRegistry, Manifest, RegistryUnavailable
from .weights import WeightShifter
from .window import SampleWindows, Verdict, judge, summarize

log = logging.getLogger(__name__)
AliasChange = Callable[[dict[str, str]], dict[str, str] | None]


@dataclass
class Verification:
    """An alias change waiting for every replica in `replicas` to answer with `version`."""

    action: str
    version: str
    replicas: set[str]
    written_t: float
    warned: bool = False


@dataclass
class PendingWrite:
    """An alias change the registry refused; retried every RETRY_INTERVAL_S."""

    kind: str
    version: str
    change: AliasChange
    evidence: dict[str, Any]
    then: Callable[[float], dict[str, Any]]
    attempts: int = 0
    next_t: float = 0.0


@dataclass
class Canary:
    version: str
    champion: str
    started_t: float


@dataclass
class Memory:
    """What the guardian learnt from its probes."""

    good: set[str] = field(default_factory=set)
    last_good: str | None = None
    failures: dict[str, int] = field(default_factory=dict)
    no_target_for: str | None = None


class Guardian:
    def __init__(
        self,
        settings: Settings,
        registry: FileRegistry,
        windows: SampleWindows,
        events: EventLog,
        shifter: WeightShifter,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.windows = windows
        self.events = events
        self.shifter = shifter
        self.memory = Memory()
        self.canary: Canary | None = None
        self.pending: PendingWrite | None = None
        self.verifications: list[Verification] = []
        self._read_error: str | None = None
        self._last_manifest: Manifest | None = None
        self._champion_since: tuple[str | None, float] | None = None

    def tick(self, now: float) -> None:
        """One evaluation (every EVAL_INTERVAL_S): follow up, then judge the versions in play."""
        self.follow_up(now)
        if self.pending is not None:
            return
        manifest = self._read()
        if manifest is None:
            return
        self.windows.expect(self._expected_versions(manifest))
        if self.canary is None:
            self.shifter.retry()
        self._guard_champion(manifest, now)
        if self.pending is None:
            self._run_canary(manifest, now)

    def follow_up(self, now: float) -> None:
        """Between evaluations too: check verifications and retry a refused write (their own cadence)."""
        self._verify(now)
        if self.pending is not None and now >= self.pending.next_t:
            self._attempt(self.pending, now)

    def _read(self) -> Manifest | None:
        """The manifest; while it cannot be read, the last one read (decisions go on, their writes retry)."""
        try:
            manifest = self.registry.read()
        except RegistryUnavailable as exc:
            if str(exc) != self._read_error:
                log.warning("registry unreadable, deciding on the last manifest read: %s", exc)
            self._read_error = str(exc)
            return self._last_manifest
        if self._read_error:
            log.info("registry readable again")
        self._read_error = None
        self._last_manifest = manifest
        return manifest

    # -- the champion -------------------------------------------------------------------------------

    def _expected_versions(self, manifest: Manifest) -> dict[str, str]:
        """Replica -> the version its alias names: the canary on the canary replica while one is set, else
        the champion."""
        expected = {replica: version for replica in self.champion_replicas(manifest) if (version := manifest.alias("champion"))}
        canary = manifest.alias("canary")
        if canary:
            expected[self.settings.canary_replica] = canary
        return expected

    def champion_replicas(self, manifest: Manifest) -> set[str]:
        """Replicas serving the champion: all, except the canary replica while a canary is set."""
        replicas = set(self.settings.replicas)
        if manifest.alias("canary"):
            replicas.discard(self.settings.canary_replica)
        return replicas

    def _judge(
        self,
        manifest: Manifest,
        version: str,
        replicas: set[str],
        since: float,
        now: float,
        trusted: bool | None = None,
        reference_accuracy: float | None = None,
    ) -> Verdict:
        samples = self.windows.samples(version, now, replicas, since)
        stats = summarize(samples, self.settings.thresholds.confidence_z)
        trusted = version in self.memory.good if trusted is None else trusted
        return judge(stats, self.settings.thresholds, manifest.accuracy.get(version), trusted, reference_accuracy)

    def _guard_champion(self, manifest: Manifest, now: float) -> None:
        champion = manifest.alias("champion")
        if champion is None:
            return
        verdict = self._judge(manifest, champion, self.champion_replicas(manifest), self._since(manifest), now)
        if verdict.good:
            self._proved_good(champion)
        if not self._failed(champion, verdict):
            return
        target = self._rollback_target(champion, manifest)
        if target is None:
            if self.memory.no_target_for != champion:
                self.memory.no_target_for = champion
                self.events.emit(
                    "decide", champion, {**verdict.evidence, "action": "none", "why": "no rollback target"}
                )
            return
        evidence = {**verdict.evidence, "action": "rollback", "from": champion, "to": target, "alias": "champion"}
        self.events.emit("decide", champion, evidence)

        def change(aliases: dict[str, str]) -> dict[str, str] | None:
            return {**aliases, "champion": target} if aliases.get("champion") == champion else None

        def then(t: float) -> dict[str, Any]:
            self._forget_bad(champion)
            self._champion_since = (target, t)
            self._expect("rollback", target, self.champion_replicas(manifest), t)
            return {}

        self._attempt(PendingWrite("rollback", champion, change, {"from": champion, "to": target}, then), now)

    def _since(self, manifest: Manifest) -> float:
        """When the champion became what it is: older samples of its version are not evidence of this push.

        The guardian's own writes set it too: a deploy may push again before the next read shows the rollback.
        """
        champion = manifest.aliases.get("champion")
        if self._champion_since is None or self._champion_since[0] != champion:
            self._champion_since = (champion, manifest.written_t)
        return self._champion_since[1]

    def _failed(self, version: str, verdict: Verdict) -> bool:
        """Count a bad evaluation (detect on the first); True once FAILURE_THRESHOLD is reached."""
        if not verdict.bad:
            if verdict.enough:
                self.memory.failures.pop(version, None)
            return False
        count = self.memory.failures.get(version, 0) + 1
        self.memory.failures[version] = count
        if count == 1:
            self.events.emit("detect", version, verdict.evidence)
        return count >= self.settings.thresholds.failure_threshold

    def _proved_good(self, version: str) -> None:
        if version not in self.memory.good:
            log.info("%s verified good on a full window", version)
        self.memory.good.add(version)
        self.memory.last_good = version

    def _forget_bad(self, version: str) -> None:
        self.memory.good.discard(version)
        self.memory.failures.pop(version, None)
        if self.memory.last_good == version:
            self.memory.last_good = None

    def _rollback_target(self, bad: str, manifest: Manifest) -> str | None:
        for version in (self.memory.last_good, manifest.alias("previous")):
            if version is not None and version != bad and version in manifest.accuracy:
                return version
        return None

    # -- the canary ---------------------------------------------------------------------------------

    def _run_canary(self, manifest: Manifest, now: float) -> None:
        candidate, champion = manifest.alias("candidate"), manifest.alias("champion")
        if self.canary is None:
            if candidate is not None and champion is not None and candidate != champion:
                self._start_canary(candidate, champion, now)
            elif manifest.aliases.get("canary") and candidate is None:
                self._end_canary(
                    "rollback", manifest.aliases["canary"], None, {"why": "canary left without candidate"}, now
                )
            return
        canary = self.canary
        if candidate != canary.version:
            self._end_canary("rollback", canary.version, champion, {"why": f"candidate is now {candidate}"}, now)
            return
        self._analyse_canary(manifest, canary, now)

    def _start_canary(self, candidate: str, champion: str, now: float) -> None:
        def change(aliases: dict[str, str]) -> dict[str, str] | None:
            return {**aliases, "canary": candidate} if aliases.get("candidate") == candidate else None

        def then(t: float) -> dict[str, Any]:
            self.canary = Canary(candidate, champion, t)
            return self.shifter.shift()

        self._attempt(
            PendingWrite("canary", candidate, change, {"candidate": candidate, "champion": champion}, then), now
        )

    def _analyse_canary(self, manifest: Manifest, canary: Canary, now: float) -> None:
        champion = manifest.alias("champion") or canary.champion
        reference = summarize(
            self.windows.samples(champion, now, self.champion_replicas(manifest), self._since(manifest)),
            self.settings.thresholds.confidence_z,
        )
        enough_reference = reference.samples >= self.settings.thresholds.min_samples
        verdict = self._judge(
            manifest,
            canary.version,
            {self.settings.canary_replica},
            canary.started_t,
            now,
            trusted=False,
            reference_accuracy=reference.accuracy if enough_reference else None,
        )
        age = now - canary.started_t
        evidence = {**verdict.evidence, "analysed_s": round(age, 3), "champion": champion}
        if self._failed(canary.version, verdict):
            self._end_canary("rollback", canary.version, champion, evidence, now)
        elif verdict.good and age >= self.settings.timing.canary_min_s:
            self._end_canary("promote", canary.version, champion, evidence, now)
        elif age > self.settings.timing.canary_timeout_s:
            why = f"only {verdict.evidence['window']['samples']} samples of {canary.version} in {age:.1f} s"  # type: ignore[index]
            self._end_canary("rollback", canary.version, champion, {**evidence, "why": why}, now)

    def _end_canary(
        self, action: str, version: str, champion: str | None, evidence: dict[str, Any], now: float
    ) -> None:
        promote = action == "promote"
        self.events.emit("decide", version, {**evidence, "action": action, "alias": "canary"})

        def change(aliases: dict[str, str]) -> dict[str, str]:
            new = {k: v for k, v in aliases.items() if not (k in ("canary", "candidate") and v == version)}
            if promote and aliases.get("champion") not in (None, version):
                new.update(previous=aliases["champion"], champion=version)
            return new

        def then(t: float) -> dict[str, Any]:
            self.canary = None
            restored = self.shifter.restore()
            if promote:
                self._proved_good(version)
                self._champion_since = (version, t)
                self._expect("promote", version, set(self.settings.replicas), t)
            else:
                self._forget_bad(version)
                if champion is not None:
                    self._expect("rollback", champion, {self.settings.canary_replica}, t)
            return restored

        self._attempt(PendingWrite(action, version, change, {"champion_before": champion}, then), now)

    # -- writing and verifying ----------------------------------------------------------------------

    def _attempt(self, write: PendingWrite, now: float) -> None:
        write.attempts += 1
        try:
            aliases = self.registry.update(write.change)
        except RegistryUnavailable as exc:
            write.next_t = now + self.settings.timing.retry_interval_s
            self.pending = write
            if write.attempts == 1 or write.attempts % 20 == 0:
                self.events.emit(
                    "registry_unavailable",
                    write.version,
                    {
                        "action": write.kind,
                        "attempts": write.attempts,
                        "error": str(exc),
                        "retry_in_s": self.settings.timing.retry_interval_s,
                    },
                )
            return
        self.pending = None
        if aliases is None:
            log.info("%s of %s no longer applies: the aliases moved meanwhile", write.kind, write.version)
            return
        extra = write.then(now)
        self.events.emit(
            write.kind, write.version, {**write.evidence, **extra, "aliases": aliases, "attempts": write.attempts}
        )

    def _expect(self, action: str, version: str, replicas: set[str], now: float) -> None:
        self.verifications = [v for v in self.verifications if not v.replicas & replicas]
        self.verifications.append(Verification(action, version, replicas, now))

    def _verify(self, now: float) -> None:
        latest = self.windows.latest()
        for check in list(self.verifications):
            seen = {
                name: latest[name].version
                for name in check.replicas
                if name in latest and latest[name].t >= check.written_t
            }
            if len(seen) == len(check.replicas) and set(seen.values()) == {check.version}:
                self.verifications.remove(check)
                self.events.emit(
                    "verified",
                    check.version,
                    {"action": check.action, "replicas": seen, "after_write_s": round(now - check.written_t, 3)},
                )
            elif not check.warned and now - check.written_t > self.settings.timing.verify_timeout_s:
                check.warned = True
                log.warning(
                    "%s to %s not on every replica after %.0f s: %s",
                    check.action,
                    check.version,
                    now - check.written_t,
                    seen,
                )
