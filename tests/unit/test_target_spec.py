"""The target file's model: what a user may declare, and what is refused before anything starts."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from harness.targets.spec import TargetSpec

ENTRY = {"url": "http://127.0.0.1:8088/v1/score", "payloads": "payloads.jsonl"}


def _spec(**fields: Any) -> TargetSpec:
    return TargetSpec.model_validate({"name": "shop-ml", "compose_file": "docker-compose.yml", "entry": ENTRY, **fields})


def test_a_minimal_target_measures_nothing_it_does_not_declare() -> None:
    spec = _spec()
    assert spec.store is None and spec.signals == {} and spec.hops == {}
    assert spec.compose_project == "failover-shop-ml"
    assert spec.request_id_header == "X-Request-Id"


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5:8088/v1/score", "http://example.com/score", "ftp://127.0.0.1/x", "127.0.0.1:8088"]
)
def test_the_entry_must_be_an_http_url_on_loopback(url: str) -> None:
    with pytest.raises(ValidationError, match="loopback|http://"):
        _spec(entry={**ENTRY, "url": url})


def test_a_signal_has_exactly_one_source() -> None:
    with pytest.raises(ValidationError, match="exactly one of"):
        _spec(signals={"app-1": {}})
    both = {"http": "http://127.0.0.1:9101/ping", "prometheus": {"url": "http://127.0.0.1:9090", "query": "up"}}
    with pytest.raises(ValidationError, match=r"exactly one of .*\(found 2\)"):
        _spec(signals={"app-1": both})
    assert _spec(signals={"app-1": {"http": "http://127.0.0.1:9101/ping"}}).signals["app-1"].kind == "http"


def test_sentinel_addresses_default_to_loopback_and_refuse_others() -> None:
    sentinel = {"sentinels": ["26379", "127.0.0.1:26380"], "master": "predictions", "port": 16379}
    spec = _spec(signals={"redis-1": {"sentinel": sentinel}})
    assert spec.signals["redis-1"].sentinel.sentinels == ["127.0.0.1:26379", "127.0.0.1:26380"]  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="not on loopback"):
        _spec(signals={"redis-1": {"sentinel": {**sentinel, "sentinels": ["10.1.1.1:26379"]}}})


def test_a_hop_is_either_inserted_or_existing_and_needs_a_toxiproxy() -> None:
    toxiproxy = "http://127.0.0.1:8475"
    with pytest.raises(ValidationError, match="exactly one of 'upstream'"):
        _spec(toxiproxy=toxiproxy, hops={"lb->app-1": {"upstream": "app-1:9000", "proxy": "lb-app-1"}})
    with pytest.raises(ValidationError, match="not service:port"):
        _spec(toxiproxy=toxiproxy, hops={"lb->app-1": {"upstream": "app-1"}})
    with pytest.raises(ValidationError, match="hops need 'toxiproxy'"):
        _spec(hops={"lb->app-1": {"upstream": "app-1:9000"}})
    with pytest.raises(ValidationError, match="from->to"):
        _spec(toxiproxy=toxiproxy, hops={"lb-app-1": {"proxy": "lb-app-1"}})


def test_an_attached_stack_cannot_have_proxies_inserted() -> None:
    with pytest.raises(ValidationError, match="attach: true name an existing proxy"):
        _spec(attach=True, toxiproxy="http://127.0.0.1:8475", hops={"lb->app-1": {"upstream": "app-1:9000"}})


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ({"redis": {"url": "redis://127.0.0.1:6390/0", "key": "pred"}}, "must contain {request_id}"),
        ({"http": {"url": "http://127.0.0.1:9200/predictions"}}, "must contain {request_id}"),
        ({"sql": {"dsn": "postgresql://x@127.0.0.1/x", "query": "select 1"}}, "exactly one %s"),
        ({}, "exactly one of"),
    ],
)
def test_a_store_must_be_able_to_find_each_write(store: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _spec(store=store)
