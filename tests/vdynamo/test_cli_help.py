"""Every argument of every ``vdynamo`` command is described in its ``--help``, and the
commands of a local cluster's walk state their exit statuses there (session 48's new
user's walk: ``get``, ``put`` and ``delete``'s KEY, ``put --content-type`` (whose
default is not the HTTP API's), ``serve -v`` were bare; ``get``, ``put``, ``delete``,
``join``, ``leave``, ``remove``, ``cluster down`` and ``serve`` said no exit status).
Each command's parsers are caught as it parses (nothing runs)."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from vdynamo.cli import SUBCOMMANDS

#: the commands whose --help states their exit statuses (the rest: `vdynamo --help`'s
#: own, and check's and replay's, which did before)
WITH_EXIT_STATUS = {"check", "replay", "serve", "cluster up", "cluster status",
                    "cluster down", "join", "leave", "remove", "get", "put", "delete"}


class _Parsed(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


def _parser_of(name: str, monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    def caught(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        raise _Parsed(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", caught)
    module, _, function = SUBCOMMANDS[name][0].partition(":")
    with pytest.raises(_Parsed) as parsed:
        getattr(importlib.import_module(module), function or "main")(["x"])
    return parsed.value.parser


def _commands(name: str, parser: argparse.ArgumentParser,
              ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``parser`` and its subcommands' parsers, named."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, subparser in action.choices.items():
                yield from _commands(f"{name} {sub}", subparser)


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_argument_is_described(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for command, parser in _commands(name, _parser_of(name, monkeypatch)):
        bare = [action.dest for action in parser._actions if not action.help]
        assert bare == [], f"vdynamo {command} --help: {bare} undescribed"
        if command in WITH_EXIT_STATUS:
            assert "exit status: 0" in (parser.epilog or ""), f"vdynamo {command}"
