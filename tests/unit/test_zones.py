"""Zones: services labelled `failover.zone` in the compose file; a target offers a zone to faults only
when it opts in every service of it."""

from __future__ import annotations

from pathlib import Path

from harness.stack.spec import load_stack_spec

COMPOSE = """
services:
  a1: {image: x, labels: {failover.zone: a}}
  a2: {image: x, labels: ["failover.zone=a", "other=1"]}
  b1: {image: x, labels: {failover.zone: b}}
  free: {image: x}
"""


def test_zone_labels_as_mapping_or_list(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(COMPOSE)
    services = load_stack_spec(compose, {}).services
    assert {name: service.zone for name, service in services.items()} == {"a1": "a", "a2": "a", "b1": "b", "free": None}
