"""A member's key files are written as every file swp writes (swp/files.py), and more strictly:
never over any file, never through a symbolic link someone planted where the key goes, never
over the practice's database; each refusal is one line, exit 1, and nothing changed (the
database, and the files on disk)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import query, snapshot


def _key_file(real, handle: str) -> Path:
    uid = query(real.db, "SELECT uid FROM practice")[0][0]
    return Path(real.homes[handle]) / "keys" / uid / f"{handle}.pem"


def _tree(folder: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every file and link under `folder`, and what it holds (a file's bytes and mode, a
    link's target), but the audit heads swp remembers (every command, reads too, remembers
    the last event it saw)."""
    found: dict[str, tuple[str, bytes | str]] = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "heads"]
        for name in dirs + names:
            path = Path(root) / name
            if path.is_symlink():
                found[str(path)] = ("link", os.readlink(path))
            elif path.is_file():
                found[str(path)] = (oct(path.stat().st_mode), path.read_bytes())
    return found


def _refused(run, message: str) -> None:
    assert (run.code, run.err) == (1, f"swp: {message}\n")


# --- swp key new --------------------------------------------------------------------------------

def test_a_link_planted_where_a_new_key_goes_is_not_written_through(real, db, tmp_path):
    """Someone who can write to dee's key folder plants links there before she makes her key:
    one to a file of theirs that does not exist yet, one to a file of dee's."""
    key = _key_file(real, "dee")
    key.parent.mkdir(parents=True)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    victim = tmp_path / "notes.txt"
    victim.write_text("dee's notes")
    before = snapshot(db)
    for target in (theirs / "stolen.pem", victim):
        key.symlink_to(target)
        on_disk = _tree(Path(real.homes["dee"])), _tree(tmp_path)
        run = real.as_("dee", "key", "new", "--no-passphrase")
        _refused(run, f"{key} is a symbolic link; swp does not write through it")
        assert (_tree(Path(real.homes["dee"])), _tree(tmp_path)) == on_disk
        key.unlink()
    assert os.listdir(theirs) == [] and victim.read_text() == "dee's notes"
    assert snapshot(db) == before


def test_a_link_planted_where_the_public_key_goes_stops_the_key_being_made(real, db, tmp_path):
    key = _key_file(real, "dee")
    key.parent.mkdir(parents=True)
    victim = tmp_path / "notes.txt"
    victim.write_text("dee's notes")
    key.with_suffix(".pub").symlink_to(victim)
    before, on_disk = snapshot(db), _tree(tmp_path)
    run = real.as_("dee", "key", "new", "--no-passphrase")
    _refused(run, f"{key.with_suffix('.pub')} is a symbolic link; swp does not write through it")
    assert _tree(tmp_path) == on_disk and not os.path.lexists(key)  # no private key made either
    assert snapshot(db) == before


def test_a_key_file_is_never_overwritten(real, db):
    first = real.as_("dee", "key", "new", "--no-passphrase", json=True).json
    key = Path(first["key_file"])
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    before, on_disk = snapshot(db), _tree(Path(real.homes["dee"]))
    run = real.as_("dee", "key", "new", "--no-passphrase")
    _refused(run, f"{key} already exists; swp never overwrites a key")
    assert _tree(Path(real.homes["dee"])) == on_disk and snapshot(db) == before


@pytest.mark.sqlite_only
@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_a_key_is_never_written_over_the_practices_database(real, db, suffix):
    before, on_disk = snapshot(db), _tree(Path(db).parent)
    run = real.as_("dee", "--key", db + suffix, "key", "new", "--no-passphrase")
    _refused(run, f"{db}{suffix} is the practice's own database (or its -wal or -shm file); "
                  "write to another file")
    assert snapshot(db) == before
    assert {k: v for k, v in _tree(Path(db).parent).items() if not k.startswith(str(Path(db)))} == \
        {k: v for k, v in on_disk.items() if not k.startswith(str(Path(db)))}


def test_a_key_file_named_on_a_file_a_folder_or_with_a_nul_is_refused(real, db, tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("a file")
    folder = tmp_path / "folder"
    folder.mkdir()
    before, on_disk = snapshot(db), _tree(tmp_path)
    for given, message in ((plain / "keys" / "dee.pem", f"{plain} is a file, not a folder"),
                           (folder, f"{folder} is a folder; give a file name"),
                           (f"{tmp_path}/dee\x00.pem", "the path contains a NUL byte: ")):
        run = real.as_("dee", "--key", str(given), "key", "new", "--no-passphrase")
        assert run.code == 1 and run.err.count("\n") == 1, run.err
        assert run.err.startswith(f"swp: {message}"), run.err
        assert _tree(tmp_path) == on_disk and snapshot(db) == before


def test_a_private_key_named_like_its_public_key_is_refused(real, db, tmp_path):
    """The public key goes beside the private one, named with .pub: a private key's file given
    that name would be written over by its own public key (the key lost, the member unable to
    sign), so it is refused before anything is made."""
    before, on_disk = snapshot(db), _tree(tmp_path)
    for name in ("dee.pub", "dee.PEM.pub"):
        run = real.as_("dee", "--key", str(tmp_path / name), "key", "new", "--no-passphrase")
        _refused(run, f"{tmp_path / name} ends in .pub, the name swp gives the public key written beside "
                      "the private key; name the private key's file otherwise (say, .pem)")
        assert _tree(tmp_path) == on_disk and snapshot(db) == before


# --- swp key rotate -----------------------------------------------------------------------------

def _can_sign(real, handle: str) -> bool:
    return real.as_(handle, "proposal", "new", "--title", "T", "--kind", "ordinary",
                    "--amend", "sharing.reserve-percent=30").code == 0


def test_a_key_left_by_an_unfinished_rotation_is_never_removed(real, db):
    """`swp key rotate` killed after its change was committed leaves the new key, enrolled, as
    <handle>.pem.new: the next rotation must not delete it."""
    key = _key_file(real, "ann")
    pending = key.with_name(key.name + ".new")
    pending.write_bytes(b"the key a killed rotation left")
    before, on_disk = snapshot(db), _tree(Path(real.homes["ann"]))
    run = real.as_("ann", "key", "rotate", "--no-passphrase")
    _refused(run, f"{pending} already exists; swp never overwrites a key (a 'swp key rotate' that "
                  "did not finish left it, and it may be the key now enrolled for you); move it "
                  "aside, then rotate again")
    assert _tree(Path(real.homes["ann"])) == on_disk and snapshot(db) == before
    pending.unlink()
    assert _can_sign(real, "ann")  # the key in place is still the enrolled one


@pytest.mark.parametrize("where", [".new", ".pub"])
def test_a_link_planted_beside_a_key_being_rotated_stops_the_rotation(real, db, tmp_path, where):
    key = _key_file(real, "ann")
    planted = key.with_name(key.name + ".new") if where == ".new" else key.with_suffix(".pub")
    if planted.exists():
        planted.unlink()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    planted.symlink_to(theirs / "stolen")
    before, on_disk = snapshot(db), _tree(Path(real.homes["ann"]))
    run = real.as_("ann", "key", "rotate", "--no-passphrase")
    _refused(run, f"{planted} is a symbolic link; swp does not write through it")
    assert os.listdir(theirs) == []
    assert _tree(Path(real.homes["ann"])) == on_disk and snapshot(db) == before
    planted.unlink()
    assert _can_sign(real, "ann")


def test_a_rotation_writes_its_files_privately(real, db):
    key = _key_file(real, "ann")
    old = real.ok("member", "show", "ann", json=True).json["key_fingerprint"]
    run = real.as_("ann", "key", "rotate", "--no-passphrase", json=True)
    assert run.code == 0, run.err
    names = sorted(p.name for p in key.parent.iterdir())
    assert names == ["ann.pem", f"ann.pem.retired-{old}", "ann.pub"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in key.parent.iterdir())
    shown = real.as_("ann", "key", "show", json=True).json
    assert shown["fingerprint"] == shown["enrolled"] == run.json["fingerprint"]


def test_a_key_written_into_a_folder_of_the_members_choosing_leaves_the_folders_mode_alone(real, db, tmp_path):
    """`--key` names a file in a folder that already exists (a shared documents folder, say):
    the key is 0600, and the folder keeps the mode its owner gave it. swp's own keys folder,
    in its configuration folder, is made 0700 (and kept so)."""
    folder = tmp_path / "documents"
    folder.mkdir()
    os.chmod(folder, 0o755)
    key = folder / "dee.pem"
    made = real.as_("dee", "--key", str(key), "key", "new", "--no-passphrase", json=True).json
    assert Path(made["key_file"]) == key
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_swps_own_keys_folder_is_made_private_again_when_a_key_is_written_into_it(real, db):
    """The practice's folder of keys in swp's configuration folder, found open to others (a
    copy, a restore), is made 0700 again as a key is written into it."""
    key = _key_file(real, "dee")
    key.parent.mkdir(parents=True)
    os.chmod(key.parent, 0o755)
    real.as_("dee", "key", "new", "--no-passphrase")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
