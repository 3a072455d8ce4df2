"""The CLI reference in docs/ is generated from the app; stale docs fail here."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_current():
    from swp.cli.reference import markdown

    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == markdown(), "docs/cli.md is stale: run `make docs`"


def test_every_command_has_help_ending_with_an_example():
    import typer.main

    from swp.cli import app

    def leaves(command, path):
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from leaves(sub, [*path, name])
        else:
            yield " ".join(path), command

    missing = [name for name, cmd in leaves(typer.main.get_command(app), [])
               if not (cmd.help or "").strip().splitlines()[-1].startswith("Example: swp")]
    assert missing == []
