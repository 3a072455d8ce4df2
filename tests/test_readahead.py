"""`swp.readahead`: items made by a forked process, received in order, its errors in their place."""

from __future__ import annotations

import os
import threading

import pytest

from swp import readahead
from swp.errors import InputError, RuleViolation


def no_child_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def made_elsewhere(n: int):
    """n items, each with the id of the process that made it."""
    for i in range(n):
        yield i, os.getpid()


def test_the_items_come_in_order_from_another_process():
    items = readahead.read_ahead(made_elsewhere(2500))
    assert items is not None
    got = list(items)
    assert [i for i, _ in got] == list(range(2500))
    assert {pid for _, pid in got} != {os.getpid()} and len({pid for _, pid in got}) == 1
    assert no_child_left()


@pytest.mark.parametrize("error", [InputError("line 7: not a date: '2026-13-01'"),
                                   RuleViolation("7.1", "an outside investor cannot hold a share")])
def test_an_error_comes_after_the_items_before_it_with_its_class_and_attributes(error):
    def failing():
        yield from range(3)
        raise error

    items = readahead.read_ahead(failing())
    assert items is not None
    got = []
    with pytest.raises(type(error)) as raised:
        for item in items:
            got.append(item)
    assert got == [0, 1, 2]
    assert str(raised.value) == str(error) and raised.value.__dict__ == error.__dict__
    assert raised.value.exit_code == error.exit_code
    assert no_child_left()


def test_an_unexpected_error_or_one_that_cannot_be_pickled_still_stops_the_items():
    def failing():
        yield 1
        raise ValueError("boom")

    def unpicklable():
        yield 1
        error = ValueError("with a lock")
        error.lock = threading.Lock()  # type: ignore[attr-defined]
        raise error

    for source, kind, text in ((failing(), ValueError, "boom"), (unpicklable(), RuntimeError, "ValueError: with a lock")):
        items = readahead.read_ahead(source)
        assert items is not None
        assert next(items) == 1
        with pytest.raises(kind, match=text):
            next(items)
    assert no_child_left()


def test_a_process_that_dies_is_an_error_not_an_early_end():
    def dying():
        yield 1
        os._exit(3)

    items = readahead.read_ahead(dying())
    assert items is not None
    assert next(items) == 1
    with pytest.raises(RuntimeError, match="stopped before its end"):
        next(items)
    assert no_child_left()


def test_stopping_early_stops_the_other_process():
    """The reader stops (an error in a batch, say): the process reading ahead, blocked on a
    full pipe, is ended and collected, not left behind."""
    def endless():
        i = 0
        while True:
            yield "x" * 1000, i
            i += 1

    items = readahead.read_ahead(endless())
    assert items is not None
    assert next(items)[1] == 0
    items.close()
    assert no_child_left()


def test_no_process_is_forked_while_another_thread_runs():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not readahead.can_fork()
        assert readahead.read_ahead(iter([1])) is None
    finally:
        stop.set()
        thread.join()
    assert readahead.can_fork() == (hasattr(os, "fork") and os.uname().sysname != "Darwin")


@pytest.mark.parametrize("handler", ["ignored", "reaped elsewhere"])
def test_children_collected_by_someone_else_do_not_fail_the_items(handler):
    """A program that ignores SIGCHLD (an ignored signal stays ignored across exec, so swp
    may be started that way) has its children collected by the system, and one with a
    SIGCHLD handler of its own may collect them itself: the child's exit cannot be waited
    for, nor its pid signalled safely once it is gone. The items still come whole, and no
    error is made of it (here no process is forked: the caller goes through the items)."""
    import signal
    import time

    def reap(signum, frame):
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass

    before = signal.signal(signal.SIGCHLD, signal.SIG_IGN if handler == "ignored" else reap)
    try:
        items = readahead.read_ahead(made_elsewhere(50))
        got = []
        for item in items if items is not None else made_elsewhere(50):
            if not got:
                time.sleep(0.3)  # the other process ends meanwhile (and is collected)
            got.append(item)
    finally:
        signal.signal(signal.SIGCHLD, before)
    assert [i for i, _ in got] == list(range(50))
    assert no_child_left()


def test_closing_before_the_first_item_stops_the_other_process():
    """The caller closes what it got before taking a single item (Ctrl-C right after the
    fork, say): the process reading ahead, soon blocked on a full pipe, is ended and
    collected all the same, and the pipe is not left open."""
    def endless():
        i = 0
        while True:
            yield "x" * 1000, i
            i += 1

    fds = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    items = readahead.read_ahead(endless())
    assert items is not None
    items.close()
    assert no_child_left()
    if fds is not None:
        assert len(os.listdir("/proc/self/fd")) == fds
