"""The hop-insertion override (harness/targets/compose_override.py): its mapping, its proxies, its refusals.

The routing itself is proven against Docker in tests/integration/test_hop_insertion.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import BadInput
from harness.targets.compose_override import (
    OVERRIDE_FILE,
    PROXIES_FILE,
    TOXIPROXY_SERVICE,
    HopInsertion,
    HopOverride,
    hop_override,
)
from tests.conftest import require


def _compose(**services: dict[str, Any]) -> dict[str, Any]:
    return {"services": services}


SHOP = _compose(
    lb={"image": "nginx", "ports": ["127.0.0.1:8088:80"]},
    **{"app-1": {"image": "app", "networks": ["front", "back"]}},
    **{"app-2": {"image": "app", "networks": {"front": {"aliases": ["scorer"]}, "back": None}}},
    db={"image": "postgres", "networks": ["back"]},
)
LB_APP_1 = HopInsertion.parse("lb->app-1", "app-1:9000")
LB_APP_2 = HopInsertion.parse("lb->app-2", "app-2:9000")
LB_APP = HopInsertion.parse("lb->app", "app:1")


def _override(compose: dict[str, Any], *hops: HopInsertion, **options: Any) -> HopOverride:
    return hop_override(compose, hops, toxiproxy_image="failover-stack:latest", toxiproxy_api_port=8475, **options)


def test_each_hop_gets_a_proxy_named_after_it_listening_on_its_own_address_and_the_upstream_port() -> None:
    override = _override(SHOP, LB_APP_1, LB_APP_2)
    assert list(override.proxies) == [
        {"name": "lb-app-1", "listen": "10.213.0.30:9000", "upstream": "app-1:9000", "enabled": True},
        {"name": "lb-app-2", "listen": "10.213.0.62:9000", "upstream": "app-2:9000", "enabled": True},
    ]


def test_the_downstream_keeps_its_networks_and_maps_each_upstream_name_to_its_proxy(tmp_path: Path) -> None:
    lb = _override(SHOP, LB_APP_1, LB_APP_2).compose(tmp_path)["services"]["lb"]
    assert lb == {
        "networks": {"default": {}, "failover-hop-lb-app-1": {}, "failover-hop-lb-app-2": {}},
        "extra_hosts": ["app-1:10.213.0.30", "app-2:10.213.0.62"],
        "depends_on": [TOXIPROXY_SERVICE],
    }


def test_a_downstream_with_networks_keeps_them() -> None:
    db_hop = HopInsertion.parse("app-2->db", "db:5432")
    app_2 = _override(SHOP, db_hop).services["app-2"]
    assert app_2["networks"] == {"front": {}, "back": {}, "failover-hop-app-2-db": {}}


def test_the_proxy_sits_on_every_hop_network_at_its_address_and_on_the_upstreams_networks(tmp_path: Path) -> None:
    compose = _override(SHOP, LB_APP_1, HopInsertion.parse("app-1->db", "db:5432")).compose(tmp_path)
    toxiproxy = compose["services"][TOXIPROXY_SERVICE]
    assert toxiproxy["networks"] == {
        "front": {},
        "back": {},
        "failover-hop-lb-app-1": {"ipv4_address": "10.213.0.30"},
        "failover-hop-app-1-db": {"ipv4_address": "10.213.0.62"},
    }
    assert toxiproxy["ports"] == ["127.0.0.1:8475:8475"]
    assert toxiproxy["volumes"] == [f"{(tmp_path / PROXIES_FILE).resolve()}:/failover/toxiproxy.json:ro"]
    assert compose["networks"]["failover-hop-app-1-db"] == {
        "driver": "bridge",
        "internal": True,
        "ipam": {"config": [{"subnet": "10.213.0.32/27"}]},
    }


def test_an_upstream_named_by_a_network_alias_is_reached_on_its_services_networks() -> None:
    override = _override(SHOP, HopInsertion.parse("lb->scorer", "scorer:9000"))
    assert set(override.services[TOXIPROXY_SERVICE]["networks"]) == {"front", "back", "failover-hop-lb-scorer"}


def test_the_subnet_pool_is_configurable() -> None:
    override = _override(SHOP, LB_APP_1, subnet_pool="192.168.77.0/24")
    assert override.proxies[0]["listen"] == "192.168.77.30:9000"


def test_write_puts_the_override_and_the_proxies_in_the_run_folder(tmp_path: Path) -> None:
    override = _override({"version": "3.8", **SHOP}, LB_APP_1)
    paths = override.write(tmp_path / "run")
    assert paths == [tmp_path / "run" / OVERRIDE_FILE, tmp_path / "run" / PROXIES_FILE]
    assert yaml.safe_load(paths[0].read_text()) == override.compose(tmp_path / "run")
    assert yaml.safe_load(paths[0].read_text())["version"] == "3.8"
    assert json.loads(paths[1].read_text()) == list(override.proxies)


def test_compose_accepts_the_user_file_with_the_override(tmp_path: Path) -> None:
    """The real `docker-compose config` merges both files; the downstream ends up on both kinds of network."""
    require(shutil.which("docker-compose") is not None, "docker-compose not installed")
    user = tmp_path / "user.yml"
    user.write_text(yaml.safe_dump({"version": "3.8", **SHOP, "networks": {"front": {}, "back": {}}}))
    override_file, _ = _override(yaml.safe_load(user.read_text()), LB_APP_1, LB_APP_2).write(tmp_path / "run")
    merged = subprocess.run(
        ["docker-compose", "-p", "x", "-f", str(user), "-f", str(override_file), "config"],
        capture_output=True, text=True, check=True,
    )
    lb = yaml.safe_load(merged.stdout)["services"]["lb"]
    assert set(lb["networks"]) == {"default", "failover-hop-lb-app-1", "failover-hop-lb-app-2"}
    assert lb["extra_hosts"] == {"app-1": "10.213.0.30", "app-2": "10.213.0.62"}


@pytest.mark.parametrize(
    ("compose", "hops", "message"),
    [
        (SHOP, [HopInsertion.parse("lbb->app-1", "app-1:9000")], "downstream 'lbb' is not a service"),
        (SHOP, [HopInsertion.parse("lb->app-3", "app-3:9000")], "upstream host 'app-3' is not a service"),
        (SHOP, [HopInsertion.parse("lb->cache", "redis.example.com:6379")], "'redis.example.com' is not a service"),
        (_compose(lb={"network_mode": "host"}, app={}), [HopInsertion.parse("lb->app", "app:1")], "network_mode: host"),
        (
            _compose(lb={}, app={}, side={"network_mode": "service:app"}),
            [HopInsertion.parse("lb->side", "side:1")],
            "network_mode: service:app",
        ),
        (_compose(lb={"extra_hosts": ["app:10.0.0.9"]}, app={}), [LB_APP], "already maps 'app'"),
        (_compose(lb={"extra_hosts": {"app": "10.0.0.9"}}, app={}), [LB_APP], "already maps 'app'"),
        (_compose(lb={}), [HopInsertion.parse("lb->lb", "lb:80")], "from 'lb' to itself"),
        (SHOP, [LB_APP_1, HopInsertion.parse("lb->app-1-admin", "app-1:9001")], "both send 'lb' to 'app-1'"),
        (SHOP, [LB_APP_1, LB_APP_1], "declared twice"),
        (_compose(lb={}, **{TOXIPROXY_SERVICE: {}}), [], f"service named '{TOXIPROXY_SERVICE}'"),
        ({"services": {}}, [], "no 'services'"),
    ],
)
def test_what_the_mechanism_cannot_cover_is_refused_with_a_clear_error(
    compose: dict[str, Any], hops: list[HopInsertion], message: str
) -> None:
    with pytest.raises(BadInput, match=message.replace("(", r"\(")):
        _override(compose, *hops)


def test_an_unknown_upstream_gets_a_did_you_mean() -> None:
    with pytest.raises(BadInput) as error:
        _override(SHOP, HopInsertion.parse("lb->app1", "app1:9000"))
    assert "did you mean 'app-1'" in error.value.tip


@pytest.mark.parametrize(
    ("name", "upstream", "message"),
    [
        ("lb-app", "app:1", "not 'downstream->upstream'"),
        ("lb->app", "app", "not 'host:port'"),
        ("lb->app", "app:x", "not 'host:port'"),
    ],
)
def test_a_malformed_hop_is_refused(name: str, upstream: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        HopInsertion.parse(name, upstream)


def test_a_pool_too_small_for_the_hops_is_refused() -> None:
    with pytest.raises(BadInput, match="room for fewer than 2 hops"):
        _override(SHOP, LB_APP_1, LB_APP_2, subnet_pool="10.9.9.0/27")


def test_without_hops_the_proxy_still_has_a_network(tmp_path: Path) -> None:
    override = _override(SHOP)
    assert override.proxies == () and override.services[TOXIPROXY_SERVICE]["networks"] == {"default": {}}
