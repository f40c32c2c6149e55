"""A run keeps what the stack printed (`Stack.save_logs`): every service's log, whole up to a cap, and a
log that cannot be read is a problem reported, never a failed clean-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.stack import StackSettings
from harness.stack.local import LocalStack


def _stack_with_logs(logs: dict[str, str]) -> LocalStack:
    stack = LocalStack(StackSettings(project="unit-logs"))
    (stack.run_dir / "logs").mkdir(parents=True)
    for service, text in logs.items():
        (stack.run_dir / "logs" / f"{service}.log").write_text(text)
    return stack


def test_each_service_that_printed_something_gets_its_file(isolated_state: Path, tmp_path: Path) -> None:
    stack = _stack_with_logs({"sentinel-1": "+sdown master\n+switch-master predictions\n", "gateway": "started"})
    assert stack.save_logs(tmp_path / "logs") == []
    assert (tmp_path / "logs" / "sentinel-1.log").read_text() == "+sdown master\n+switch-master predictions\n"
    assert (tmp_path / "logs" / "gateway.log").read_text() == "started\n"
    assert not (tmp_path / "logs" / "model-a.log").exists(), "a service that printed nothing leaves no empty file"


def test_the_last_lines_are_kept_up_to_the_cap(isolated_state: Path, tmp_path: Path) -> None:
    stack = _stack_with_logs({"model-a": "".join(f"line {n}\n" for n in range(1, 101))})
    stack.save_logs(tmp_path, tail=10)
    assert (tmp_path / "model-a.log").read_text().splitlines() == [f"line {n}" for n in range(91, 101)]


def test_an_unreadable_log_is_one_problem_and_the_others_are_still_kept(
    isolated_state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = _stack_with_logs({"model-a": "ready\n", "model-b": "ready\n"})
    real_logs = stack.logs

    def logs(service: str, tail: int | None = 50) -> str:
        if service == "model-a":
            raise PermissionError(13, "Permission denied")
        return real_logs(service, tail)

    monkeypatch.setattr(stack, "logs", logs)
    problems = stack.save_logs(tmp_path)
    assert len(problems) == 1 and problems[0].startswith("model-a: ") and "Permission denied" in problems[0]
    assert (tmp_path / "model-b.log").read_text() == "ready\n"
