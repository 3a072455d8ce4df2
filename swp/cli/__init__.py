"""The `swp` command: the root app, its global options, and the one place errors become exit
codes (SPEC section 3). Each noun is a sub-app in its own module."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from swp import live
from swp.cli._common import State, state

if TYPE_CHECKING:
    from collections.abc import Sequence

    from typer._click import Context as ClickContext
    from typer.core import _TyperParameter

_json_requested = False  # set by the root callback, read when an error is reported


class SwpGroup(TyperGroup):
    """Runs the command and maps every failure to one stderr line and its exit code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> int:
        global _json_requested
        from typer._click import exceptions as click_exc

        from swp.errors import EXIT_INPUT, EXIT_USAGE, SwpError

        _json_requested = False
        argv = global_options_first(self, list(sys.argv[1:] if args is None else args))
        debug = "--debug" in argv
        try:
            rv = super().main(args=argv, prog_name=prog_name or "swp", complete_var=complete_var,
                              standalone_mode=False, windows_expand_args=windows_expand_args, **extra)
            code = rv if isinstance(rv, int) else 0
        except SwpError as exc:
            _report(exc.message, exc.exit_code, exc.clause, exc.payload)
            code = exc.exit_code
        except click_exc.NoArgsIsHelpError as exc:  # `swp` or `swp member` alone: the help
            sys.stdout.write(exc.format_message() + "\n")
            code = 0
        except click_exc.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            _report(f"{exc.format_message()}{hint}", EXIT_USAGE, None)
            code = EXIT_USAGE
        except click_exc.ClickException as exc:
            _report(exc.format_message(), exc.exit_code, None)
            code = exc.exit_code
        except typer.Abort:
            _report("aborted", EXIT_INPUT, None)
            code = EXIT_INPUT
        except KeyboardInterrupt:
            _report("interrupted; nothing was changed by the unfinished command", 130, None)
            code = 130
        except Exception as exc:  # noqa: BLE001 - the last line of defence for users
            if debug:
                raise
            name = type(exc).__name__
            _report(f"unexpected error ({name}: {exc}); run again with --debug for the full "
                    "trace, and please report it", EXIT_INPUT, None)
            code = EXIT_INPUT
        if standalone_mode:
            sys.exit(code)
        return code


GLOBAL_FLAGS = ("--json", "--debug")
GLOBAL_VALUED = ("--as", "--db")


def global_options_first(group: Any, argv: list[str]) -> list[str]:
    """`swp ledger balance --json`, `swp vote 1 yes --as ann`: the global options (--json,
    --debug, --as X, --db X) are accepted anywhere on the line, as in git or kubectl. They are
    moved in front of the command; a `--` ends the options, and a value given to the command's
    own option (`--memo --json`) is left where it is."""
    front: list[str] = []
    i = 0
    while i < len(argv):  # the global options already in front
        token = argv[i]
        if token in GLOBAL_VALUED and i + 1 < len(argv):
            front += argv[i:i + 2]
            i += 2
        elif token.startswith("-") and token != "--":
            front.append(token)
            i += 1
        else:
            break
    command: Any = group
    rest: list[str] = []
    moved: list[str] = []
    while i < len(argv):
        token = argv[i]
        if token == "--":
            rest += argv[i:]
            break
        if token in GLOBAL_FLAGS:
            moved.append(token)
        elif token in GLOBAL_VALUED and i + 1 < len(argv):
            moved += argv[i:i + 2]
            i += 1
        elif token.split("=", 1)[0] in GLOBAL_VALUED and "=" in token:
            moved.append(token)
        elif token.startswith("-"):
            rest.append(token)
            option = _option(command, token)
            if option is not None and "=" not in token and not option.is_flag \
                    and not option.count and i + 1 < len(argv):
                rest.append(argv[i + 1])  # its value, whatever it looks like
                i += 1
        else:
            rest.append(token)
            sub = (getattr(command, "commands", None) or {}).get(token)
            if sub is not None:
                command = sub
        i += 1
    return front + moved + rest


def _option(command: Any, token: str) -> Any:
    name = token.split("=", 1)[0]
    for param in getattr(command, "params", ()):
        if getattr(param, "param_type_name", "") == "option" \
                and name in (*param.opts, *param.secondary_opts):
            return param
    return None


def _report(message: str, code: int, clause: str | None, payload: dict[str, Any] | None = None) -> None:
    from swp import render

    first_line, *details = message.strip().splitlines() if message.strip() else ["error"]
    render.error(first_line, exit_code=code, clause=clause, json_mode=_json_requested,
                 payload=payload)
    for line in details:  # a list that explains the one line (each mistake in a mapping file, say)
        sys.stderr.write(f"  {line.strip()}\n")


_root = typer.Typer(  # the global options alone; `app` and `app_for` add the commands
    cls=SwpGroup,
    name="swp",
    help="New practice? `swp init`; already set up? `swp practice show`.\n\n"
         "Run an employee-owned social work practice: members, ledger, profit-sharing, rules.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: Typer's Rich help imports ~60 ms of modules
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from swp import __version__

        typer.echo(f"swp {__version__}")
        raise typer.Exit()


@_root.callback()
def root(
    ctx: typer.Context,
    db: str | None = typer.Option(None, "--db", envvar="SWP_DB", show_default="swp.db", metavar="PATH",
                                  help="Database: a SQLite file path or a URL (postgresql+psycopg://...)."),
    actor: str | None = typer.Option(None, "--as", envvar="SWP_AS", metavar="HANDLE",
                                     help="The acting member."),
    key: str | None = typer.Option(None, "--key", envvar="SWP_KEY", metavar="FILE",
                                   help="The acting member's private key file (default: in swp's configuration folder)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    debug: bool = typer.Option(False, "--debug", help="Show the full trace of an unexpected error."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """swp: the co-operative toolkit of an employee-owned social work practice.

    Example: swp --db practice.db member list
    """
    global _json_requested
    _json_requested = json_output
    ctx.obj = State(db=db, actor=actor, json=json_output, debug=debug, key=key)
    live.name(db)  # no file a command writes may replace it (swp.files)
    del version


# each top-level command's module (swp/cli/<module>.py), in the order --help lists them. A
# process imports only the module of the command it runs.
COMMANDS = {
    "init": "practice", "practice": "practice", "member": "members", "ledger": "ledger",
    "period": "sharing", "statement": "sharing", "rules": "governance", "proposal": "governance",
    "vote": "governance", "shares": "governance", "meeting": "meetings", "register": "registers",
    "calendar": "calendar", "contract": "contracts", "partner": "partners", "finance": "finance",
    "key": "keys", "check": "check", "audit": "audit", "export": "export", "backup": "backup",
    "db": "database", "serve": "web",
}
MODULES = tuple(dict.fromkeys(COMMANDS.values()))  # each module once, in that order


def _with(modules: tuple[str, ...]) -> typer.Typer:
    """The root app with the commands of these modules (each adds its own)."""
    import copy
    import importlib

    built = copy.copy(_root)
    built.registered_commands = []
    built.registered_groups = []
    for module in modules:
        importlib.import_module(f"swp.cli.{module}").register(built)
    _plain_help(built)
    return built


_whole: typer.Typer | None = None


def whole_app() -> typer.Typer:
    """The whole app, every command of every module (built once, on first use)."""
    global _whole
    if _whole is None:
        _whole = _with(MODULES)
    return _whole


def __getattr__(name: str) -> Any:
    """`app` is `whole_app()`: `swp --help` and the CLI reference list every command."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return whole_app()


def _plain_help(typer_app: typer.Typer) -> None:
    """Every sub-app prints plain help, so that `swp ... --help` stays fast."""
    if typer_app.registered_callback is not None:
        _friendly_help(typer_app.registered_callback.callback)
    for command in typer_app.registered_commands:
        _friendly_help(command.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            group.typer_instance.rich_markup_mode = None
            _plain_help(group.typer_instance)


FORMATS = {"DATE": "YYYY-MM-DD, today or yesterday",
           "AMOUNT": "pounds, e.g. 950, 12500.50 or £12,500.50"}


def _friendly_help(callback: Any) -> None:
    """Help in words: TEXT and NUMBER rather than <str> and <int range>, and every DATE and
    AMOUNT says how it is written."""
    import inspect

    if callback is None:
        return
    for param in inspect.signature(callback).parameters.values():
        info = param.default
        if not isinstance(info, (typer.models.OptionInfo, typer.models.ArgumentInfo)):
            continue
        if info.metavar is None and param.name == "handle":
            info.metavar = "HANDLE"
        elif info.metavar is None and param.annotation in ("str", str):
            info.metavar = "TEXT"
        elif info.metavar is None and param.annotation in ("int", int):
            info.metavar = "NUMBER"
        said = FORMATS.get(info.metavar or "")
        if said and "YYYY-MM-DD" not in (info.help or "") and "£" not in (info.help or ""):
            help_ = (info.help or "").rstrip(".")
            info.help = f"{help_} ({said})." if help_ else f"{said[0].upper()}{said[1:]}."


def _arguments_say_their_metavar_alone() -> None:
    """Typer prints an argument as `AMOUNT <str>` even when it has a metavar, where an option
    with one reads `--date DATE`: let an argument with a metavar read the same way."""
    from typer.core import TyperArgument

    typed = TyperArgument.display_type_rich

    def display_type_rich(self: _TyperParameter, ctx: ClickContext) -> str | None:
        assert isinstance(self, TyperArgument)  # it replaces the method of arguments only
        return None if self.metavar is not None else typed(self, ctx)

    TyperArgument.display_type_rich = display_type_rich  # type: ignore[method-assign]

    # the usage line: a required argument reads `HANDLE`, as in the list below it, not Typer's
    # `{HANDLE}` (which a reader may type, braces and all); a choice keeps `{yes|no|abstain}`
    braced = TyperArgument._usage_display_name

    def _usage_display_name(self: TyperArgument) -> str:
        name = braced(self)
        plain = self.display_name_raw
        return name.replace(f"{{{plain}}}", plain, 1) if "|" not in plain else name

    TyperArgument._usage_display_name = _usage_display_name  # type: ignore[method-assign]


_arguments_say_their_metavar_alone()


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    name = command_named(sys.argv[1:])
    (app_for(name) if name else whole_app())()


def command_named(argv: list[str]) -> str | None:
    """The command a command line runs (`member` in `swp --db x member list`), or None when
    the line asks for the root's help or version, or names no command."""
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in (*GLOBAL_VALUED, "--key"):
            i += 2
        elif token in GLOBAL_FLAGS or token.split("=", 1)[0] in (*GLOBAL_VALUED, "--key"):
            i += 1
        else:
            return None if token.startswith("-") else token
    return None


def app_for(name: str) -> typer.Typer:
    """The root app with only the named command or group: a process imports the module of the
    one command it runs and builds that command's options, not all sixty (Typer builds every
    function's parameters when it makes the click group). A name that is no command gets the
    whole app, whose error lists the commands."""
    from typer.main import get_command_name

    module = COMMANDS.get(name)
    if module is None:
        return whole_app()
    only = _with((module,))
    only.registered_commands = [c for c in only.registered_commands
                                if (c.name or get_command_name(c.callback.__name__)) == name]  # type: ignore[union-attr]
    only.registered_groups = [g for g in only.registered_groups
                              if (g.name or (g.typer_instance.info.name if g.typer_instance else None)) == name]
    return only


__all__ = ["app", "app_for", "command_named", "main", "state", "whole_app"]
