"""The audit chain: one event per change, refusals recorded, tampering found (exit 4)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from tests.conftest import audit_rows, execute, query


def test_every_change_appends_one_chained_event(practice, db):
    events = audit_rows(db)
    assert [e["command"] for e in events] == ["init"] + ["member add"] * 5
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[0]["prev_hash"] == "0" * 64
    for earlier, later in zip(events, events[1:], strict=False):
        assert later["prev_hash"] == earlier["hash"]
    assert events[-1]["actor"] == "mo"
    assert ":" in events[-1]["os_user"]
    assert '"handle":"sam"' in events[-1]["args"]


def test_reads_append_nothing(practice, db):
    before = len(audit_rows(db))
    practice.ok("member", "list")
    practice.ok("practice", "show")
    practice.ok("audit", "log")
    assert len(audit_rows(db)) == before


def test_audit_log_and_verify(practice):
    log = practice.ok("audit", "log", json=True).json["events"]
    assert len(log) == 6 and log[0]["command"] == "init"
    verify = practice.ok("audit", "verify", json=True).json
    assert verify == {"ok": True, "events": 6, "first_bad": None, "signed": 5,
                      "unsigned_history": 0, "unsigned_refusals": 0, "unsigned_founding": 1,
                      "signatures_checked_before": 0}


def test_the_database_refuses_to_update_or_delete_audit_events(practice, db):
    with pytest.raises(IntegrityError, match="append-only"):
        execute(db, "UPDATE audit_event SET actor = 'eve' WHERE seq = 2")
    with pytest.raises(IntegrityError, match="append-only"):
        execute(db, "DELETE FROM audit_event WHERE seq = 6")
    assert len(audit_rows(db)) == 6


def test_an_event_edited_behind_swps_back_is_found(practice, db):
    execute(db, "DROP TRIGGER audit_event_append_only_update ON audit_event",
            "UPDATE audit_event SET args = replace(args, 'sam', 'eve') WHERE seq = 6",
            "UPDATE audit_event SET actor = 'eve' WHERE seq = 3")
    run = practice("audit", "verify")
    assert run.code == 4
    assert run.err == ("swp: audit chain broken at event 3: its content does not match its "
                       "hash\n")
    data = practice("audit", "verify", json=True)
    assert data.code == 4
    assert data.json["ok"] is False and data.json["first_bad"] == 3
    assert data.json["error"]["code"] == 4


def test_a_deleted_event_is_found(practice, db):
    execute(db, "DROP TRIGGER audit_event_append_only_delete ON audit_event",
            "DELETE FROM audit_event WHERE seq = 4")
    run = practice("audit", "verify")
    assert run.code == 4 and "event 4 is missing" in run.err


def test_a_rehashed_event_still_breaks_the_next_link(practice, db):
    from swp.services.audit import event_hash

    row = [r for r in audit_rows(db) if r["seq"] == 2][0]
    row["actor"] = "eve"
    execute(db, "DROP TRIGGER audit_event_append_only_update ON audit_event",
            "UPDATE audit_event SET actor = 'eve', hash = :hash WHERE seq = 2",
            params={"hash": event_hash(row)})
    assert query(db, "SELECT actor FROM audit_event WHERE seq = 2") == [("eve",)]
    run = practice("audit", "verify")
    assert run.code == 4
    # a rehashed event no longer carries its signer's signature: found at the event itself
    # (before signing, the next link was where it showed)
    assert "event 2: it is signed for eve, who had no key enrolled then" in run.err
