"""Every error the harness reports to a person: what went wrong and the fix.

Each class owns its wording; the CLI turns any `HarnessError` into one
`ERROR:` line plus a `TIP:` line and the exit code below, in one place.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_SLO_MISSED = 1
EXIT_BAD_INPUT = 2


class HarnessError(Exception):
    """A failure with a message for a person and a tip that fixes it."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, tip: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.tip = tip


class BadInput(HarnessError):
    """The user's input (file, option, name) is wrong."""


class InfrastructureError(HarnessError):
    """Something the harness needs (Docker, a binary, a port) is not there."""


class MissingBinary(InfrastructureError):
    def __init__(self, binary: str, install_hint: str) -> None:
        super().__init__(f"'{binary}' was not found on PATH", install_hint)


class DockerUnavailable(InfrastructureError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            f"the Docker engine is not reachable: {reason}",
            "start it (as root: `dockerd &`, or `systemctl start docker`), "
            "or use the local backend: --backend local",
        )


class PortInUse(InfrastructureError):
    def __init__(self, port: int, purpose: str, owner: str) -> None:
        super().__init__(
            f"port {port} ({purpose}) is already in use by {owner}",
            "stop that process, or bring the stack down if it is an earlier one "
            "(`failover stack down`); published ports can be moved with "
            "FAILOVER_GATEWAY_PORT / FAILOVER_STATS_PORT / FAILOVER_TOXIPROXY_PORT",
        )


class StackNotHealthy(InfrastructureError):
    """The stack did not become healthy in time; it was brought down again."""


class UnknownService(BadInput):
    def __init__(self, name: str, known: list[str]) -> None:
        from difflib import get_close_matches

        close = get_close_matches(name, known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        super().__init__(
            f"unknown service '{name}'",
            f"{hint}services of this stack: {', '.join(sorted(known))}",
        )


class FaultFailed(InfrastructureError):
    """A fault's inject or revert raised: the run ends in 'error' (exit 2), after every other fault is reverted."""

    def __init__(self, verb: str, fault: str, error: BaseException) -> None:
        super().__init__(
            f"could not {verb} '{fault}': {describe_exception(error)}",
            "the other faults were reverted (see journal.jsonl of the run); `failover heal` reverts whatever is left",
        )


def describe_exception(error: BaseException) -> str:
    """One line for any exception: a HarnessError's own message, else the type and its text."""
    if isinstance(error, HarnessError):
        return error.message
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
