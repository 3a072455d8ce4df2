"""The CLI reference (docs/cli.md), generated from the app itself.

    python -m swp.cli.reference > docs/cli.md      (or: make docs)

A test regenerates it and fails when docs/cli.md is stale.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import typer.main

if TYPE_CHECKING:
    from typer._click.core import Command, Parameter

HEADER = """# swp command reference

Generated from the app by `make docs` (`python -m swp.cli.reference`); do not edit by hand.
A test fails when this file is stale. Exit codes: 0 done, 1 bad input or precondition,
2 usage (a value outside a fixed choice too: the error names the allowed values), 3 refused
by the constitution (takeover guard), 4 a check found a problem. Case and surrounding spaces
do not matter in a fixed choice (`--format PDF`).
"""


def _param_line(param: Parameter) -> str:
    if param.param_type_name == "argument":
        name = (param.metavar or param.name).upper()
        text = f"- `{name}`"
    else:
        names = ", ".join(f"`{opt}`" for opt in param.opts)
        flag = getattr(param, "is_bool_flag", False) or getattr(param, "is_flag", False)
        metavar = "" if flag else f" {param.metavar or param.name.upper()}"
        text = f"- {names}{metavar}"
    helptext = getattr(param, "help", None)
    if helptext:
        text += f": {helptext}"
    if getattr(param, "multiple", False):
        text += " (repeatable)"
    if param.required:
        text += " (required)"
    elif param.param_type_name == "option" and param.default not in (None, False, (), []):
        text += f" (default: {param.default})"
    if getattr(param, "envvar", None):
        text += f" (env: {param.envvar})"
    return text


def _help_text(text: str) -> str:
    lines = []
    for line in inspect.cleandoc(text).splitlines():
        if line.startswith("Example: "):
            lines += ["```", line[len("Example: "):], "```"]
        else:
            lines.append(line)
    return "\n".join(lines)


def _walk(command: Command, path: list[str], out: list[str]) -> None:
    subcommands = getattr(command, "commands", None)
    if path:
        level = "#" * min(len(path) + 1, 4)
        out.append(f"{level} `{' '.join(['swp', *path])}`\n")
        if command.help:
            out.append(_help_text(command.help) + "\n")
        params = [p for p in command.params if p.name not in ("help",)]
        if params and not subcommands:
            out.append("\n".join(_param_line(p) for p in params) + "\n")
    else:
        out.append("## Global options\n")
        out.append("\n".join(_param_line(p) for p in command.params if p.name != "help") + "\n")
    if subcommands:
        for name in sorted(subcommands):
            _walk(subcommands[name], [*path, name], out)


def markdown() -> str:
    from swp.cli import app

    out = [HEADER]
    _walk(typer.main.get_command(app), [], out)
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
