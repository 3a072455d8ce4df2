"""The `swp` command's entry point, and its start-up without garbage collection.

A command spends most of its start-up importing its libraries (Typer, SQLModel, SQLAlchemy,
Pydantic, Rich): several hundred thousand objects, all kept for the life of the process, none
of them garbage. Python's cyclic garbage collector, meanwhile, walks them over and over as they
pile up: about a tenth of the start-up of every command. So the command turns the collector off
before it imports anything (`main`), and back on when its own work begins, as it opens its
database (`resume`, called by swp.db): the objects made so far are moved out of the collector's
sight (`gc.freeze`), so the collections during the work do not walk them either. A program that
imports swp's modules (the tests, a script) keeps its collector as it is. Imports nothing
beyond `gc` at import, as every command imports it first.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_paused = False  # True while the collector is off for this module's start-up


def pause() -> None:
    """Turn the cyclic garbage collector off for the start-up (if it is on)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """The command's own work begins: freeze what the start-up made, and collect again. Does
    nothing unless `pause` turned the collector off."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()


@contextmanager
def without_collection() -> Iterator[None]:
    """The collector off for a bulk write (a ledger import): its rows are millions of tuples,
    freed as each batch goes in (what cyclic garbage it leaves does not grow with the file, and
    is collected afterwards); the collector walked them about 7,000 times in a million-line
    import, some 6% of its time. Back as it was afterwards, however the write ends."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def main() -> None:
    """`swp`: the command line (swp.cli.main), started without garbage collection."""
    pause()
    from swp.cli import main as run

    run()
