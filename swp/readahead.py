"""Reading ahead in a second process: a long file is read and checked by a forked copy of this
process while this one writes what was read before.

`read_ahead(items)` returns an iterator over the same items, made by a child process forked
from this one (which so has every module, cache and value this one has, without importing
anything again) and sent back through a pipe, pickled, in order. An exception the items raise
in the child is raised here, in its place among them. The child only reads and computes: it
never touches a database connection it inherited (nor flushes this process's output: it ends
with `os._exit`). If this side stops early (an error, Ctrl-C), the child is stopped.

Only where forking is safe: a POSIX system other than macOS (whose system libraries may not
survive a fork), with no other thread running (a thread's locks would be copied held), and
SIGCHLD left to its default (so that the child is this process's to collect).
Elsewhere `read_ahead` returns None, and the caller goes through the items itself.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from collections.abc import Generator, Iterator
from typing import Any, BinaryIO, TypeVar

T = TypeVar("T")

_PIPE_BYTES = 1 << 20  # the pipe's buffer where the system lets it be set: a batch or more ahead


def can_fork() -> bool:
    """Can a child process be forked here safely? Not while another thread runs, nor unless
    SIGCHLD has its default action: where it is ignored (as a program that started this one
    may have left it) the system collects the child as it ends, and a handler of the
    program's own may collect it too; either way its exit could not be waited for, and its
    pid, once free, could be another process's by the time this one stops it."""
    return (hasattr(os, "fork") and sys.platform != "darwin" and threading.active_count() == 1
            and signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL)


def read_ahead(items: Iterator[T]) -> Generator[T, None, None] | None:
    """`items`, made by a forked child process while the caller goes through those before
    (None: no child can be forked here). The caller must close the iterator it gets (a
    `with contextlib.closing(...)`) if it stops before the end, so that the child is stopped."""
    if not can_fork():
        return None
    try:
        read_end, write_end = os.pipe()
    except OSError:  # (no file descriptor left, say): read here
        return None
    try:
        import fcntl

        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)  # (Linux only)
    except (AttributeError, OSError):
        pass  # the system's own buffer size: the child waits for the reader sooner
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: make the items, send them, and end without any clean-up of the parent's
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops the child
            with open(write_end, "wb") as out:
                _send(items, out)
        finally:
            os._exit(0)
    os.close(write_end)
    received = _received(pid, read_end)
    next(received)  # into its try: closed even before its first item, it stops the child
    return received


def _send(items: Iterator[Any], out: BinaryIO) -> None:
    """Each item, then the end; or the items up to the exception they raised, then it."""
    def dump(message: tuple[bool, Any]) -> None:  # (a pickler of its own: the last's memo is let go)
        pickle.dump(message, out, pickle.HIGHEST_PROTOCOL)

    try:
        for item in items:
            dump((True, item))
            out.flush()
    except Exception as exc:  # noqa: BLE001 - raised in the parent, in its place
        try:
            dump((False, exc))
        except Exception:  # noqa: BLE001 - an exception that cannot be pickled: its text
            dump((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    else:
        dump((False, None))


def _received(pid: int, read_end: int) -> Generator[Any, None, None]:
    """The items the child sends, after a first None that `read_ahead` takes itself (so that
    the iterator it hands out is already inside the `finally` that stops the child)."""
    try:
        with open(read_end, "rb") as source:
            yield None
            while True:
                try:
                    more, item = pickle.load(source)
                except EOFError:
                    raise RuntimeError("the process reading the file ahead stopped before its end") from None
                if more:
                    yield item
                elif item is None:
                    return
                else:
                    raise item
    finally:
        _stop(pid)


def _stop(pid: int) -> None:
    """End the child (it may be waiting for this side to read) and collect it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:  # collected already (a SIGCHLD handler set from C, say)
        pass
