"""Every `kpi` subcommand is documented in the README and says what it does (sqlite-utils' tests/test_docs.py
is the model). Commands are read from the parser itself, so one registered by a kpi_cli/ module or
nested under another (`kpi key check`) is covered the moment it exists.

That every KPI id is documented in docs/metrics.md is tests/test_docs_metrics.py's job.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from kpi_cli.main import build_parser

README = Path(__file__).resolve().parent.parent / "README.md"


def subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, help) for every subcommand, depth first: ("key",), ("key", "check"), …"""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*path, name), helps.get(name)
                yield from subcommands(sub, (*path, name))


def leaves(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    """The commands a user runs: a group such as `kpi key` is documented through its subcommands."""
    paths = [p for p, _ in subcommands(parser)]
    return [p for p in paths if not any(q[: len(p)] == p and q != p for q in paths)]


def command_line_section() -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"^## The command line\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert m, "README.md has no '## The command line' section"
    return m.group(1)


def documented(section: str) -> set[tuple[str, ...]]:
    """Each `kpi WORD WORD …` in the section's examples, every prefix of it (options and arguments stop it)."""
    found = set()
    for line in section.splitlines():
        m = re.match(r"\s*(?:\$ )?kpi((?: [a-z][a-z0-9_-]*)+)", line)
        if m:
            words = tuple(m.group(1).split())
            found |= {words[:i] for i in range(1, len(words) + 1)}
    return found


COMMANDS = leaves(build_parser())
ALL = list(subcommands(build_parser()))


def test_the_parser_has_the_commands_this_test_walks():
    # guards the walk itself: if argparse's internals moved, every test below would pass on nothing
    assert {("ingest",), ("uploads",), ("restore",), ("demo",), ("serve",)} <= set(COMMANDS)
    assert {("metrics",), ("review",), ("boardpack",)} <= set(COMMANDS)  # registered by their own kpi_cli/ modules


def test_nested_commands_are_found():
    p = argparse.ArgumentParser(prog="kpi")
    sub = p.add_subparsers()
    sub.add_parser("ingest", help="load")
    key = sub.add_parser("key", help="the key").add_subparsers()
    key.add_parser("check", help="check it")
    assert leaves(p) == [("ingest",), ("key", "check")]
    assert documented("kpi key check --json   # comment\nkpi ingest a.csv\n") == {
        ("key",), ("key", "check"), ("ingest",), ("ingest", "a")}  # an argument is harmless: never a command


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_command_is_documented_in_the_readme(command):
    assert command in documented(command_line_section()), (
        f"`kpi {' '.join(command)}` is not in README.md's command-line section: add an example line for it"
    )


@pytest.mark.parametrize(("command", "help_text"), ALL, ids=[" ".join(c) for c, _ in ALL])
def test_command_has_help(command, help_text):
    assert help_text and help_text.strip(), f"`kpi {' '.join(command)}` has no help text in the parser"
