"""Guard rail: the harness breaks containers only on this machine's Docker engine unless told otherwise."""

from __future__ import annotations

import pytest

from harness.errors import BadInput
from harness.stack.images import REMOTE_DOCKER_OPT_IN, ensure_local_docker


@pytest.mark.parametrize("host", ["", "unix:///var/run/docker.sock", "unix:///run/user/1000/docker.sock"])
def test_this_machines_engine_is_allowed(host: str) -> None:
    ensure_local_docker({"DOCKER_HOST": host})


@pytest.mark.parametrize("host", ["tcp://10.0.0.5:2376", "ssh://ops@staging"])
def test_another_machines_engine_is_refused_unless_opted_in(host: str) -> None:
    with pytest.raises(BadInput, match="another machine") as raised:
        ensure_local_docker({"DOCKER_HOST": host})
    assert "--allow-remote-docker" in (raised.value.tip or "")
    ensure_local_docker({"DOCKER_HOST": host, REMOTE_DOCKER_OPT_IN: "1"})
