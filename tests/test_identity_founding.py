"""Founding a practice: what is signed and what is not, and how verify and check report it."""

from __future__ import annotations

from pathlib import Path

from conftest import Swp, audit_rows, snapshot

from swp.db import HEAD_REVISION


def _found(swp) -> None:
    swp.ok("init", "--sandbox", "Riverside", "--local-authority", "Leeds")
    swp.ok("member", "add", "ann", "--name", "Ann", "--role", "practitioner", "--employed-since",
           "2024-04-01", "--hours", "37.5", "--registration", "SW100001")
    swp.ok("member", "add", "bea", "--name", "Bea", "--role", "practitioner", "--employed-since",
           "2024-04-01", "--hours", "37.5", "--registration", "SW100002")


def _unsigned_income(db: str, pence: int, day: str) -> None:
    """A change recorded without --as while the practice had no manager, as swp recorded it
    before such changes were refused (a practice founded with an earlier swp holds these)."""
    from datetime import date

    from swp.db import open_database
    from swp.services import audit, ledger

    database = open_database(db)
    try:
        def write(session) -> None:
            audit.track_rows(session)
            ledger.record(session, actor=None, kind="income", amount_pence=pence,
                          day=date.fromisoformat(day), category="grants")
            audit.append(session, command="ledger income", args={"amount": pence}, actor=None)

        database.run(write, write=True)
    finally:
        database.dispose()


def test_once_a_member_is_admitted_a_change_without_as_is_refused(swp, db):
    _found(swp)
    before = snapshot(db)
    run = swp("ledger", "income", "100", "--date", "2026-06-01", "--category", "grants")  # no --as
    assert (run.code, run.err) == (1, "swp: say who makes this change with --as HANDLE (or SWP_AS): once "
                                      "a member has been admitted, every change is signed by the key of "
                                      "the member who makes it\n")
    assert snapshot(db) == before
    swp.ok("ledger", "income", "100", "--date", "2026-06-01", "--category", "grants", as_="ann")
    assert all(r["signature"] is not None for r in audit_rows(db)[1:])


def test_founding_changes_without_as_are_unsigned_and_reported_until_the_first_manager(swp, db):
    _found(swp)
    _unsigned_income(db, 10000, "2026-06-01")
    swp.ok("ledger", "income", "200", "--date", "2026-06-02", "--category", "grants", as_="ann")
    swp.ok("member", "add", "mo", "--name", "Mo", "--role", "manager", "--employed-since",
           "2024-04-01", "--hours", "37.5")
    rows = audit_rows(db)
    signed = {r["seq"]: (r["actor"], r["signature"] is not None) for r in rows}
    # the founding itself (nobody is a member yet) and the change made without --as: unsigned;
    # each founder's admission is signed by the founder's own key, a change with --as by the actor
    assert signed == {1: (None, False), 2: (None, True), 3: (None, True), 4: (None, False),
                      5: ("ann", True), 6: (None, True)}
    verified = swp.ok("audit", "verify", json=True).json
    assert (verified["ok"], verified["signed"], verified["unsigned_founding"]) == (True, 4, 2)
    assert "2 unsigned while the practice was founded, before its first manager" in \
        swp.ok("audit", "verify").out
    report = swp.ok("check", json=True).json
    assert report["ok"]
    assert report["notices"] == ["changes made while the practice was founded, before its first "
                                 "manager, without --as are unsigned (events 4): anyone could have "
                                 "made them; check them in 'swp audit log'"]
    # once a manager has been admitted, nothing is recorded unsigned
    run = swp("ledger", "income", "300", "--date", "2026-06-03", "--category", "grants")
    assert run.code == 1
    assert len(audit_rows(db)) == 6


def test_a_practice_from_before_keys_upgrades_and_its_members_then_sign(tmp_path, monkeypatch):
    """tests/data/pre-keys.db was made by swp before members had keys (schema 0013: three
    members, mo the manager, two entries). Nobody can sign its upgrade (the upgrade brings the
    keys), so `swp db upgrade` records it unsigned, as every change before it; then each member
    enrols a key, and changes are signed. `swp check` and `swp audit verify` agree."""
    import shutil

    monkeypatch.delenv("SWP_TODAY")  # a real practice, as it was made
    db = tmp_path / "old.db"
    shutil.copy(Path(__file__).resolve().parent / "data" / "pre-keys.db", db)
    old = Swp(str(db))
    stale = old("member", "list")
    assert (stale.code, stale.err) == (1, f"swp: {db} has an older schema (0013); run 'swp db upgrade' first\n")
    up = old.ok("db", "upgrade", as_="mo")
    assert up.out.startswith(f"Upgraded the schema from 0013 to {HEAD_REVISION}.")
    before = snapshot(str(db), skip=())
    unsigned = old("ledger", "income", "50", "--category", "contracts", "--date", "2026-06-01", as_="mo")
    assert (unsigned.code, unsigned.err) == (1, "swp: mo has no key enrolled: make one with 'swp --as mo key new'\n")
    assert snapshot(str(db), skip=()) == before  # nothing written, no event either
    for handle in ("mo", "ann", "bea"):
        old.ok("key", "new", "--no-passphrase", as_=handle)
    old.ok("ledger", "income", "50", "--category", "contracts", "--date", "2026-06-01", as_="mo")
    assert old.ok("check", json=True).json["problems"] == []
    verified = old.ok("--json", "audit", "verify").json
    assert verified["ok"] is True and verified["signed"] == 4, verified
