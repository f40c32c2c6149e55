"""Keep the last known address of the store's names in /etc/hosts, then run a command.

    python pin_hosts.py redis-1 redis-2 sentinel-1 -- redis-server --port 16380 ...

Why: when a container dies, Docker's embedded DNS (127.0.0.11) drops its name and
forwards the query to the host's resolver; where that one does not answer, the
lookup blocks for glibc's 5 s timeout. Redis and Sentinel resolve a name
synchronously each time they reconnect to a dead node (Sentinel's
`resolve-hostnames yes`, a replica's `replicaof`), so the whole process stalls
for 5 s: a Sentinel enters TILT and stops failing over for 30 s, and a replica
that stops answering PINGs is marked down and is not promoted (both seen in CI;
docs/profiles.md). With each name's last known address in /etc/hosts, glibc
answers from the file at once, and connecting to a dead address fails
asynchronously, as Redis expects.

A child process asks Docker's DNS directly (not through /etc/hosts, which it
writes) every `PERIOD_S` and rewrites its own lines of /etc/hosts when an address
appears or changes (a restarted container may get a new one). A name that stops
resolving keeps its last address. Only names are pinned, and only where Docker's
embedded DNS is the resolver: on the local backend the names arrive rewritten to
127.0.0.1, and this only runs the command.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dns.resolver

DOCKER_DNS = "127.0.0.11"
HOSTS = Path("/etc/hosts")
RESOLV_CONF = Path("/etc/resolv.conf")
MARK = "# pinned by pin_hosts.py"
PERIOD_S = 0.2
QUERY_TIMEOUT_S = 0.5
"""A live name is answered by Docker in about a millisecond; a dead one is forwarded and may never be."""


def main(argv: list[str]) -> None:
    if argv[:1] == ["--watch"]:
        watch(argv[1:])
        return
    if "--" not in argv:
        sys.exit("usage: pin_hosts.py NAME... -- COMMAND [ARG...]")
    split = argv.index("--")
    names, command = [n for n in argv[:split] if not _is_address(n)], argv[split + 1 :]
    if names and _docker_dns_resolves():
        subprocess.Popen([sys.executable, __file__, "--watch", *names])
    os.execvp(command[0], command)


def watch(names: list[str]) -> None:
    """Forever: look each name up in Docker's DNS; rewrite /etc/hosts when an address changes."""
    import dns.resolver  # the image's dependency; the local backend never gets here

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [DOCKER_DNS]
    resolver.lifetime = QUERY_TIMEOUT_S
    known: dict[str, str] = {}
    while True:
        changed = False
        for name in names:
            address = _lookup(resolver, name)
            if address is not None and known.get(name) != address:
                print(f"pin_hosts: {name} -> {address}", flush=True)
                known[name], changed = address, True
        if changed:
            write_pins(HOSTS, known)
        time.sleep(PERIOD_S)


def write_pins(hosts: Path, pins: dict[str, str]) -> None:
    """Replace this tool's lines in `hosts`, in place: Docker bind-mounts /etc/hosts, so it
    cannot be replaced by a rename. Written before truncating, so a reader never sees it empty."""
    kept = [line for line in hosts.read_text().splitlines() if not line.endswith(MARK)]
    text = "\n".join([*kept, *(f"{address}\t{name}\t{MARK}" for name, address in sorted(pins.items()))]) + "\n"
    with hosts.open("r+") as file:
        file.write(text)
        file.truncate()


def _lookup(resolver: dns.resolver.Resolver, name: str) -> str | None:
    import dns.exception

    try:
        return str(resolver.resolve(name, "A", search=False)[0])
    except dns.exception.DNSException:
        return None


def _docker_dns_resolves() -> bool:
    try:
        lines = RESOLV_CONF.read_text().splitlines()
    except OSError:
        return False
    return any(line.split()[:2] == ["nameserver", DOCKER_DNS] for line in lines)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


if __name__ == "__main__":
    main(sys.argv[1:])
