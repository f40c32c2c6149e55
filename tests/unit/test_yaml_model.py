"""YAML files to models: bounded reading (alias bombs, recursion, size, depth) and problems with lines and tips."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.errors import BadInput
from harness.yaml_model import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_VALUES,
    FileProblems,
    Problem,
    Tip,
    field_missing,
    read_yaml,
    validate_model,
)


def _billion_laughs(levels: int) -> str:
    """YAML's 'billion laughs': each level repeats the one before nine times (9**levels values)."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def _file(tmp_path: Path, text: str, name: str = "file.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _refused(path: Path) -> Problem:
    with pytest.raises(FileProblems) as caught:
        read_yaml(path)
    assert isinstance(caught.value, BadInput)
    (problem,) = caught.value.problems
    return problem


@pytest.mark.parametrize(
    "text",
    ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a {<<: *a}\n", "top:\n  - &x [1, [2, *x]]\n"],
    ids=["list", "mapping", "merge-key", "nested"],
)
def test_a_recursive_alias_is_refused_not_a_recursion_error(tmp_path: Path, text: str) -> None:
    problem = _refused(_file(tmp_path, text))
    assert "a recursive alias" in problem.message
    assert "*name" in problem.tip


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    # 9**5 = 59049 values: small enough that expanding it would "work", so the refusal is the bound's
    problem = _refused(_file(tmp_path, _billion_laughs(5)))
    assert f"expand this value to more than {MAX_VALUES} keys and values" in problem.message
    assert "billion laughs" in problem.message
    assert problem.line == 5


def test_the_nine_level_billion_laughs_is_refused(tmp_path: Path) -> None:
    # 9**9 = 387 million values: reading it unbounded took over a minute (see tests/benchmarks/yaml_bench.py)
    assert "billion laughs" in _refused(_file(tmp_path, _billion_laughs(9))).message


def test_many_aliases_within_the_bound_are_fine(tmp_path: Path) -> None:
    document = read_yaml(_file(tmp_path, _billion_laughs(4)))  # 6561 values
    assert len(document.data["l3"]) == 9
    assert document.line(("l3", 8, 8, 8)) == 1, "an aliased value is where its anchor was"


def test_too_many_values_without_aliases_are_refused_as_such(tmp_path: Path) -> None:
    problem = _refused(_file(tmp_path, "a: [" + "1, " * MAX_VALUES + "]\n"))
    assert problem.message.startswith(f"more than {MAX_VALUES} keys and values")
    assert "alias" not in problem.message


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    deep = _file(tmp_path, "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n")
    assert f"nested more than {MAX_DEPTH} levels deep" in _refused(deep).message
    deeper = _file(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n", "deeper.yaml")  # the composer's own recursion
    assert f"nested more than {MAX_DEPTH} levels deep" in _refused(deeper).message


def test_an_unreadable_file_is_a_file_problem(tmp_path: Path) -> None:
    with pytest.raises(FileProblems) as caught:
        read_yaml(tmp_path / "missing.yaml")
    assert caught.value.message == f"{tmp_path / 'missing.yaml'}: cannot read it: No such file or directory"


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    huge = _file(tmp_path, "# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    problem = _refused(huge)
    assert f"larger than {MAX_FILE_BYTES // 1000} kB" in problem.message
    assert problem.line == 1


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wait: Annotated[float, Tip("a number of seconds, e.g. 2.5")] = 0.0
    command: str = ""
    shell: bool = False

    @model_validator(mode="after")
    def _shell_needs_a_command(self) -> _Step:
        if self.shell and not self.command:
            raise field_missing("command", "shell: true runs it")
        return self


class _Target(BaseModel):
    model_config = ConfigDict(extra="forbid", title="target file")
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$", examples=["my-stack"])
    steps: list[_Step] = Field(min_length=1, examples=[[{"command": "make up"}]])


def _problems(tmp_path: Path, text: str) -> FileProblems:
    path = _file(tmp_path, text, "target.yaml")
    with pytest.raises(FileProblems) as caught:
        validate_model(path, read_yaml(path), _Target, format_tip="see TARGETS.md")
    return caught.value


def test_validate_model_reports_lines_fields_tips_and_did_you_mean(tmp_path: Path) -> None:
    text = "name: My Stack\nsteps:\n  - wiat: 2\n  - wait: soon\n  - shell: true\n"
    error = _problems(tmp_path, text)
    path = tmp_path / "target.yaml"
    assert error.message.splitlines() == [
        f"{path}:1: name: 'My Stack' is not a valid name",
        f"{path}:3: steps[0].wiat: unknown field",
        f"{path}:4: steps[1].wait: Input should be a valid number, unable to parse string as a number, got 'soon'",
        f"{path}:5: steps[2].command: missing (shell: true runs it)",
    ]
    assert "e.g. 'my-stack'" in error.tip
    assert "steps[0].wiat: did you mean 'wait'? fields here: wait, command, shell" in error.tip
    assert "steps[1].wait: a number of seconds, e.g. 2.5" in error.tip
    assert "steps[2].command: add 'command:'" in error.tip


def test_validate_model_names_the_top_level_and_the_examples(tmp_path: Path) -> None:
    empty = _problems(tmp_path, "")
    assert empty.problems == [Problem(1, "", "the file is empty")]
    assert empty.tip == "a target file is a mapping, at least `name: my-stack` and `steps: [{command: make up}]`"
    missing = _problems(tmp_path, "name: x\n")
    assert missing.message.endswith("target.yaml:1: steps: missing (required)")
    assert missing.tip == "add `steps: [{command: make up}]`"


def test_duplicate_keys_are_problems_even_when_the_model_is_happy(tmp_path: Path) -> None:
    error = _problems(tmp_path, "name: a\nname: b\nsteps: [{}]\n")
    assert error.message.endswith("target.yaml:2: name: duplicate key (first at line 1)")


def test_line_of_a_path_not_in_the_file_is_its_nearest_ancestors(tmp_path: Path) -> None:
    document = read_yaml(_file(tmp_path, "a:\n  b: 1\nc: [x, y]\n"))
    assert (document.line(("a", "b")), document.line(("c", 1)), document.line(("c", 1, "zz"))) == (2, 3, 3)
    assert (document.line(("a", "b"), of_key=True), document.line(("nothing",))) == (2, 1)
