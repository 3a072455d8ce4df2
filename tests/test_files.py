"""Safe output files (swp/files.py): atomic, private, never clobbering, never through a link,
never outside the folder asked for; and hostile names and paths at the CLI."""

from __future__ import annotations

import csv
import errno
import io
import os
import stat
from pathlib import Path

import pytest

from swp import files
from swp.errors import InputError, PreconditionError, SwpError


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def leftovers(folder) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


def atomic_write(path, text: str, *, force: bool = False) -> Path:
    """Write through `files.atomic_open`, as the exports do."""
    with files.atomic_open(path, force=force) as handle:
        handle.write(text)
    return Path(os.fspath(path)).expanduser()


# --- the helper ---------------------------------------------------------------------------------

def test_write_is_private_and_leaves_no_temporary_file(tmp_path):
    old = os.umask(0o000)  # even a permissive umask gives 0600
    try:
        path = atomic_write(tmp_path / "out.txt", "hello\n")
    finally:
        os.umask(old)
    assert path.read_text() == "hello\n"
    assert mode(path) == 0o600
    assert leftovers(tmp_path) == []


def test_an_existing_file_is_kept_without_force_and_replaced_with_it(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("precious")
    with pytest.raises(PreconditionError, match="already exists; pass --force"):
        atomic_write(target, "new")
    assert target.read_text() == "precious"
    atomic_write(target, "new", force=True)
    assert target.read_text() == "new" and mode(target) == 0o600
    assert leftovers(tmp_path) == []


def test_a_file_that_appears_meanwhile_is_never_clobbered(tmp_path):
    target = tmp_path / "race.txt"
    with pytest.raises(PreconditionError, match="already exists"):
        with files.atomic_open(target) as handle:
            handle.write("mine")
            target.write_text("someone else's")  # created after the check, before the link
    assert target.read_text() == "someone else's"
    assert leftovers(tmp_path) == []


def test_a_failure_while_writing_leaves_nothing(tmp_path):
    target = tmp_path / "half.txt"
    with pytest.raises(RuntimeError):
        with files.atomic_open(target) as handle:
            handle.write("half of it")
            raise RuntimeError("boom")
    assert not target.exists() and leftovers(tmp_path) == []


def test_a_full_disk_is_one_clear_line_and_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "full.txt"
    with pytest.raises(SwpError, match=r"^the disk is full; nothing was written to .*full\.txt$"):
        with files.atomic_open(target) as handle:
            handle.write("x")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert not target.exists() and leftovers(tmp_path) == []

    def no_space(*_args, **_kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", no_space)
    with pytest.raises(SwpError, match="the disk is full"):
        files.write_many([(target, b"data")])
    assert not target.exists() and leftovers(tmp_path) == []


def test_a_symbolic_link_at_the_destination_is_refused_even_with_force(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    link = tmp_path / "link.txt"
    link.symlink_to(victim)
    for force in (False, True):
        with pytest.raises(PreconditionError, match="symbolic link"):
            atomic_write(link, "evil", force=force)
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to(tmp_path / "nowhere.txt")
    with pytest.raises(PreconditionError, match="symbolic link"):
        atomic_write(dangling, "evil", force=True)
    assert victim.read_text() == "do not touch"
    assert not (tmp_path / "nowhere.txt").exists()
    assert link.is_symlink() and dangling.is_symlink()


def test_a_link_planted_after_the_check_is_not_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    target = tmp_path / "out.txt"
    for force in (False, True):
        with pytest.raises(PreconditionError):
            with files.atomic_open(target, force=force) as handle:
                handle.write("evil")
                target.symlink_to(victim)
        assert victim.read_text() == "do not touch"
        target.unlink()


def test_a_link_swapped_in_for_the_temporary_file_is_not_written_through(tmp_path, monkeypatch):
    """Someone who can write to the folder replaces swp's temporary file by a link to a file
    of their choosing, between its creation and its writing: the content never goes there."""
    real = files.open_beside
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def swapped(target):
        fd, temp = real(target)
        os.unlink(temp)
        os.symlink(elsewhere / os.path.basename(temp), temp)
        return fd, temp

    monkeypatch.setattr(files, "open_beside", swapped)
    with pytest.raises(PreconditionError, match="was replaced by a symbolic link meanwhile; "
                                                 "nothing was written to .*secret.txt$"):
        files.write_many([(tmp_path / "secret.txt", b"secret")])
    with pytest.raises(PreconditionError, match="replaced by a symbolic link"):
        with files.atomic_open(tmp_path / "other.txt") as handle:
            handle.write("secret")
    assert os.listdir(elsewhere) == []
    assert sorted(os.listdir(tmp_path)) == ["elsewhere"]  # no file, no link, no temporary file


@pytest.mark.parametrize("bad", ["out\x00.txt", "\x00", "a/\x00/b"])
def test_nul_bytes_in_a_path_are_refused(tmp_path, bad):
    with pytest.raises(InputError, match="NUL byte"):
        atomic_write(str(tmp_path) + "/" + bad, "x")
    assert os.listdir(tmp_path) == []


def test_paths_the_user_gives_are_theirs_dotdot_and_absolute(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    atomic_write("../up.txt", "up")
    assert (tmp_path / "up.txt").read_text() == "up"
    atomic_write(str(tmp_path / "abs.txt"), "abs")
    assert (tmp_path / "abs.txt").read_text() == "abs"


def test_folder_target_empty_path_and_a_file_on_the_way(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        atomic_write(tmp_path, "x", force=True)
    with pytest.raises(InputError, match="empty"):
        atomic_write("  ", "x")
    assert os.listdir(tmp_path) == []
    atomic_write(tmp_path / "plain.txt", "x")
    with pytest.raises(InputError, match="plain.txt is a file, not a folder"):
        atomic_write(tmp_path / "plain.txt" / "deeper" / "x.txt", "x")
    assert os.listdir(tmp_path) == ["plain.txt"]


def test_a_missing_folder_is_made_private_on_the_way(tmp_path):
    """Every file swp writes gets the folders it lacks (mkdir -p, each 0700); it once was
    refused with "no such folder"."""
    target = atomic_write(tmp_path / "missing" / "deeper" / "x.txt", "x")
    assert target.read_text() == "x" and stat.S_IMODE(os.stat(target).st_mode) == 0o600
    for folder in (tmp_path / "missing", tmp_path / "missing" / "deeper"):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    files.write_many([(tmp_path / "many" / "a.txt", b"a"), (tmp_path / "many" / "b.txt", b"b")])
    assert sorted(os.listdir(tmp_path / "many")) == ["a.txt", "b.txt"]
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "gone")
    with pytest.raises(PreconditionError, match="broken symbolic link"):
        atomic_write(dangling / "x.txt", "x")
    assert not (tmp_path / "gone").exists()


@pytest.mark.parametrize("name", ["../escape.txt", "..", ".", "", "a/b.txt", "/etc/passwd",
                                  "..\\x.txt", "x\x00.txt", "line\nbreak.txt", "tab\t.txt"])
def test_names_made_from_data_never_leave_the_folder(tmp_path, name):
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(InputError):
        files.inside(folder, name)


def test_plain_names_made_from_data_stay_inside(tmp_path):
    for name in ("2026-Q1-ann.pdf", "..hidden-but-plain", "£-and-ünïcode.txt", "a..b"):
        assert files.inside(tmp_path, name) == tmp_path / name


def test_write_many_is_all_or_nothing(tmp_path):
    folder = files.make_folder(tmp_path / "statements")
    assert mode(folder) == 0o700
    (folder / "b.txt").write_text("old b")
    with pytest.raises(PreconditionError, match="b.txt already exists"):
        files.write_many([(folder / "a.txt", b"a"), (folder / "b.txt", b"b")])
    assert sorted(os.listdir(folder)) == ["b.txt"]
    files.write_many([(folder / "a.txt", b"a"), (folder / "b.txt", b"b")], force=True)
    assert (folder / "a.txt").read_bytes() == b"a" and (folder / "b.txt").read_bytes() == b"b"
    assert mode(folder / "a.txt") == mode(folder / "b.txt") == 0o600
    with pytest.raises(InputError, match="same name"):
        files.write_many([(folder / "c.txt", b"1"), (folder / "c.txt", b"2")])


def test_write_many_removes_what_it_added_when_a_later_name_fails(tmp_path, monkeypatch):
    real = files.publish
    calls = []

    def flaky(temp, target, **kw):
        calls.append(target)
        if len(calls) == 2:
            raise PreconditionError(f"{target} already exists; pass --force to replace it")
        real(temp, target, **kw)

    monkeypatch.setattr(files, "publish", flaky)
    with pytest.raises(PreconditionError):
        files.write_many([(tmp_path / "a.txt", b"a"), (tmp_path / "b.txt", b"b")])
    assert os.listdir(tmp_path) == []


# --- at the command line -------------------------------------------------------------------------

@pytest.fixture
def books(practice):
    practice.ok("ledger", "income", "100", "--date", "2026-04-01", "--category", "grants",
                "--memo", "=HYPERLINK(\"http://evil.example\",\"click\")", as_="mo")
    for memo in ("+44 20 7946 0000", "-1+1", "@SUM(A1:A9)", "\tcmd", " =1+1", "plain memo"):
        practice.ok("ledger", "expense", "1", "--date", "2026-04-02", "--category", "misc",
                    "--memo", memo, as_="mo")
    return practice


def test_csv_export_neutralises_formula_looking_memos(books, tmp_path):
    out = tmp_path / "books.csv"
    books.ok("export", "csv", "--output", str(out))
    assert mode(out) == 0o600
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    memos = sorted(row["memo"] for row in rows)
    # swp keeps memos without surrounding space ("\tcmd" is stored as "cmd")
    assert memos == sorted(["'=HYPERLINK(\"http://evil.example\",\"click\")", "'+44 20 7946 0000",
                            "'-1+1", "'@SUM(A1:A9)", "cmd", "'=1+1", "plain memo"])
    for row in rows:
        float(row["amount"])  # amounts stay plain numbers a spreadsheet can add


@pytest.mark.parametrize("fmt", ["csv", "json", "beancount"])
def test_exports_refuse_links_nul_and_existing_files(books, tmp_path, fmt):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    link = tmp_path / f"link.{fmt}"
    link.symlink_to(victim)
    for args in ([], ["--force"]):
        run = books("export", fmt, "--output", str(link), *args)
        assert run.code == 1 and run.err.count("\n") == 1, run.err
    assert victim.read_text() == "keep"
    run = books("export", fmt, "--output", str(tmp_path / "a\x00b"))
    assert run.code in (1, 2) and "NUL" in run.err and run.err.count("\n") == 1, run.err
    assert sorted(os.listdir(tmp_path)) == sorted(["victim.txt", f"link.{fmt}"])


def test_export_to_dotdot_and_absolute_paths_is_the_users_choice(books, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    books.ok("export", "json", "--output", "../books.json")
    assert (tmp_path / "books.json").exists() and mode(tmp_path / "books.json") == 0o600
    books.ok("export", "csv", "--output", str(tmp_path / "abs.csv"))
    assert mode(tmp_path / "abs.csv") == 0o600
    assert leftovers(tmp_path) == [] and leftovers(work) == []


@pytest.mark.parametrize("handle", ["../../evil", "/tmp/evil", "a/b", "..\\..\\evil", "nl\nx"])
def test_statement_files_named_from_data_never_leave_the_folder(practice_template, tmp_path, handle):
    """A member handle written into the database by another tool (bypassing swp's checks)
    cannot make `swp statement --output FOLDER/` write outside FOLDER: it is refused, and no
    statement at all is written."""
    import sqlite3

    from tests.conftest import copy_practice

    swp = copy_practice(practice_template, str(tmp_path / "practice.db"))
    conn = sqlite3.connect(swp.db)
    with conn:
        conn.execute("INSERT INTO member (handle, name, employed_since, admitted_at, registration) "
                     "VALUES (?, 'Hostile', '2024-04-01', '2024-04-01 00:00:00', 'SW299002')", (handle,))
        member_id = conn.execute("SELECT id FROM member WHERE handle = ?", (handle,)).fetchone()[0]
        conn.execute("INSERT INTO member_fact (member_id, effective, role, hours_hundredths, pay_pence) "
                     "VALUES (?, '2024-04-01', 'practitioner', 3000, 0)", (member_id,))
    conn.close()
    swp.ok("ledger", "income", "9000", "--date", "2026-04-15", "--category", "grants", as_="mo")
    swp.ok("period", "close", "2026-Q1", "--start", "2026-04-01", "--end", "2026-06-30", as_="mo")
    out = tmp_path / "deep" / "statements"
    out.parent.mkdir()
    before = {p for p in tmp_path.rglob("*")} | {p for p in Path("/tmp").glob("*evil*")}
    run = swp("statement", "2026-Q1", "--format", "text", "--output", f"{out}/", as_="mo")
    assert run.code == 1 and "not a plain file name" in run.err and run.err.count("\n") == 1, run.err
    after = {p for p in tmp_path.rglob("*")} | {p for p in Path("/tmp").glob("*evil*")}
    assert after - before <= {out}  # at most the (empty) folder asked for
    assert not out.exists() or list(out.iterdir()) == []
