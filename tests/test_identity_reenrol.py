"""A member who lost their key is re-enrolled only by a passed resolution: the command line,
the refusals, and `swp audit verify`'s replay, which accepts a key enrolled for another member
only as the effect of such a resolution."""

from __future__ import annotations

import os

import pytest
from conftest import audit_rows, query, snapshot

from swp import identity


def _key_file(real, handle: str) -> str:
    uid = query(real.db, "SELECT uid FROM practice")[0][0]
    return os.path.join(real.homes[handle], "keys", uid, f"{handle}.pem")


def _lose(real, handle: str) -> str:
    """The member's key file is gone (a lost laptop): keep it aside, to try it later."""
    path = _key_file(real, handle)
    kept = path + ".lost"
    os.replace(path, kept)
    return kept


def _propose(real, public: str, *, kind: str = "special", as_: str = "ann"):
    return real.as_(as_, "proposal", "new", "--title", "Re-enrol bea's key", "--kind", kind,
                    "--re-enrol", "bea", "--public-key", public, json=True)


def _pass(real, number: int, voters=("ann", "cal", "mo"), closer: str = "ann"):
    for handle in voters:
        run = real.as_(handle, "vote", str(number), "yes")
        assert run.code == 0, run.err
    return real.as_(closer, "proposal", "close", str(number), json=True)


def _vote_with(real, key: str, number: int, choice: str):
    """bea votes with the key file at `key` (her lost key, found again)."""
    return real("--key", key, "vote", str(number), choice, as_="bea",
                env={"SWP_HOME": real.homes["bea"]})


def test_a_lost_key_is_re_enrolled_by_a_passed_resolution(real, db):
    enrolled_before = real.ok("member", "show", "bea", json=True).json["key_fingerprint"]
    lost = _lose(real, "bea")
    # bea cannot act: her key is gone
    run = real.as_("bea", "vote", "1", "yes")
    assert run.code == 1 and run.err.startswith("swp: no key for bea at ")
    # a new key pair, not enrolled: it says how the members enrol it
    made = real.as_("bea", "key", "new", "--no-passphrase")
    assert made.code == 0, made.err
    assert f"Not enrolled: the practice has {enrolled_before} enrolled for bea" in made.out
    assert "--re-enrol bea --public-key " in made.out
    public = identity.parse_public_key(_key_file(real, "bea").replace(".pem", ".pub"))
    assert real.ok("member", "show", "bea", json=True).json["key_fingerprint"] == enrolled_before
    # a special resolution, proposed by another member
    before = snapshot(db)
    run = _propose(real, public, kind="ordinary")
    assert run.code == 1 and run.err == ("swp: re-enrol bea's key: enrol key "
                                         f"{identity.fingerprint(public)} in place of the one they "
                                         "lost needs a special resolution; this one is ordinary "
                                         "(propose it with --kind special)\n")
    assert snapshot(db) == before
    made = _propose(real, public)
    assert made.code == 0, made.err
    number = made.json["id"]
    assert made.json["proposal"]["action"] == "re-enrol"
    assert made.json["proposal"]["target"] == "bea" and made.json["proposal"]["value"] == public
    # until it passes, bea's new key signs nothing
    run = real.as_("bea", "vote", str(number), "yes")
    assert run.code == 1 and "not bea's enrolled key" in run.err
    # 3 of 4 yes settles it, but bea has the full notice: the close waits for her vote (here
    # with the key she lost, found again before the close) or for the end of the notice
    for handle in ("ann", "cal", "mo"):
        assert real.as_(handle, "vote", str(number), "yes").code == 0
    before = snapshot(db)
    refused = real.as_("ann", "proposal", "close", str(number))
    assert refused.code == 3, refused.err
    assert refused.err.startswith("swp: refused by clause governance.notice-days: the proposal "
                                  "may close on ")
    assert refused.err.endswith("1 of 4 members have not voted and ending a membership or "
                                "re-enrolling a member's key waits the full notice\n")
    assert snapshot(db) == before
    assert real.ok("proposal", "show", str(number), json=True).json["may_close_now"] is False
    assert _vote_with(real, lost, number, "yes").code == 0
    closed = real.as_("ann", "proposal", "close", str(number), json=True)
    assert closed.code == 0, closed.err
    assert closed.json["status"] == "passed"
    assert closed.json["effect"] == (f"bea's key {identity.fingerprint(public)} is enrolled; their "
                                     f"old key {enrolled_before} signs nothing from now on")
    event = audit_rows(db)[-1]
    assert event["actor"] == "ann" and event["signature"]
    assert '"key.reenrolled"' in event["payload"]
    assert real.ok("member", "show", "bea", json=True).json["key_fingerprint"] == \
        identity.fingerprint(public)
    # bea signs with her new key; the lost one, found again, signs nothing
    assert real.as_("bea", "proposal", "new", "--title", "T", "--kind", "ordinary", "--amend",
                    "sharing.reserve-percent=30").code == 0
    run = real("--key", lost, "vote", "1", "yes", as_="bea", env={"SWP_HOME": real.homes["bea"]})
    assert run.code == 1 and "not bea's enrolled key" in run.err
    verified = real.ok("audit", "verify", json=True).json
    assert verified["ok"], verified
    real.ok("check")


@pytest.mark.parametrize("then", ["after the notice", "with bea's vote"])
def test_a_re_enrolment_gives_the_member_concerned_the_full_notice(practice, db, then):
    """4 of 5 yes settles a special resolution, but a 75% bloc may not hand itself a
    dissenting member's key the day it proposes it: as for an expulsion, bea has the full
    notice, unless every current member, bea included, has voted."""
    public = identity.new_signer("bea").public_hex
    number = practice.ok("proposal", "new", "--title", "Bea's new key", "--kind", "special",
                         "--re-enrol", "bea", "--public-key", public, as_="ann", json=True).json["id"]
    for handle in ("ann", "cal", "mo", "sam"):
        practice.ok("vote", str(number), "yes", as_=handle)
    before = snapshot(db)
    events = len(audit_rows(db))
    run = practice("proposal", "close", str(number), as_="ann")
    assert run.code == 3, run.err
    assert run.err == ("swp: refused by clause governance.notice-days: the proposal may close on "
                       "2026-07-15 (14 clear days after 2026-06-30), or sooner once every member "
                       "has voted: 1 of 5 members have not voted and ending a membership or "
                       "re-enrolling a member's key waits the full notice\n")
    assert snapshot(db) == before
    rows = audit_rows(db)
    assert len(rows) == events + 1 and rows[-1]["outcome"] == "refused"
    shown = practice.ok("proposal", "show", str(number), json=True).json
    assert shown["may_close_now"] is False and shown["may_close_on"] == "2026-07-15"
    assert query(db, "SELECT public_key FROM member WHERE handle = 'bea'")[0][0] != public
    env = {}
    if then == "after the notice":
        env = {"SWP_TODAY": "2026-07-15"}
    else:
        practice.ok("vote", str(number), "no", as_="bea")
    closed = practice.ok("proposal", "close", str(number), as_="ann", json=True, env=env).json
    assert closed["status"] == "passed"
    assert query(db, "SELECT public_key FROM member WHERE handle = 'bea'")[0][0] == public
    practice.ok("check", env=env)


def test_a_failed_resolution_enrols_nothing(real, db):
    lost = _lose(real, "bea")
    assert real.as_("bea", "key", "new", "--no-passphrase").code == 0
    public = identity.parse_public_key(_key_file(real, "bea").replace(".pem", ".pub"))
    number = _propose(real, public).json["id"]
    for handle, choice in (("ann", "yes"), ("cal", "no"), ("mo", "no")):
        assert real.as_(handle, "vote", str(number), choice).code == 0
    assert _vote_with(real, lost, number, "no").code == 0
    closed = real.as_("ann", "proposal", "close", str(number), json=True)
    assert closed.code == 0, closed.err
    assert closed.json["status"] == "failed" and closed.json["effect"] is None
    assert real.ok("member", "show", "bea", json=True).json["key_fingerprint"] != \
        identity.fingerprint(public)
    assert real.ok("audit", "verify", json=True).json["ok"]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--re-enrol", "nobody", "--public-key", "ab" * 32], 1, "swp: no member with handle 'nobody'\n"),
    (["--re-enrol", "bea", "--public-key", "xyz"], 1, "swp: not a public key: give the 64 hex digits"),
    (["--re-enrol", "bea"], 2, "--re-enrol needs --public-key"),
    (["--expel", "cal", "--public-key", "ab" * 32], 2, "--public-key goes with --re-enrol"),
])
def test_a_re_enrolment_names_a_member_and_a_new_key(real, db, args, code, message):
    before = snapshot(db)
    run = real.as_("ann", "proposal", "new", "--title", "T", "--kind", "special", *args)
    assert run.code == code, run.err
    assert message in run.err
    assert snapshot(db) == before


def test_a_key_already_enrolled_is_not_re_enrolled(real, db):
    for handle in ("bea", "cal"):  # bea's own key, or cal's
        enrolled = query(db, "SELECT public_key FROM member WHERE handle = :h", {"h": handle})[0][0]
        before = snapshot(db)
        run = _propose(real, enrolled)
        fp = identity.fingerprint(enrolled)
        assert run.code == 1
        assert run.err == (f"swp: {fp} is already bea's enrolled key\n" if handle == "bea" else
                           f"swp: {fp} is cal's enrolled key, not a new key for bea\n")
        assert snapshot(db) == before


# --- the replay: a key enrolled for someone else needs such a resolution ----------------------


def _as_ann(real, fn, command: str = "key rotate"):
    """A change made by ann with her own key through a swp changed to do what swp refuses (an
    insider who holds one member's key)."""
    from swp.services.uow import perform

    old = os.environ.get("SWP_HOME")
    os.environ["SWP_HOME"] = real.homes["ann"]
    try:
        perform(real.db, fn, write=True, command=command, args={}, actor="ann")
    finally:
        os.environ["SWP_HOME"] = old or ""


def _forged_bea_key(session, public: str, action: str, payload: dict) -> None:
    from sqlalchemy import select

    from swp.models import Member
    from swp.services import audit

    bea = session.execute(select(Member).where(Member.handle == "bea")).scalar_one()
    bea.public_key, bea.key_fingerprint = public, identity.fingerprint(public)
    session.add(bea)
    session.flush()
    audit.act(session, action, {"handle": "bea", "public_key": public, **payload})


@pytest.mark.parametrize("action", ["key.rotated", "key.enrolled", "key.reenrolled"])
def test_a_key_enrolled_for_another_member_without_a_resolution_fails_verify(real, db, action):
    public = identity.new_signer("bea").public_hex
    payload = {"proposal": 1} if action == "key.reenrolled" else {}
    _as_ann(real, lambda s: _forged_bea_key(s, public, action, payload))
    event = audit_rows(db)[-1]
    assert event["actor"] == "ann" and event["signature"]
    run = real("audit", "verify", json=True)
    assert run.code == 4, run.out
    assert run.json["first_bad"] == event["seq"]
    reason = ("it re-enrols bea's key without a passed resolution to enrol that key for them"
              if action == "key.reenrolled" else
              "it enrols a key for bea, signed by ann: only a passed resolution enrols a key for "
              "another member")
    assert run.err == f"swp: audit chain broken at event {event['seq']}: {reason}\n"
    check = real("check", json=True)
    assert check.code == 4
    assert any(p["check"] == "audit" and f"event {event['seq']}" in p["message"]
               for p in check.json["problems"])


def test_a_re_enrolment_of_another_key_than_the_resolution_named_fails_verify(real, db):
    """A resolution passed for one key; the closing event enrols another."""
    from swp.services import governance

    wanted = identity.new_signer("bea").public_hex
    other = identity.new_signer("bea").public_hex
    number = _propose(real, wanted).json["id"]
    for handle in ("ann", "bea", "cal", "mo"):
        assert real.as_(handle, "vote", str(number), "yes").code == 0

    def close_with_another_key(session):
        governance.close(session, actor="ann", proposal_id=number)
        _forged_bea_key(session, other, "key.reenrolled", {"proposal": number})

    _as_ann(real, close_with_another_key, command="proposal close")
    run = real("audit", "verify", json=True)
    assert run.code == 4
    assert run.json["first_bad"] == audit_rows(db)[-1]["seq"]
    assert run.err.endswith(": it re-enrols bea's key without a passed resolution to enrol that key "
                            "for them\n")


# --- the revision that lets a proposal re-enrol a key ------------------------------------------


def _schema(db: str) -> set:
    from conftest import is_postgres

    if is_postgres(db):
        return set(query(db, "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"))
    return set(query(db, "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'index')"))


def test_the_revision_widens_the_proposal_actions_and_keeps_every_row_and_guard(lived, db):
    from conftest import execute, migrate
    from sqlalchemy.exc import IntegrityError

    skip = ("audit_event", "alembic_version")
    migrate(db, "0020", down=True)  # the later revisions undone first (they have tests of their own)
    schema, rows = _schema(db), snapshot(db, skip=skip)
    insert = ("INSERT INTO proposal (title, kind, action, target, value, created_at, status) VALUES "
              f"('Re-enrol', 'special', 're-enrol', 'bea', '{'ab' * 32}', '2026-06-30 12:00:00', 'open')")
    migrate(db, "0019", down=True)
    assert _schema(db) == schema and snapshot(db, skip=skip) == rows
    with pytest.raises(IntegrityError, match="(?i)proposal_action|check"):
        execute(db, insert)
    migrate(db, "0020")
    assert _schema(db) == schema and snapshot(db, skip=skip) == rows
    # the guards of the rebuilt table still hold (its own, and other tables' that name it)
    with pytest.raises(IntegrityError, match="closed proposal|cannot be changed once made"):
        execute(db, "UPDATE proposal SET title = 'x' WHERE status = 'passed'")
    with pytest.raises(IntegrityError, match="never deleted"):
        execute(db, "DELETE FROM proposal")
    with pytest.raises(IntegrityError, match="closed"):
        execute(db, "INSERT INTO vote (proposal_id, member_id, version, choice, cast_at, cast_on) "
                    "SELECT p.id, m.id, 1 + COALESCE((SELECT MAX(v.version) FROM vote v WHERE v.proposal_id "
                    "= p.id AND v.member_id = m.id), 0), 'yes', '2026-06-30 12:00:00', '2026-06-30' FROM proposal p, "
                    "member m WHERE p.status = 'passed' AND m.handle = 'ann' LIMIT 1")
    execute(db, insert)  # the wider action is taken now...
    with pytest.raises(RuntimeError, match="re-enrol a member's key"):  # ...and cannot go back
        migrate(db, "0019", down=True)


def test_a_re_enrolment_closed_early_without_the_members_vote_is_named_by_check(practice, db, monkeypatch):
    """Closed the day it was made by a swp that let a settled result close it (as swp once
    did): `swp check` names the snap vote."""
    from swp import rules

    public = identity.new_signer("bea").public_hex
    number = practice.ok("proposal", "new", "--title", "Bea's new key", "--kind", "special",
                         "--re-enrol", "bea", "--public-key", public, as_="ann", json=True).json["id"]
    for handle in ("ann", "cal", "mo", "sam"):
        practice.ok("vote", str(number), "yes", as_=handle)
    with monkeypatch.context() as m:
        m.setattr(rules, "ENDS_MEMBERSHIP", {("expel", None), ("amend", "member.left")})
        assert practice.ok("proposal", "close", str(number), as_="ann", json=True).json["status"] == "passed"
    found = practice("check", json=True)
    assert found.code == 4
    assert any(p["message"].startswith(f"proposal #{number} was closed on 2026-06-30, before its "
                                       "notice period was over")
               and "re-enrolling a member's key waits the full notice" in p["message"]
               for p in found.json["problems"]), found.json["problems"]
