"""How long refusing a hostile YAML file takes, printed (never asserted).

    .venv/bin/python tests/benchmarks/yaml_bench.py [--rounds 5]

Times `read_yaml` (best of --rounds) on: a recursive alias, alias bombs of 5 and
9 levels (9**9 values if expanded: unbounded, that read ran for minutes and took
gigabytes), brackets nested 5000 deep, the largest file accepted, and a shipped
scenario for comparison. Target: every refusal well under a second.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from harness.errors import BadInput  # noqa: E402
from harness.yaml_model import MAX_FILE_BYTES, read_yaml  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def billion_laughs(levels: int) -> str:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]" for level in range(1, levels)]
    return "\n".join(lines) + "\n"


def largest_accepted() -> str:
    line = "  the gateway retries on the other replica while the killed one restarts\n"
    return "name: big\ndescription: >\n" + line * ((MAX_FILE_BYTES - 40) // len(line))


CASES = {
    "recursive alias": "a: &a [*a]\n",
    "alias bomb, 5 levels": billion_laughs(5),
    "alias bomb, 9 levels": billion_laughs(9),
    "nested 5000 deep": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    f"largest accepted ({MAX_FILE_BYTES // 1000} kB)": largest_accepted(),
}


def best_time(path: Path, rounds: int) -> tuple[float, str]:
    times, outcome = [], ""
    for _ in range(rounds):
        started = time.perf_counter()
        try:
            read_yaml(path)
            outcome = "read"
        except BadInput as error:
            outcome = "refused: " + error.message.split(": ", 1)[-1][:70]
        times.append(time.perf_counter() - started)
    return min(times), outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = {"shipped scenario": REPO / "scenarios" / "store-primary-kill.yaml"}
        for name, text in CASES.items():
            paths[name] = Path(folder) / f"{len(paths)}.yaml"
            paths[name].write_text(text)
        for name, path in paths.items():
            seconds, outcome = best_time(path, args.rounds)
            print(f"{name:32} {seconds * 1000:8.1f} ms  {outcome}")


if __name__ == "__main__":
    main()
