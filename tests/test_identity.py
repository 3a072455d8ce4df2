"""Who acts: member keys, signed changes, the sandbox, and a history no one rewrites unseen."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
from conftest import audit_rows, execute, migrate, query, snapshot


def test_a_real_practice_refuses_swp_today(swp, db):
    run = swp("init", "Real SWP", "--local-authority", "Leeds")
    assert run.code == 1
    assert run.err == ("swp: SWP_TODAY moves the clock only in a sandbox practice (swp init "
                       "--sandbox); unset it to found a real practice\n")


def test_a_real_practice_refuses_swp_today_on_every_command(real, monkeypatch):
    monkeypatch.setenv("SWP_TODAY", "2026-06-30")
    run = real("member", "list")
    assert run.code == 1 and "SWP_TODAY moves the clock only in a sandbox" in run.err
    assert run.err.count("\n") == 1


def test_sandbox_says_so_and_its_flag_never_changes(practice, db):
    shown = practice.ok("practice", "show")
    assert "SANDBOX" in shown.out
    assert practice.ok("practice", "show", json=True).json["sandbox"] is True
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        execute(db, "UPDATE practice SET sandbox = false")
    with pytest.raises(IntegrityError):
        execute(db, "UPDATE practice SET uid = 'another'")


def test_founders_enrol_as_they_are_admitted_and_every_change_is_signed(real, db):
    rows = audit_rows(db)
    assert rows[0]["signature"] is None and rows[0]["action"] == "practice.founded"
    admitted = [r for r in rows if r["action"] == "member.admitted"]
    assert len(admitted) == 4 and all(r["signature"] and r["key_fingerprint"] for r in admitted)
    assert all(r["real_at"] for r in rows)
    shown = real.ok("member", "show", "ann", json=True).json
    assert len(shown["key_fingerprint"]) == 32
    run = real.ok("audit", "verify", json=True).json
    assert run["ok"] and run["signed"] == 4


def test_a_newcomer_is_admitted_with_their_public_key_signed_by_the_manager(real, db):
    made = real.as_("dee", "key", "new", env={"SWP_PASSPHRASE": "correct horse"}, json=True)
    assert made.code == 0, made.err
    public = made.json["public_key"]
    key_file = made.json["key_file"]
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    assert b"ENCRYPTED" in open(key_file, "rb").read()
    assert public not in open(key_file).read()
    run = real.as_("mo", "member", "add", "dee", "--name", "Dee", "--role", "staff",
                   "--employed-since", "2025-01-01", "--hours", "20", "--public-key", public)
    assert run.code == 0, run.err
    event = audit_rows(db)[-1]
    assert event["actor"] == "mo" and event["action"] == "member.admitted"
    # dee acts with her own key and passphrase
    run = real.as_("dee", "member", "update", "dee", "--effective", "2025-06-01", "--hours", "21",
                   env={"SWP_PASSPHRASE": "correct horse"})
    assert run.code == 1 and "needs --as a current manager" in run.err
    proposal = real.as_("dee", "proposal", "new", "--title", "More reserve", "--kind", "ordinary",
                        "--amend", "sharing.reserve-percent=25", env={"SWP_PASSPHRASE": "correct horse"})
    assert proposal.code == 0, proposal.err
    # ...but not with a wrong passphrase: exit 1, nothing changed
    before = snapshot(db)
    run = real.as_("dee", "vote", "1", "yes", env={"SWP_PASSPHRASE": "wrong"})
    assert run.code == 1 and "wrong passphrase for dee's key" in run.err
    assert snapshot(db) == before
    assert real.ok("audit", "verify", json=True).json["ok"]


def test_a_later_admission_without_the_newcomers_key_is_refused(real, db):
    before = snapshot(db)
    run = real.as_("mo", "member", "add", "eve", "--name", "Eve", "--role", "staff",
                   "--employed-since", "2025-01-01", "--hours", "20")
    assert run.code == 1 and "eve's public key is needed" in run.err
    assert snapshot(db) == before


def test_acting_as_another_member_without_their_key_changes_nothing(real, db):
    before, events = snapshot(db), len(audit_rows(db))
    # mo's machine holds mo's key, not ann's
    run = real("proposal", "new", "--title", "Sell up", "--kind", "ordinary", "--amend",
               "sharing.reserve-percent=30", as_="ann", env={"SWP_HOME": real.homes["mo"]})
    assert run.code == 1
    assert run.err.startswith("swp: no key for ann at ")
    assert "swp --as ann key new" in run.err and run.err.count("\n") == 1
    assert snapshot(db) == before and len(audit_rows(db)) == events
    # SWP_AS alone is no identity either, nor is a change with no --as at all
    run = real("ledger", "income", "10", "--date", "2026-01-01", "--category", "grants",
               env={"SWP_HOME": real.homes["mo"]})
    assert run.code == 1
    assert snapshot(db) == before


def test_a_rotated_out_key_no_longer_signs(real, db):
    run = real.as_("ann", "key", "rotate", "--no-passphrase", json=True)
    assert run.code == 0, run.err
    home = real.homes["ann"]
    retired = [os.path.join(d, f) for d, _, files in os.walk(home) for f in files if ".retired-" in f]
    assert len(retired) == 1
    before = snapshot(db)
    run = real("--key", retired[0], "proposal", "new", "--title", "T", "--kind", "ordinary",
               "--amend", "sharing.reserve-percent=30", as_="ann", env={"SWP_HOME": home})
    assert run.code == 1 and "not ann's enrolled key" in run.err
    assert snapshot(db) == before
    assert real.as_("ann", "proposal", "new", "--title", "T", "--kind", "ordinary",
                    "--amend", "sharing.reserve-percent=30").code == 0
    assert real.ok("audit", "verify", json=True).json["ok"]


def test_leaving_revokes_the_key(real, db):
    assert real.as_("cal", "member", "leave", "cal", "--date", "2026-06-30").code == 0
    before = snapshot(db)
    run = real.as_("cal", "proposal", "new", "--title", "T", "--kind", "ordinary",
                   "--amend", "sharing.reserve-percent=30")
    assert run.code == 1 and "'cal' left the practice" in run.err
    run = real.as_("cal", "key", "rotate", "--no-passphrase")
    assert run.code == 1 and "cal's key was revoked when they left" in run.err
    assert run.err.count("\n") == 1
    assert snapshot(db) == before
    assert real.ok("audit", "verify", json=True).json["ok"]


def test_a_row_and_event_forged_with_plain_sql_fail_verify(practice, db):
    """An outsider with the file adds a vote and an event for it, rehashed but unsigned."""
    from swp.services.audit import event_hash

    practice.ok("proposal", "new", "--title", "T", "--kind", "ordinary", "--amend",
                "sharing.reserve-percent=25", as_="ann")
    last = audit_rows(db)[-1]
    event = dict(last, seq=last["seq"] + 1, actor="bea", command="vote", args="{}",
                 prev_hash=last["hash"], action="vote.cast", payload='[["vote.cast",{}]]',
                 signature=None, key_fingerprint=None)
    event["hash"] = event_hash(event)
    columns = ", ".join(event)
    execute(db, "INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) "
                "VALUES (1, 2, 1, 'yes', '2026-06-30 10:00:00', '2026-06-30')",
            f"INSERT INTO audit_event ({columns}) VALUES ({', '.join(':' + k for k in event)})",
            params=event)
    run = practice("audit", "verify")
    assert run.code == 4
    assert f"event {event['seq']}: it is not signed" in run.err
    # signing it with a key of the forger's own does not help
    from swp.identity import new_signer

    forger = new_signer("bea")
    execute(db, "DROP TRIGGER audit_event_append_only_update ON audit_event",
            "UPDATE audit_event SET signature = :s, key_fingerprint = :f WHERE seq = :q",
            params={"s": forger.sign(event["hash"]), "f": event["key_fingerprint"] or "x",
                    "q": event["seq"]})
    assert practice("audit", "verify").code == 4


@pytest.mark.sqlite_only
def test_a_restored_older_backup_is_caught_by_the_remembered_head(practice, db, tmp_path):
    backup = str(tmp_path / "old.db")
    source, target = sqlite3.connect(db), sqlite3.connect(backup)
    source.backup(target)
    source.close()
    target.close()
    practice.ok("proposal", "new", "--title", "T", "--kind", "ordinary", "--amend",
                "sharing.reserve-percent=25", as_="ann")
    seen = audit_rows(db)[-1]["seq"]
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    shutil.copy(backup, db)
    run = practice("member", "list")
    assert run.code == 4
    assert run.err.startswith(f"swp: the history was rolled back or rewritten: you last saw event {seen} ")
    run = practice("vote", "1", "yes", as_="bea")
    assert run.code == 4


def test_a_truncated_history_is_caught_by_the_remembered_head_and_a_witness(practice, db, monkeypatch, tmp_path):
    head = practice.ok("practice", "show", json=True).json
    witness = f"{head['audit_events']}:{head['audit_head']}"
    assert practice.ok("audit", "verify", "--witness", witness).code == 0
    execute(db, "DROP TRIGGER audit_event_append_only_delete ON audit_event",
            f"DELETE FROM audit_event WHERE seq = {head['audit_events']}")
    run = practice("audit", "verify")
    assert run.code == 4 and "you last saw event" in run.err
    # another member's machine never saw it: the witness they kept from a statement catches it
    monkeypatch.setenv("SWP_HOME", str(tmp_path / "elsewhere"))
    assert practice.ok("audit", "verify").code == 0
    run = practice("audit", "verify", "--witness", witness)
    assert run.code == 4 and "which you witnessed, is gone" in run.err


def test_a_witness_no_database_can_hold_is_a_typing_slip_not_a_lost_event(practice, db):
    """A SEQ beyond a signed 64-bit integer is bad input (exit 1, naming it), not a history
    that lost the event (exit 4); a SEQ that could exist but is past the log's end is lost."""
    digest = practice.ok("practice", "show", json=True).json["audit_head"]
    home = os.environ["SWP_HOME"]

    def saved() -> dict[str, bytes]:
        return {os.path.join(d, f): open(os.path.join(d, f), "rb").read()
                for d, _, names in os.walk(home) for f in names}

    before, kept = snapshot(db, skip=()), saved()
    for seq, shown in (("99999999999999999999", "99999999999999999999"),
                       (str(2**63), "9223372036854775808"),
                       ("0009223372036854775808", "9223372036854775808"),
                       ("7" * 5000, "7" * 40 + "...")):
        run = practice("audit", "verify", "--witness", f"{seq}:{digest}")
        assert (run.code, run.err) == (1, f"swp: --witness: no audit log can hold an event {shown} "
                                          "(event numbers go up to 9223372036854775807); check the "
                                          "SEQ:HASH the statement printed\n")
    # a digit of another script is no SEQ: bad input, not a traceback
    run = practice("audit", "verify", "--witness", f"\u00b2:{digest}")
    assert (run.code, run.err) == (1, "swp: --witness takes SEQ:HASH (the audit head a statement "
                                      f"printed), not {chr(0xb2) + ':' + digest!r}\n")
    assert snapshot(db, skip=()) == before and saved() == kept
    # the last number a database holds, past this log's end: an event the history lost
    run = practice("audit", "verify", "--witness", f"{2**63 - 1}:{digest}")
    assert run.code == 4 and f"event {2**63 - 1}, which you witnessed, is gone" in run.err
    assert snapshot(db, skip=()) == before


def test_a_rechained_history_is_caught_by_a_witness(practice, db, monkeypatch, tmp_path):
    """Rewrite an event and recompute every later hash: the chain holds, the witness does not."""
    from swp.services.audit import event_hash

    head = practice.ok("practice", "show", json=True).json
    witness = f"{head['audit_events']}:{head['audit_head']}"
    rows = audit_rows(db)
    statements, params = ["DROP TRIGGER audit_event_append_only_update ON audit_event"], {}
    previous = rows[0]["hash"]
    for i, row in enumerate(rows[1:], 1):
        row = dict(row, prev_hash=previous)
        if i == 1:
            row["detail"] = "rewritten"
        row["hash"] = event_hash(row)
        statements.append(f"UPDATE audit_event SET prev_hash = :p{i}, hash = :h{i}, detail = :d{i} "
                          f"WHERE seq = {row['seq']}")
        params.update({f"p{i}": row["prev_hash"], f"h{i}": row["hash"], f"d{i}": row["detail"]})
        previous = row["hash"]
    execute(db, *statements, params=params)
    monkeypatch.setenv("SWP_HOME", str(tmp_path / "elsewhere"))
    run = practice("audit", "verify", "--witness", witness)
    assert run.code == 4


def test_help_and_reads_do_not_import_cryptography(practice):
    code = ("import sys; from swp.cli import app; "
            "app(['--db', sys.argv[1], 'member', 'list'], standalone_mode=False); "
            "print('CRYPTO', 'cryptography' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, practice.db], capture_output=True, text=True,
                         env={**os.environ})
    assert out.returncode == 0, out.stderr
    assert "CRYPTO False" in out.stdout
    code = "import sys; from swp.cli import app; print('CRYPTO', 'cryptography' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "CRYPTO False" in out.stdout


def test_sandbox_keys_are_the_same_in_every_copy(practice, db):
    first = query(db, "SELECT key_fingerprint FROM member ORDER BY handle")
    assert all(f[0] for f in first)
    assert practice.ok("key", "show", as_="ann", json=True).json["fingerprint"] == first[0][0]


def test_a_unit_of_work_that_must_not_prompt_acts_only_with_a_key_it_holds(real, db, monkeypatch):
    """The unit of work with interactive=False (a program that cannot ask for a passphrase)
    signs with the member's own key only if the process holds it. (The members' page signs
    with the member's passkey instead: tests/test_web.py.)"""
    from swp.errors import InputError
    from swp.services import governance, uow

    proposal = real.as_("ann", "proposal", "new", "--title", "More reserve", "--kind", "ordinary",
                        "--amend", "sharing.reserve-percent=25")
    assert proposal.code == 0, proposal.err

    def vote(handle):
        return uow.perform(db, lambda s: governance.vote(s, actor=handle, proposal_id=1, choice="yes"),
                           write=True, command="vote", args={"proposal_id": 1}, actor=handle,
                           interactive=False)

    before = snapshot(db)
    monkeypatch.setenv("SWP_HOME", str(real.homes["dee"]))  # a server holding nobody's key
    with pytest.raises(InputError, match="no key for ann"):
        vote("ann")
    assert snapshot(db) == before
    monkeypatch.setenv("SWP_HOME", str(real.homes["ann"]))  # a server holding ann's key
    vote("ann")
    assert audit_rows(db)[-1]["actor"] == "ann" and audit_rows(db)[-1]["signature"]
    assert real.ok("audit", "verify", json=True).json["ok"]


def test_a_command_committed_after_this_snapshot_is_not_taken_for_a_rollback(practice, db):
    """Another program's command commits, and remembers its event, after this command's read
    transaction took its snapshot: the event is in the head file but not in the snapshot. swp
    reads again instead of calling it a rolled-back history."""
    from swp.db import open_database
    from swp.services.uow import practice_context, read_checked

    database = open_database(db)
    location = database.target.display
    calls = []

    def read(session, seen):
        from swp.services import audit

        calls.append(audit.head(session)[0])  # this query takes the snapshot
        if len(calls) == 1:  # another program writes in between
            practice.ok("ledger", "income", "10", "--date", "2026-04-01", "--category", "grants",
                        as_="mo")
        return practice_context(session, location, seen=seen)

    try:
        ctx = read_checked(database, read)
    finally:
        database.dispose()
    assert ctx.uid
    assert len(calls) == 2 and calls[1] == calls[0] + 1


def test_the_remembered_head_never_moves_back_unless_a_restore_is_accepted(practice, db):
    from swp.identity import remember_head, remembered_head

    remember_head("p", 7, "h7")
    remember_head("p", 5, "h5")  # a program that finished later with an earlier event
    assert remembered_head("p") == (7, "h7")
    remember_head("p", 5, "h5", force=True)
    assert remembered_head("p") == (5, "h5")


def test_a_command_that_only_reads_leaves_the_remembered_head_file_as_it_was(practice, db):
    """Every command checks the remembered head and remembers the head it saw; a read that saw
    the head already remembered does not write the file again (nor a temporary file beside it)."""
    from swp import identity

    practice.ok("member", "list")
    heads = identity.home() / "heads"
    (path,) = [p for p in heads.glob("*.json") if not p.name.endswith(".verified.json")]
    written = path.stat()
    seen = identity.remembered_head(path.stem)
    practice.ok("member", "list")
    practice.ok("ledger", "balance")
    assert path.stat().st_ino == written.st_ino and path.stat().st_mtime_ns == written.st_mtime_ns
    assert sorted(heads.iterdir()) == [path]
    practice.ok("ledger", "income", "100", "--date", "2026-06-01", "--category", "contracts", as_="mo")
    assert path.stat().st_ino != written.st_ino  # a write moves the head: remembered again
    assert identity.remembered_head(path.stem)[0] == seen[0] + 1


def test_an_upgrade_of_a_signed_practice_is_signed_by_the_member_who_runs_it(practice, db):
    """A practice that signs its changes records `swp db upgrade` as one of them."""
    migrate(db, "0018", down=True)
    before = snapshot(db, skip=())
    run = practice("db", "upgrade")
    assert run.code == 1 and run.err == ("swp: this change must be signed: name the acting member "
                                         "with --as HANDLE\n")
    assert snapshot(db, skip=()) == before  # still at 0018, no event: nothing changed
    done = practice.ok("db", "upgrade", as_="mo", json=True).json
    assert done["changed"] and done["from"] == "0018"
    last = audit_rows(db)[-1]
    assert last["command"] == "db upgrade" and last["actor"] == "mo" and last["signature"]
    practice.ok("audit", "verify")
    practice.ok("check")
