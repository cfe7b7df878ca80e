"""`--help` is the first manual and the README shows every command (sqlite-utils' test_docs)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from xlcrm.doors.cli import cli

from .conftest import ROOT

COMMANDS = sorted(cli.commands)


def test_every_command_is_known():
    assert COMMANDS == ["archive", "build-addin", "collect", "import", "new", "refresh", "sample", "validate", "weekly"]


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help_with_an_example_and_is_in_the_readme(name):
    command = cli.commands[name]
    assert command.help and "Example:" in command.help
    for param in command.params:
        if param.param_type_name == "option":  # click arguments carry no help of their own
            assert getattr(param, "help", None), f"{name} --{param.name} has no help"
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert f"### `xlcrm {name}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    commands = [line for line in readme[:12] if line.startswith("python3 -m venv")]
    assert len(commands) == 2
    assert "xlcrm weekly workbook/sample.xlsx" in commands[0]
    assert commands[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_rules_guide_names_every_rule_and_every_task_kind():
    from xlcrm.core import vocab
    from xlcrm.core.rules import RULE_DESCS

    guide = (ROOT / "docs" / "规则说明.md").read_text(encoding="utf-8")
    missing = [r.key for r in RULE_DESCS if f"| {r.key} |" not in guide]
    missing += [k.name for k in vocab.TASK_KINDS if f"| {k.name} |" not in guide]
    assert missing == []


def test_readme_and_docs_stand_alone():
    for path in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        assert "../shared" not in path.read_text(encoding="utf-8"), path


def test_the_rules_guide_states_each_numeric_rule_range():
    from xlcrm.core.rules import RULE_DESCS

    guide = (ROOT / "docs" / "规则说明.md").read_text(encoding="utf-8")
    for desc in RULE_DESCS:
        bounds = getattr(desc.convert, "range", None)
        if bounds is not None:
            line = next(ln for ln in guide.splitlines() if ln.startswith(f"| {desc.key} |"))
            assert f"| {bounds[0]}–{bounds[1]} |" in line, line
