"""The fault catalogue: one declaration per type, read alike by validation, heal, the CLI and the docs."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import ValidationError

from harness.cli import main
from harness.faults import FaultParams, FaultType, fault_types, parse_fault
from harness.faults.base import register
from harness.stack.spec import REPO_ROOT



def _example(kind: FaultType) -> dict[str, object]:
    """The entry a user would write first: every required parameter at its documented example."""
    target = "gateway->model-a" if kind.acts_on == "hop" else "model-a"
    common = set(FaultParams.model_fields)
    required = {
        name: field.examples[0]
        for name, field in kind.params.model_fields.items()
        if field.is_required() and name not in common and field.examples
    }
    return {"at": "2s", "action": kind.name, "target": target, "duration": "3s", **required}


@pytest.mark.parametrize("kind", fault_types(), ids=lambda kind: kind.name)
def test_a_journaled_fault_reads_back_as_the_same_type(kind: FaultType) -> None:
    """`heal` rebuilds a fault from its journaled spec: the dump must parse back to an equal spec."""
    spec = parse_fault(_example(kind))
    assert isinstance(spec, kind.params)
    assert parse_fault(spec.model_dump(mode="json")) == spec


def test_parameters_are_the_types_own() -> None:
    spec = parse_fault({"at": 1, "action": "latency", "target": "a->b", "latency": "800ms", "jitter": "50ms"})
    assert spec.parameters() == {"latency": 0.8, "jitter": 0.05, "stream": "downstream", "toxicity": 1.0}
    assert spec.shown_parameters() == "latency 800ms, jitter 50ms"
    upstream = parse_fault({"at": 1, "action": "bandwidth", "target": "a->b", "rate": 8, "stream": "upstream"})
    assert upstream.shown_parameters() == "rate 8, stream upstream"


def test_an_unknown_action_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        parse_fault({"at": 1, "action": "explode", "target": "model-a"})


def test_register_refuses_a_model_whose_action_names_another_type() -> None:
    class Mislabelled(FaultParams):
        action: Literal["kill"]

    with pytest.raises(TypeError, match="must be Literal\\['crash'\\]"):
        register(FaultType("crash", Mislabelled, "service", lambda params, context: None, "mislabelled"))


def test_fault_types_command_and_the_docs_name_every_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fault-types"]) == 0
    listed = capsys.readouterr().out
    docs = (REPO_ROOT / "scenarios" / "README.md").read_text()
    for kind in fault_types():
        assert kind.name in listed
        assert kind.name in docs, f"scenarios/README.md does not mention fault type '{kind.name}'"
