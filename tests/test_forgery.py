"""A forger holds the database (the SQLite file, or a role's grants on the server) but no
member's key, and writes with plain SQL: each attack is found by `swp check` or
`swp audit verify`, which name the row or the event."""

from __future__ import annotations

import pytest
from conftest import audit_rows, execute, is_postgres, query

from swp.services.audit import event_hash


def _check(swp):
    import json

    run = swp("check", json=True)
    assert run.code == 4, run.out + run.err
    return "\n".join(p["message"] for p in json.loads(run.out)["problems"])


def _unsigned_event(db: str, **changes) -> dict:
    """The next audit event, rehashed to chain on, but signed by nobody."""
    last = audit_rows(db)[-1]
    event = dict(last, seq=last["seq"] + 1, prev_hash=last["hash"], outcome="ok", detail=None,
                 signature=None, key_fingerprint=None, **changes)
    event["hash"] = event_hash(event)
    columns = ", ".join(event)
    execute(db, f"INSERT INTO audit_event ({columns}) VALUES ({', '.join(':' + k for k in event)})",
            params=event)
    return event


def test_a_vote_added_with_plain_sql(lived, db):
    execute(db, "INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) "
                "VALUES (4, 1, 1, 'yes', '2026-06-30 10:00:00', '2026-06-30')")
    out = _check(lived)
    assert "vote row" in out and "written around swp" in out


def test_a_vote_with_a_forged_unsigned_event(lived, db):
    execute(db, "INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) "
                "VALUES (4, 1, 1, 'yes', '2026-06-30 10:00:00', '2026-06-30')")
    event = _unsigned_event(db, actor="ann", command="vote", action="vote.cast", payload="[]")
    run = lived("audit", "verify")
    assert run.code == 4 and f"event {event['seq']}: it is not signed" in run.err


def test_a_member_added_with_plain_sql(lived, db):
    execute(db, "INSERT INTO member (handle, name, employed_since, admitted_at) "
                "VALUES ('eve', 'Eve', '2024-01-01', '2026-06-30 10:00:00')")
    out = _check(lived)
    assert "member row" in out and "written around swp" in out


def test_an_open_proposal_edited_after_the_votes(lived, db):
    # the forger first drops the trigger that keeps proposals as made (swp check reports that too)
    execute(db, "DROP TRIGGER proposal_immutable ON proposal", "UPDATE proposal SET value = '5' WHERE id = 4")
    out = _check(lived)
    assert "proposal row 4 was changed after its signed event (value)" in out


def test_the_local_authority_changed(lived, db):
    execute(db, "DROP TRIGGER practice_local_authority ON practice",
            "UPDATE practice SET local_authority = 'Bradford Council'")
    out = _check(lived)
    assert "practice row 1 was changed after its signed event (local_authority)" in out


def test_money_moved_between_closed_allocations(lived, db):
    execute(db, "DROP TRIGGER allocation_append_only_update ON allocation",
            "UPDATE allocation SET amount_pence = amount_pence + 100 WHERE id = 1",
            "UPDATE allocation SET amount_pence = amount_pence - 100 WHERE id = 2")
    out = _check(lived)
    assert "allocation row 1 was changed after its signed event" in out
    assert "allocation row 2 was changed after its signed event" in out


def test_a_whole_passed_resolution_with_votes_and_events(lived, db):
    execute(db, "DROP TRIGGER proposal_made_open ON proposal")
    execute(db, "INSERT INTO proposal (title, kind, action, clause, value, proposed_by, created_at,"
                " status, closed_at, closed_on, yes, no, abstain, quorum_met) VALUES ('Pay me',"
                " 'ordinary', 'amend', 'sharing.reserve-percent', '0', 'ann', '2026-06-30 10:00:00',"
                " 'passed', '2026-06-30 10:00:00', '2026-06-30', 4, 0, 0, true)")
    _unsigned_event(db, actor="ann", command="proposal close", action="proposal.closed", payload="[]")
    assert "written around swp" in _check(lived)
    assert lived("audit", "verify").code == 4


def test_a_ledger_entry_and_a_clause_changed(lived, db):
    execute(db, "UPDATE clause SET value = '0' WHERE name = 'sharing.reserve-percent'")
    execute(db, "DROP TRIGGER ledger_entry_append_only_update ON ledger_entry",
            "UPDATE ledger_entry SET amount_pence = 1 WHERE id = 1")
    out = _check(lived)
    assert "clause row sharing.reserve-percent was changed after its signed event (value)" in out
    assert "ledger_entry row 1 was changed after its signed event" in out


def test_a_contract_a_partner_cost_and_a_loan_changed(lived, db):
    execute(db, "UPDATE contract SET value_pence = 1 WHERE id = 1",
            "UPDATE loan SET amount_pence = 1 WHERE id = 1",
            "UPDATE shared_cost SET our_percent = 1 WHERE id = 1")
    out = _check(lived)
    for table in ("contract", "loan", "shared_cost"):
        assert f"{table} row 1 was changed after its signed event" in out


def test_a_member_fact_added(lived, db):
    execute(db, "INSERT INTO member_fact (member_id, effective, role, hours_hundredths, pay_pence)"
                " VALUES (1, '2026-06-01', 'practitioner', 3750, 99900000)")
    assert "member_fact row" in _check(lived)


def test_events_erased_and_the_chain_recomputed(lived, db, monkeypatch, tmp_path):
    """Drop the last events and rehash nothing: the remembered head catches it; erase an event
    in the middle and recompute the chain: the signatures no longer hold."""
    lived.ok("practice", "show")  # this member has seen the head
    rows = audit_rows(db)
    execute(db, "DROP TRIGGER audit_event_append_only_delete ON audit_event",
            f"DELETE FROM audit_event WHERE seq = {rows[-1]['seq']}")
    run = lived("audit", "verify")
    assert run.code == 4 and "rolled back or rewritten" in run.err
    monkeypatch.setenv("SWP_HOME", str(tmp_path / "other-member"))
    middle = rows[10]["seq"]
    statements = ["DROP TRIGGER audit_event_append_only_update ON audit_event",
                  f"DELETE FROM audit_event WHERE seq = {middle}"]
    params: dict = {}
    previous = rows[9]["hash"]
    for i, row in enumerate(rows[11:-1]):
        row = dict(row, seq=row["seq"] - 1, prev_hash=previous)
        row["hash"] = event_hash(row)
        statements.append(f"UPDATE audit_event SET seq = :s{i}, prev_hash = :p{i}, hash = :h{i} "
                          f"WHERE seq = {row['seq'] + 1}")
        params.update({f"s{i}": row["seq"], f"p{i}": row["prev_hash"], f"h{i}": row["hash"]})
        previous = row["hash"]
    execute(db, *statements, params=params)
    run = lived("audit", "verify")
    assert run.code == 4 and f"event {middle}:" in run.err


@pytest.mark.parametrize("column", ["signature", "key_fingerprint"])
def test_a_signature_swapped(lived, db, column):
    rows = audit_rows(db)
    execute(db, "DROP TRIGGER audit_event_append_only_update ON audit_event",
            f"UPDATE audit_event SET {column} = :v WHERE seq = 3",
            params={"v": rows[4][column]})
    run = lived("audit", "verify")
    assert run.code == 4 and "event 3:" in run.err


def test_an_imported_row_edited_with_plain_sql(practice, db, tmp_path):
    """An import is recorded as a range of rows with a digest: one row edited is found."""
    from pathlib import Path

    ledger = Path(__file__).resolve().parent.parent / "examples" / "riverside-ledger.csv"
    practice.ok("ledger", "import", str(ledger), as_="mo")
    practice.ok("check")
    execute(db, "DROP TRIGGER ledger_entry_append_only_update ON ledger_entry",
            "UPDATE ledger_entry SET amount_pence = amount_pence + 100000 WHERE id = 5")
    out = _check(practice)
    assert "ledger_entry rows 1 to" in out and "changed after their signed import" in out


def _behind_the_trigger(db: str, table: str, trigger: str, *statements: str) -> None:
    """The whole attack: drop one of the table's guards, write, and make the guard again from
    its own stored definition, so that the defences check finds every trigger in place."""
    if is_postgres(db):
        [(remade,)] = query(db, "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = :t",
                            {"t": trigger})
    else:
        [(remade,)] = query(db, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :t",
                            {"t": trigger})
    execute(db, f"DROP TRIGGER {trigger} ON {table}", *statements, remade)


def _delete_behind_the_trigger(db: str, table: str, where: str) -> None:
    _behind_the_trigger(db, table, f"{table}_append_only_delete", f"DELETE FROM {table} WHERE {where}")


def _an_entry_and_an_import(practice, day: str) -> int:
    """An income recorded by hand on `day`, then the example bank file imported after it (its
    rows from the next id on), all checked clean; the hand entry's id."""
    from pathlib import Path

    ledger = Path(__file__).resolve().parent.parent / "examples" / "riverside-ledger.csv"
    entry = practice.ok("ledger", "income", "700", "--date", day, "--category", "grants",
                        as_="mo", json=True).json["entry"]
    practice.ok("ledger", "import", str(ledger), as_="mo")
    practice.ok("check")
    return entry


def test_a_ledger_entry_deleted_behind_its_trigger(lived, db):
    lived.ok("check")
    _delete_behind_the_trigger(db, "ledger_entry", "id = 1")
    out = _check(lived)
    assert "ledger_entry row 1, recorded by event" in out and "is gone" in out
    assert "trigger" not in out  # the guard is back: only the missing row gives it away
    assert lived("audit", "verify").code == 0  # the chain itself is intact: check is what finds it


def test_a_vote_deleted_behind_its_trigger(lived, db):
    [(last,)] = query(db, "SELECT max(id) FROM vote")
    _delete_behind_the_trigger(db, "vote", f"id = {last}")
    out = _check(lived)
    assert f"vote row {last}, recorded by event" in out and "is gone" in out


def test_an_imported_row_deleted_is_found_by_its_range(practice, db):
    """An imported row is recorded in its range's count, not one by one: its range names it."""
    from pathlib import Path

    ledger = Path(__file__).resolve().parent.parent / "examples" / "riverside-ledger.csv"
    practice.ok("ledger", "import", str(ledger), as_="mo")
    practice.ok("check")
    _delete_behind_the_trigger(db, "ledger_entry", "id = 5")
    out = _check(practice)
    assert "ledger_entry rows 1 to" in out and "changed after their signed import" in out
    assert "is gone" not in out


def test_rows_before_between_and_after_imports_are_each_compared_with_their_events(practice, db, tmp_path):
    """Rows outside the imports' ranges are compared one by one (check reads them without
    reading the imported rows): a row written before the first import, between two imports and
    after the last, each edited or added with plain SQL, is named; the imports still hold."""
    from pathlib import Path

    ledger = Path(__file__).resolve().parent.parent / "examples" / "riverside-ledger.csv"
    first = practice.ok("ledger", "income", "10", "--date", "2025-04-01", "--category", "grants",
                        as_="mo", json=True).json["entry"]
    practice.ok("ledger", "import", str(ledger), as_="mo")
    between = practice.ok("ledger", "expense", "20", "--date", "2025-04-02", "--category", "rent",
                          as_="mo", json=True).json["entry"]
    more = tmp_path / "more.csv"
    more.write_text("date,type,amount,category,memo,ref\n"
                    + "".join(f"2025-05-{d:02d},income,1{d}.00,grants,gift {d},MORE-{d}\n" for d in range(1, 6)))
    practice.ok("ledger", "import", str(more), as_="mo")
    practice.ok("check")
    [(last,)] = query(db, "SELECT max(id) FROM ledger_entry")
    assert first < between - 1 and between < last - 1  # each import took ids between them
    execute(db, "DROP TRIGGER ledger_entry_append_only_update ON ledger_entry",
            f"UPDATE ledger_entry SET memo = 'edited' WHERE id IN ({first}, {between})",
            "INSERT INTO ledger_entry (id, date, kind, amount_pence, category, debit, credit, recorded_at) "
            "VALUES (0, '2025-04-01', 'income', 500, 'grants', 'assets:bank', 'income:grants', '2026-06-30 10:00:00')",
            "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, recorded_at) "
            "VALUES ('2025-06-01', 'income', 700, 'grants', 'assets:bank', 'income:grants', '2026-06-30 10:00:00')")
    out = _check(practice)
    assert f"ledger_entry row {first} was changed after its signed event (memo)" in out
    assert f"ledger_entry row {between} was changed after its signed event (memo)" in out
    assert "ledger_entry row 0 was written around swp" in out
    assert f"ledger_entry row {last + 1} was written around swp" in out
    assert "changed after their signed import" not in out


def test_an_imported_row_an_event_also_names_is_compared_with_it(practice, db):
    """An imported row is passed over one by one (its range's digest stands for it) unless an
    event also records it on its own: then it is compared with that event, like any row."""
    import json
    from pathlib import Path

    from swp.services.audit import ROWS_ACTION

    ledger = Path(__file__).resolve().parent.parent / "examples" / "riverside-ledger.csv"
    practice.ok("ledger", "import", str(ledger), as_="mo")
    practice.ok("check")
    claim = {"rows": [{"table": "ledger_entry", "key": "[5]", "values": {"id": 5, "amount_pence": 1}}]}
    _unsigned_event(db, actor="mo", command="ledger income", action="ledger.income",
                    payload=json.dumps([[ROWS_ACTION, claim]]))
    out = _check(practice)
    assert "ledger_entry row 5 was changed after its signed event (amount_pence" in out
    assert "changed after their signed import" not in out


def test_a_forged_range_inside_an_import_is_named_and_no_imported_row_with_it(practice, db):
    """A forged event claiming part of an import as its own range: that range is named (its
    digest does not match), and the import's other rows are still its range's, not rows
    written around swp."""
    import json
    from pathlib import Path

    from swp.services.audit import ROWS_ACTION

    ledger = Path(__file__).resolve().parent.parent / "examples" / "riverside-ledger.csv"
    practice.ok("ledger", "import", str(ledger), as_="mo")
    claim = {"rows": [], "ranges": [{"table": "ledger_entry", "first": 2, "last": 4, "count": 3,
                                     "digest": "0" * 64}]}
    _unsigned_event(db, actor="mo", command="ledger import", action="ledger.import",
                    payload=json.dumps([[ROWS_ACTION, claim]]))
    out = _check(practice)
    assert "ledger_entry rows 2 to 4 were changed after their signed import" in out
    assert "written around swp" not in out


def _forged_range(db: str, first: str, last: str) -> None:
    """A forged unsigned event claiming an empty range of ledger entries, its bounds written
    as JSON text (Python's json reads NaN and Infinity): count 0 and the empty digest, which
    is what the range's digest recomputes to when it holds no row."""
    import hashlib

    from swp.services.audit import ROWS_ACTION

    span = (f'{{"table": "ledger_entry", "first": {first}, "last": {last}, "count": 0, '
            f'"digest": "{hashlib.sha256(b"").hexdigest()}"}}')
    _unsigned_event(db, actor="mo", command="ledger import", action="ledger.import",
                    payload=f'[["{ROWS_ACTION}", {{"rows": [], "ranges": [{span}]}}]]')


def test_a_forged_range_of_nan_hides_no_row_written_around_swp(practice, db):
    """A range whose bounds are NaN holds no row (SQLite binds NaN as NULL): it must not set
    the rows after the imports aside. A row added with SQL after the last import is named,
    and no row swp wrote is called gone."""
    from pathlib import Path

    ledger = Path(__file__).resolve().parent.parent / "examples" / "riverside-ledger.csv"
    practice.ok("ledger", "income", "10", "--date", "2025-04-01", "--category", "grants", as_="mo")
    practice.ok("ledger", "import", str(ledger), as_="mo")
    after = practice.ok("ledger", "expense", "20", "--date", "2025-04-02", "--category", "rent",
                        as_="mo", json=True).json["entry"]
    practice.ok("check")
    execute(db, "INSERT INTO ledger_entry (date, kind, amount_pence, category, debit, credit, recorded_at) "
                "VALUES ('2025-06-01', 'income', 700, 'grants', 'assets:bank', 'income:grants', '2026-06-30 10:00:00')")
    _forged_range(db, "NaN", "NaN")
    out = _check(practice)
    assert f"ledger_entry row {after + 1} was written around swp" in out
    assert "is gone" not in out


def test_a_forged_reversed_range_names_no_imported_row(practice, db):
    """A range whose first id is above its last holds no row: it sets no row aside, and
    makes none of an import's rows one written around swp."""
    from pathlib import Path

    ledger = Path(__file__).resolve().parent.parent / "examples" / "riverside-ledger.csv"
    practice.ok("ledger", "import", str(ledger), as_="mo")
    practice.ok("check")
    _forged_range(db, "1000000", "1")
    out = _check(practice)
    assert "written around swp" not in out


def _let_ledger_ids_be_null(db: str) -> None:
    """The ledger's table remade so that an id may be NULL, every trigger, index and CHECK
    constraint kept: on SQLite a copy whose id is declared INT (no longer the rowid) and
    nullable, on PostgreSQL its primary key and NOT NULL dropped (so an id may also repeat)."""
    if is_postgres(db):
        execute(db, "ALTER TABLE ledger_entry DROP CONSTRAINT ledger_entry_pkey CASCADE",
                "ALTER TABLE ledger_entry ALTER COLUMN id DROP NOT NULL")
        return
    import sqlite3

    con = sqlite3.connect(db, isolation_level=None)
    try:
        [(made,)] = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ledger_entry'")
        kept = [sql for (sql,) in con.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'ledger_entry' "
                                               "AND type IN ('index', 'trigger') AND sql IS NOT NULL")]
        remade = made.replace("CREATE TABLE ledger_entry", "CREATE TABLE remade", 1).replace(
            "id INTEGER NOT NULL", "id INT", 1)
        assert remade.count("remade") == 1 and "id INT," in remade
        for statement in ("PRAGMA foreign_keys = OFF", "PRAGMA legacy_alter_table = ON", "BEGIN", remade,
                          "INSERT INTO remade SELECT * FROM ledger_entry", "DROP TABLE ledger_entry",
                          "ALTER TABLE remade RENAME TO ledger_entry", *kept, "COMMIT"):
            con.execute(statement)
    finally:
        con.close()


def test_a_ledger_entry_with_no_id_is_named_beside_an_import(practice, db):
    """The ledger's table remade so that an id may be NULL (its guards all kept), and an
    income of £700 added with SQL and no id: it counts in the books, so check names it, as it
    does when the ledger has no import. Rows outside the imports' ranges are read by ranges
    of ids, which a NULL id is in none of."""
    from pathlib import Path

    ledger = Path(__file__).resolve().parent.parent / "examples" / "riverside-ledger.csv"
    practice.ok("ledger", "income", "10", "--date", "2025-04-01", "--category", "grants", as_="mo")
    practice.ok("ledger", "import", str(ledger), as_="mo")
    practice.ok("check")
    _let_ledger_ids_be_null(db)
    execute(db, "INSERT INTO ledger_entry (id, date, kind, amount_pence, category, debit, credit, recorded_at) "
                "VALUES (NULL, '2025-06-01', 'income', 70000, 'grants', 'assets:bank', 'income:grants', '2026-06-30 10:00:00')")
    assert query(db, "SELECT amount_pence FROM ledger_entry WHERE id IS NULL") == [(70000,)]
    out = _check(practice)
    assert "ledger_entry row None was written around swp" in out


def test_a_copy_of_a_signed_entry_is_named_when_ids_may_repeat(practice, db):
    """The ledger's primary key dropped (its other guards kept), and a copy of a signed hand
    entry added with SQL, the same id and values: the books count it twice, so check names it.
    (On SQLite the id stays unique: the tables that refer to an entry need it so, and every
    write to them is refused without it.)"""
    if not is_postgres(db):
        pytest.skip("SQLite keeps the ledger's id unique while other tables refer to it")
    entry = practice.ok("ledger", "income", "700", "--date", "2025-04-01", "--category", "grants",
                        as_="mo", json=True).json["entry"]
    practice.ok("check")
    _let_ledger_ids_be_null(db)
    execute(db, f"INSERT INTO ledger_entry SELECT * FROM ledger_entry WHERE id = {entry}")
    assert query(db, f"SELECT count(*) FROM ledger_entry WHERE id = {entry}") == [(2,)]
    out = _check(practice)
    assert f"ledger_entry row {entry} is there twice" in out
    assert "ledger_entry.id is no longer unique" in out  # and the key's loss itself


def test_an_amount_given_a_fraction_of_a_penny_is_named(practice, db):
    """On SQLite a money column takes a fraction written with plain SQL (PostgreSQL's BIGINT
    refuses it): swp reads an amount as whole pence, but check compares it as stored, so an
    entry given 0.9 of a penny more, by hand or in an import, is named, its guard put back."""
    if is_postgres(db):
        pytest.skip("a BIGINT column on PostgreSQL holds whole numbers only")
    entry = _an_entry_and_an_import(practice, "2025-04-01")
    _behind_the_trigger(db, "ledger_entry", "ledger_entry_append_only_update",
                        f"UPDATE ledger_entry SET amount_pence = amount_pence + 0.9 WHERE id IN ({entry}, {entry + 5})")
    assert query(db, f"SELECT typeof(amount_pence) FROM ledger_entry WHERE id = {entry}") == [("real",)]
    out = _check(practice)
    assert f"ledger_entry row {entry} was changed after its signed event (amount_pence)" in out
    assert "changed after their signed import" in out  # the import's range holds the other
    assert "trigger" not in out


def test_a_date_rewritten_in_another_form_is_named(practice, db):
    """On SQLite a date is text: '2026-W14-2' (an ISO week date) reads as 2026-03-31 (Python
    takes either form), the same as its event's, but sorts after every '2026-0..' date, so the
    entry drops out of every range that ends on 2026-03-31 (a period's totals, a balance --to).
    check compares a date as stored, so the entry is named, by hand or in an import, its guard
    put back."""
    from datetime import date

    if is_postgres(db):
        pytest.skip("a DATE column on PostgreSQL holds dates, not text")
    entry = _an_entry_and_an_import(practice, "2026-03-31")
    span = ["--from", "2025-04-01", "--to", "2026-03-31"]
    before = practice.ok("ledger", "balance", *span, json=True).json["income_pence"]
    weeks = []
    for row in (entry, entry + 5):
        [(day,)] = query(db, f"SELECT date FROM ledger_entry WHERE id = {row}")
        year, week, weekday = date.fromisoformat(day).isocalendar()
        weeks.append(f"UPDATE ledger_entry SET date = '{year}-W{week:02d}-{weekday}' WHERE id = {row}")
    _behind_the_trigger(db, "ledger_entry", "ledger_entry_append_only_update", *weeks)
    assert query(db, f"SELECT date FROM ledger_entry WHERE id = {entry}") == [("2026-W14-2",)]
    assert practice.ok("ledger", "balance", *span, json=True).json["income_pence"] < before  # the harm
    out = _check(practice)
    assert f"ledger_entry row {entry} was changed after its signed event (date)" in out
    assert "changed after their signed import" in out  # the import's range holds the other
    assert "trigger" not in out


def _forge_votes(db: str, actor: str, voters: tuple[str, ...], proposal_id: int) -> None:
    """A member who holds only their own key writes other members' votes inside one unit of
    work signed by themselves (the service's one-member-one-vote rule bypassed), then closes."""
    from sqlmodel import col, select

    from swp.clock import now, today
    from swp.models import Member, Vote
    from swp.services import governance
    from swp.services.uow import perform

    def work(session):
        for handle in voters:
            member = session.execute(select(Member).where(col(Member.handle) == handle)).scalar_one()
            session.add(Vote(proposal_id=proposal_id, member_id=member.id, version=1, choice="yes",
                             cast_at=now(), cast_on=today()))
        session.flush()
        governance.vote(session, actor=actor, proposal_id=proposal_id, choice="yes")
        return governance.close(session, actor=actor, proposal_id=proposal_id)

    perform(db, work, write=True, command="proposal close", args={"proposal_id": proposal_id}, actor=actor)


def test_votes_for_others_in_an_event_signed_by_one_member(practice, db):
    practice.ok("proposal", "new", "--title", "More reserve", "--kind", "ordinary",
                "--amend", "sharing.reserve-percent=25", as_="mo")
    number = int(query(db, "SELECT max(id) FROM proposal")[0][0])
    _forge_votes(db, "mo", ("ann", "bea", "cal"), number)
    assert query(db, f"SELECT status FROM proposal WHERE id = {number}")[0][0] == "passed"
    seq = audit_rows(db)[-1]["seq"]
    run = practice("audit", "verify")
    assert run.code == 4
    assert f"event {seq}: it records a vote by ann, signed by mo" in run.err
    out = _check(practice)
    assert f"is a vote by ann, but its event ({seq}) was signed by mo" in out


def test_honest_votes_at_the_prompt_and_at_a_meeting_still_verify(practice, db):
    practice.ok("proposal", "new", "--title", "More reserve", "--kind", "ordinary",
                "--amend", "sharing.reserve-percent=25", as_="mo")
    number = int(query(db, "SELECT max(id) FROM proposal")[0][0])
    for handle in ("ann", "bea", "cal", "sam", "mo"):
        practice.ok("vote", str(number), "yes", as_=handle)
    practice.ok("proposal", "close", str(number), as_="ann")
    assert practice("audit", "verify").code == 0
