"""The members' page (swp serve) without a browser: Starlette's TestClient against the lived-in
practice, with a software passkey (tests/soft_authenticator.py). Who may see what, CSRF, the
Content-Security-Policy, cookie flags, single-use assertions, and votes with the same audit
record as the CLI. The browser itself is driven in test_web_browser.py."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import LIVED_OPEN_PROPOSAL as OPEN
from tests.conftest import TODAY, audit_rows, query, snapshot

ORIGIN = "http://localhost:8080"


@pytest.fixture
def site(lived):
    from starlette.testclient import TestClient

    from swp.web.app import Config, create_app

    app = create_app(Config(db=lived.db, origin=ORIGIN, secure=False))
    with TestClient(app, base_url=ORIGIN) as client:
        yield Site(lived, app, client)


class Site:
    def __init__(self, swp, app, client):
        self.swp, self.app, self.client = swp, app, client

    def new_client(self):
        from starlette.testclient import TestClient

        return TestClient(self.app, base_url=ORIGIN)

    def invite(self, handle: str, as_: str | None = None) -> str:
        """The member's own invitation (every member of the sandbox has a key)."""
        url = self.swp.ok("member", "invite", handle, "--url", ORIGIN, as_=as_ or handle,
                          json=True).json["invitation"]["url"]
        assert url.startswith(ORIGIN + "/enrol/")
        return url[len(ORIGIN):]


def csrf_of(page) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text).group(1)


def without_token(page) -> str:
    return re.sub(r'<meta name="csrf-token" content="[^"]+">', "", page.text)


def passkey():
    from tests.soft_authenticator import SoftPasskey

    return SoftPasskey(ORIGIN, "localhost")


def enrol(client, path: str, key) -> None:
    page = client.get(path)
    assert page.status_code == 200, page.text
    token = csrf_of(page)
    options = client.post(path + "/options", headers={"X-CSRF-Token": token})
    assert options.status_code == 200, options.text
    made = client.post(path + "/verify", json={"credential": key.create(options.json())},
                       headers={"X-CSRF-Token": token})
    assert made.status_code == 200, made.text
    # the new passkey signs its own enrolment (the event that records it)
    done = client.post(path + "/confirm", json={"credential": key.get(made.json()["sign"])},
                       headers={"X-CSRF-Token": token})
    assert done.status_code == 200, done.text
    assert done.json() == {"redirect": "/"}


def signin(client, handle: str, key, *, expect: int = 200):
    token = csrf_of(client.get("/signin"))
    options = client.post("/signin/options", json={"handle": handle}, headers={"X-CSRF-Token": token})
    if options.status_code != 200:
        assert options.status_code == expect
        return options
    done = client.post("/signin/verify", json={"handle": handle, "credential": key.get(options.json())},
                       headers={"X-CSRF-Token": token})
    assert done.status_code == expect, done.text
    return done


def vote_assertion(client, pid: int, choice: str, key) -> tuple[str, dict]:
    token = csrf_of(client.get(f"/proposals/{pid}"))
    options = client.post(f"/proposals/{pid}/vote/options", json={"choice": choice},
                          headers={"X-CSRF-Token": token})
    assert options.status_code == 200, options.text
    return token, key.get(options.json())


def vote(client, pid: int, choice: str, key):
    token, assertion = vote_assertion(client, pid, choice, key)
    return client.post(f"/proposals/{pid}/vote", data={"csrf": token, "choice": choice,
                                                       "assertion": json.dumps(assertion)},
                       follow_redirects=False)


def _assertion_of(event: dict) -> dict:
    from swp.identity import read_passkey_signature

    found = read_passkey_signature(event["signature"])
    assert found is not None, event["signature"]
    return found


def _challenge_of(event: dict) -> str:
    """The challenge (hex) the passkey signed, from the assertion kept in the event."""
    from webauthn.helpers import base64url_to_bytes

    client = json.loads(base64url_to_bytes(_assertion_of(event)["client_data_json"]))
    return base64url_to_bytes(client["challenge"]).hex()


def _intent_of(event: dict) -> dict:
    """The request the member's passkey signed, kept in the event's signature."""
    return json.loads(_assertion_of(event)["intent"])


def _signed_for(event: dict) -> str:
    """What the passkey's challenge must be for this event: its request's digest."""
    import hashlib

    return hashlib.sha256(_assertion_of(event)["intent"].encode()).hexdigest()


def _asked_for(event: dict) -> None:
    """The event records the request its passkey signed: the member, command and arguments."""
    intent = _intent_of(event)
    assert (intent["member"], intent["command"], intent["args"]) == (event["actor"], event["command"], event["args"])
    assert _challenge_of(event) == _signed_for(event)
    assert intent["seen"][0] < event["seq"] and len(intent["nonce"]) == 32


def _verify(site, env: dict | None = None) -> dict:
    run = site.swp("audit", "verify", "--full", json=True, env=env)
    assert run.code in (0, 4), run.err
    return run.json


@pytest.fixture
def ann(site):
    key = passkey()
    enrol(site.client, site.invite("ann"), key)
    return key


# --- enrolment and sign-in -------------------------------------------------------------------


def test_an_invited_member_enrols_a_passkey_and_is_signed_in(site, ann):
    home = site.client.get("/")
    assert home.status_code == 200
    assert "Welcome, Ann Achebe" in home.text
    rows = query(site.swp.db, "SELECT m.handle, p.sign_count FROM passkey_credential p "
                              "JOIN member m ON m.id = p.member_id")
    assert rows == [("ann", 2)]  # made (1), then signed its own enrolment (2)
    event = audit_rows(site.swp.db)[-1]
    assert (event["command"], event["actor"], event["outcome"]) == ("passkey enrol", "ann", "ok")
    # the enrolment is signed by the new passkey itself, on mo's invitation, with no key file
    assert event["key_fingerprint"] == "passkey"
    _asked_for(event)
    enrolled = dict(json.loads(event["payload"]))["passkey.enrolled"]
    invited = [e for e in audit_rows(site.swp.db) if e["action"] == "member.invited"][-1]
    assert enrolled["member"] == "ann" and enrolled["invitation"] == invited["seq"]
    assert (enrolled["rp_id"], enrolled["origin"]) == ("localhost", ORIGIN)
    assert _verify(site)["ok"] is True
    # the link works once
    again = site.new_client().get(site.invite("ann"))
    assert again.status_code == 200


def test_an_enrolment_link_works_once_and_stores_only_a_hash(site):
    path = site.invite("bea")
    token = path.rsplit("/", 1)[1]
    stored = query(site.swp.db, "SELECT token_hash FROM web_invite")
    assert all(token not in row[0] for row in stored)
    assert token not in json.dumps(audit_rows(site.swp.db), default=str)
    enrol(site.client, path, passkey())
    used = site.new_client().get(path)
    assert used.status_code == 404
    assert "not valid" in used.text
    assert without_token(site.new_client().get("/enrol/not-a-token")) == without_token(used)


def test_an_invitation_needs_the_manager_and_a_current_member(site):
    refused = site.swp("member", "invite", "bea", as_="ann")
    assert refused.code == 1 and "manager" in refused.err
    assert site.swp("member", "invite", "nobody", as_="mo").code == 1


def test_sign_in_with_the_enrolled_passkey_and_out_again(site, ann):
    other = site.new_client()
    assert other.get("/", follow_redirects=False).headers["location"] == "/signin"
    signin(other, "ann", ann)
    assert "Welcome, Ann Achebe" in other.get("/").text
    token = csrf_of(other.get("/"))
    out = other.post("/signout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303
    assert other.get("/", follow_redirects=False).status_code == 303


def test_a_passkey_signs_in_only_its_own_member(site, ann):
    signin(site.new_client(), "bea", ann, expect=403)
    signin(site.new_client(), "nobody", ann, expect=403)


def test_a_sign_in_assertion_cannot_be_replayed(site, ann):
    client = site.new_client()
    token = csrf_of(client.get("/signin"))
    options = client.post("/signin/options", json={"handle": "ann"}, headers={"X-CSRF-Token": token})
    assertion = ann.get(options.json())
    first = client.post("/signin/verify", json={"handle": "ann", "credential": assertion},
                        headers={"X-CSRF-Token": token})
    assert first.status_code == 200
    replay = site.new_client()
    token2 = csrf_of(replay.get("/signin"))
    again = replay.post("/signin/verify", json={"handle": "ann", "credential": assertion},
                        headers={"X-CSRF-Token": token2})
    assert again.status_code == 403


def test_a_forged_signature_is_refused(site, ann):
    client = site.new_client()
    token = csrf_of(client.get("/signin"))
    options = client.post("/signin/options", json={"handle": "ann"}, headers={"X-CSRF-Token": token})
    assertion = ann.get(options.json())
    from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

    signature = bytearray(base64url_to_bytes(assertion["response"]["signature"]))
    signature[-1] ^= 1
    assertion["response"]["signature"] = bytes_to_base64url(bytes(signature))
    done = client.post("/signin/verify", json={"handle": "ann", "credential": assertion},
                       headers={"X-CSRF-Token": token})
    assert done.status_code == 403


WEB_RECORDS = ("web_challenge", "web_invite", "web_session")


def _counts(db: str, tables=WEB_RECORDS + ("passkey_credential",)) -> dict:
    return {t: query(db, f"SELECT count(*) FROM {t}")[0][0] for t in tables}


def test_expired_challenges_invites_and_sessions_are_purged_at_start_and_on_sign_in(site, ann, monkeypatch):
    from starlette.testclient import TestClient

    from swp.web.app import Config, create_app

    db = site.swp.db
    vote(site.client, OPEN, "yes", ann)  # an assertion kept with the vote's event
    site.invite("bea")  # an unused link
    signed = [e["signature"] for e in audit_rows(db)]
    other = site.new_client()
    token = csrf_of(other.get("/signin"))
    assert other.post("/signin/options", json={"handle": "cal"},
                      headers={"X-CSRF-Token": token}).status_code == 200  # an unused challenge
    before = _counts(db)
    assert all(before[t] > 0 for t in before), before
    # four days on: every challenge (5 minutes), link (72 hours) and session (12 hours) expired
    assert TODAY == "2026-06-30"
    monkeypatch.setenv("SWP_TODAY", "2026-07-04")
    with TestClient(create_app(Config(db=db, origin=ORIGIN, secure=False)), base_url=ORIGIN) as client:
        after_start = _counts(db)
        assert {t: after_start[t] for t in WEB_RECORDS} == dict.fromkeys(WEB_RECORDS, 0)
        assert after_start["passkey_credential"] == before["passkey_credential"]
        assert [e["signature"] for e in audit_rows(db)] == signed
        # a challenge made now, then a day later a sign-in purges it (its own stays, used)
        token = csrf_of(client.get("/signin"))
        client.post("/signin/options", json={"handle": "cal"}, headers={"X-CSRF-Token": token})
        assert _counts(db, ("web_challenge",)) == {"web_challenge": 1}
        monkeypatch.setenv("SWP_TODAY", "2026-07-05")
        signin(client, "ann", ann)
        assert _counts(db, WEB_RECORDS) == {"web_challenge": 1, "web_invite": 0, "web_session": 1}
        assert query(db, "SELECT used_at IS NOT NULL FROM web_challenge") == [(True,)]
        assert client.get("/").status_code == 200


def test_sign_in_is_rate_limited_per_address(lived):
    from starlette.testclient import TestClient

    from swp.web.app import Config, create_app

    app = create_app(Config(db=lived.db, origin=ORIGIN, secure=False, signin_per_address=5))
    with TestClient(app, base_url=ORIGIN) as client:
        token = csrf_of(client.get("/signin"))
        codes = [client.post("/signin/options", json={"handle": handle}, headers={"X-CSRF-Token": token}).status_code
                 for handle in ("ann", "bea", "cal", "mo", "sam", "ann", "bea")]
    assert codes == [200] * 5 + [429, 429]


def test_sign_in_is_rate_limited_per_member(site, ann):
    client = site.new_client()
    token = csrf_of(client.get("/signin"))
    codes = [client.post("/signin/options", json={"handle": "bea"}, headers={"X-CSRF-Token": token}).status_code
             for _ in range(12)]
    assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]


# --- security headers, cookies, CSRF -------------------------------------------------------------


def test_every_page_has_a_csp_forbidding_inline_scripts_and_no_inline_script(site, ann):
    for path in ("/", "/signin", "/proposals", f"/proposals/{OPEN}", "/rules", "/register", "/books",
                 "/statements/2026-q1/ann", "/nowhere"):
        page = site.client.get(path)
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), path
        assert " style=" not in page.text and "<style" not in page.text, path
        assert "http://" not in page.text.replace(ORIGIN, "") or path == "/nowhere"


def test_session_and_csrf_cookies_are_httponly_and_samesite_strict(site):
    key = passkey()
    client = site.new_client()
    path = site.invite("cal")
    page = client.get(path)
    cookie = page.headers["set-cookie"]
    assert "swp_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    token = csrf_of(page)
    options = client.post(path + "/options", headers={"X-CSRF-Token": token})
    made = client.post(path + "/verify", json={"credential": key.create(options.json())},
                       headers={"X-CSRF-Token": token})
    done = client.post(path + "/confirm", json={"credential": key.get(made.json()["sign"])},
                       headers={"X-CSRF-Token": token})
    session_cookie = done.headers["set-cookie"]
    assert session_cookie.startswith("swp_session=")
    assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
    assert "Secure" not in session_cookie  # plain http on localhost


def test_cookies_are_secure_under_tls(lived):
    from starlette.testclient import TestClient

    from swp.web.app import Config, create_app

    app = create_app(Config(db=lived.db, origin="https://members.example.org", secure=True))
    with TestClient(app, base_url="https://members.example.org") as client:
        page = client.get("/signin")
    assert "Secure" in page.headers["set-cookie"]
    assert page.headers["strict-transport-security"].startswith("max-age=")


def test_a_post_without_the_csrf_token_is_refused(site, ann):
    before = snapshot(site.swp.db)
    assert site.client.post("/signout", data={}).status_code == 403
    assert site.client.post("/signout", data={"csrf": "forged"}).status_code == 403
    assert site.client.post(f"/proposals/{OPEN}/vote/options", json={"choice": "yes"}).status_code == 403
    token, assertion = vote_assertion(site.client, OPEN, "no", ann)
    refused = site.client.post(f"/proposals/{OPEN}/vote", data={"choice": "no", "assertion": json.dumps(assertion)})
    assert refused.status_code == 403
    after = snapshot(site.swp.db)
    assert after["vote"] == before["vote"]
    fresh = site.new_client()
    assert fresh.post("/signin/options", json={"handle": "ann"}).status_code == 403
    assert "Welcome" in site.client.get("/").text  # still signed in


# --- what each role may see ----------------------------------------------------------------------

PAGES = ("/", "/proposals", f"/proposals/{OPEN}", "/proposals/new", "/rules", "/register", "/books", "/details",
         "/statements/2026-q1/{me}",
         "/statements/2026-q1/{me}/pdf")


@pytest.mark.parametrize("role", ["member", "manager", "former member", "signed out"])
def test_route_authorisation(site, role, monkeypatch):
    handle = {"member": "ann", "manager": "mo", "former member": "sam", "signed out": None}[role]
    client = site.new_client()
    if handle:
        key = passkey()
        enrol(client, site.invite(handle), key)
    if role == "former member":
        monkeypatch.setenv("SWP_TODAY", "2026-07-01")  # sam's last day was 2026-06-30
    me = handle or "ann"
    for path in PAGES:
        page = client.get(path.format(me=me), follow_redirects=False)
        if role in ("former member", "signed out"):
            assert (page.status_code, page.headers.get("location")) == (303, "/signin"), path
            continue
        expected = 200
        if role == "manager" and "statements" in path:
            expected = 200 if _allocated(site, "mo") else 404
        assert page.status_code == expected, (path, page.status_code)
    for path in ("/statements/2026-q1/bea", "/statements/2026-q1/bea/pdf", "/statements/2099-q9/" + me,
                 "/proposals/999", "/proposals/abc"):
        page = client.get(path, follow_redirects=False)
        if role in ("former member", "signed out"):
            assert page.status_code == 303
        else:
            assert page.status_code == 404, path
    if role in ("former member", "signed out"):
        token = csrf_of(client.get("/signin"))
        assert client.post(f"/proposals/{OPEN}/vote/options", json={"choice": "yes"},
                           headers={"X-CSRF-Token": token}).status_code == 401
        assert client.post(f"/proposals/{OPEN}/vote", data={"csrf": token, "choice": "yes",
                                                      "assertion": "{}"},
                           follow_redirects=False).status_code == 303


def _allocated(site, handle: str) -> bool:
    return bool(query(site.swp.db, "SELECT 1 FROM allocation a JOIN member m ON m.id = a.member_id "
                                   "WHERE m.handle = :h", {"h": handle}))


def test_another_members_statement_is_the_same_404_as_a_missing_one(site, ann):
    other = site.client.get("/statements/2026-q1/bea")
    missing = site.client.get("/statements/2099-q1/ann")
    unknown = site.client.get("/statements/2026-q1/nobody")
    assert other.status_code == missing.status_code == unknown.status_code == 404
    assert other.text == missing.text == unknown.text
    assert "Bea" not in other.text


def test_a_former_member_cannot_sign_in(site, monkeypatch):
    key = passkey()
    enrol(site.new_client(), site.invite("sam"), key)
    monkeypatch.setenv("SWP_TODAY", "2026-07-01")
    signin(site.new_client(), "sam", key, expect=403)


# --- the pages' content ----------------------------------------------------------------------------


def test_the_statement_page_has_the_html_statements_figures_and_its_pdf(site, ann):
    from swp.reports import html as html_writer
    from swp.services.sharing import statements
    from swp.services.uow import perform

    page = site.client.get("/statements/2026-q1/ann")
    assert page.status_code == 200
    st = perform(site.swp.db, lambda s: statements.issue(s, actor="ann", label="2026-q1", member="ann"),
                 write=False, command="statement", args={}, actor="ann")[0]
    assert html_writer.section(st) in page.text
    from swp.reports import chart

    assert chart.svg(st) in page.text and page.text.count("<svg") == 1  # the statement's chart
    pdf = site.client.get("/statements/2026-q1/ann/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert "2026-q1" in site.client.get("/").text


def test_the_statement_page_keeps_the_totals_but_sees_books_changed_behind_its_back(site, ann):
    """The page keeps a closed period's totals between views (a million entries are not summed
    on every view); changing that period's entries needs a guard removed, which moves the
    schema, and the next view sums the books again and refuses, as `swp statement` does."""
    from tests.test_statement import tamper

    first = site.client.get("/statements/2026-q1/ann")
    assert first.status_code == 200 and "matches the books as closed" in first.text
    assert site.client.get("/statements/2026-q1/ann").text == first.text
    tamper(site.swp.db, "ledger_entry", "ledger_entry_append_only_update",
           "UPDATE ledger_entry SET amount_pence = amount_pence + 1 WHERE date <= '2026-03-31'")
    again = site.client.get("/statements/2026-q1/ann")
    assert again.status_code == 409 and "no longer match the fingerprint of period 2026-q1" in again.text
    run = site.swp("statement", "2026-q1", "--member", "ann", as_="ann")
    assert run.code == 4 and "no longer match the fingerprint" in run.err


def test_the_register_rules_books_and_proposals_pages(site, ann):
    register = site.client.get("/register").text
    for name in ("Ann Achebe", "Bea Brown", "Cal Chen", "Mo Malik"):
        assert name in register
    assert "frontline-majority" in site.client.get("/rules").text
    books = site.client.get("/books").text
    assert "Last closed period: 2026-q1" in books and "<svg" in books and "contracts" in books
    assert "grants" in books  # the open period's income
    proposals = site.client.get("/proposals").text
    assert "Keep more back" in proposals and "Shorter weeks" in proposals
    one = site.client.get(f"/proposals/{OPEN}").text
    assert "Shorter weeks" in one and 'id="tally-yes">1<' in one


def test_what_members_typed_is_escaped(site, ann):
    site.swp.ok("proposal", "new", "--title", "<script>alert(1)</script>", "--kind", "ordinary",
                "--amend", "sharing.reserve-percent=30", as_="bea")
    page = site.client.get("/proposals").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- voting ----------------------------------------------------------------------------------------


def test_a_vote_with_a_passkey_is_cast_changed_and_audited_like_the_cli(site, ann):
    cast = vote(site.client, OPEN, "no", ann)
    assert cast.status_code == 303 and cast.headers["location"] == f"/proposals/{OPEN}?done=cast"
    page = site.client.get(f"/proposals/{OPEN}").text
    assert 'id="my-vote">no<' in page and 'id="tally-no">1<' in page
    changed = vote(site.client, OPEN, "yes", ann)
    assert changed.headers["location"] == f"/proposals/{OPEN}?done=changed"
    assert 'id="tally-yes">2<' in site.client.get(f"/proposals/{OPEN}").text
    votes = query(site.swp.db, "SELECT v.choice, v.version FROM vote v JOIN member m ON m.id = v.member_id "
                               "WHERE m.handle = 'ann' AND v.proposal_id = :pid ORDER BY v.version", {"pid": OPEN})
    assert votes == [("no", 1), ("yes", 2)]
    event = audit_rows(site.swp.db)[-1]
    assert (event["command"], event["actor"], event["outcome"]) == ("vote", "ann", "ok")
    assert json.loads(event["args"]) == {"proposal_id": OPEN, "choice": "yes", "weight": 1, "for_handle": None}
    # each vote's event is signed by ann's passkey: its assertion, over her request
    votes = [e for e in audit_rows(site.swp.db) if e["command"] == "vote"][-2:]
    assert [e["key_fingerprint"] for e in votes] == ["passkey", "passkey"]
    for event in votes:
        _asked_for(event)
    assert [json.loads(_intent_of(e)["args"])["choice"] for e in votes] == ["no", "yes"]
    assert _intent_of(votes[1])["seen"] == [votes[0]["seq"], votes[0]["hash"]]  # she saw her first


def test_a_vote_replayed_with_an_old_assertion_is_refused(site, ann):
    token, assertion = vote_assertion(site.client, OPEN, "no", ann)
    form = {"csrf": token, "choice": "no", "assertion": json.dumps(assertion)}
    assert site.client.post(f"/proposals/{OPEN}/vote", data=form, follow_redirects=False).status_code == 303
    vote(site.client, OPEN, "yes", ann)
    before = snapshot(site.swp.db)
    replay = site.client.post(f"/proposals/{OPEN}/vote", data=form, follow_redirects=False)
    assert replay.status_code == 403
    assert "already used" in replay.text
    assert snapshot(site.swp.db) == before


def test_an_assertion_for_one_choice_cannot_cast_another(site, ann):
    token, assertion = vote_assertion(site.client, OPEN, "no", ann)
    before = snapshot(site.swp.db)
    swapped = site.client.post(f"/proposals/{OPEN}/vote", data={"csrf": token, "choice": "yes",
                                                          "assertion": json.dumps(assertion)})
    assert swapped.status_code == 403 and "another change" in swapped.text
    other = site.client.post("/proposals/1/vote", data={"csrf": token, "choice": "no",
                                                        "assertion": json.dumps(assertion)})
    assert other.status_code == 403
    assert snapshot(site.swp.db) == before


def test_a_vote_without_user_verification_is_refused(site, ann):
    token = csrf_of(site.client.get(f"/proposals/{OPEN}"))
    options = site.client.post(f"/proposals/{OPEN}/vote/options", json={"choice": "no"},
                               headers={"X-CSRF-Token": token}).json()
    assertion = ann.get(options, flags=0x01)
    refused = site.client.post(f"/proposals/{OPEN}/vote", data={"csrf": token, "choice": "no",
                                                          "assertion": json.dumps(assertion)})
    assert refused.status_code == 403


def test_a_vote_on_a_closed_proposal_shows_the_services_refusal(site, ann):
    before = snapshot(site.swp.db)
    token = csrf_of(site.client.get(f"/proposals/{OPEN}"))
    # the change is tried when the passkey is asked to confirm it: refused there, before any prompt
    refused = site.client.post("/proposals/1/vote/options", json={"choice": "no"}, headers={"X-CSRF-Token": token})
    assert refused.status_code == 409
    assert "closed" in refused.json()["error"]
    assert snapshot(site.swp.db)["vote"] == before["vote"]


def test_a_guard_refusal_shows_as_a_plain_message_with_the_clis_audit_record(site, ann, monkeypatch):
    from swp import rules
    from swp.errors import RuleViolation

    def refuse(*args, **kwargs):
        return [rules.Violation("one-member-one-vote", "a test refusal")] if hasattr(rules, "Violation") else []

    if not hasattr(rules, "Violation"):
        pytest.skip("rules.Violation is not available")
    message = RuleViolation("one-member-one-vote", "a test refusal").message
    lawful = rules.vote_violations
    # refused when the change is first tried, before the passkey is asked (the page's script
    # shows the sentence), and recorded as on the CLI
    monkeypatch.setattr(rules, "vote_violations", refuse)
    before = snapshot(site.swp.db)
    token = csrf_of(site.client.get(f"/proposals/{OPEN}"))
    early = site.client.post(f"/proposals/{OPEN}/vote/options", json={"choice": "no"},
                             headers={"X-CSRF-Token": token})
    assert early.status_code == 403 and early.json() == {"error": message}
    assert snapshot(site.swp.db) == before
    event = audit_rows(site.swp.db)[-1]
    assert (event["command"], event["actor"], event["outcome"], event["detail"]) == ("vote", "ann", "refused", message)
    # or refused when it is made again at the confirmation (the rules moved in between)
    monkeypatch.setattr(rules, "vote_violations", lawful)
    token, assertion = vote_assertion(site.client, OPEN, "no", ann)
    monkeypatch.setattr(rules, "vote_violations", refuse)
    refused = site.client.post(f"/proposals/{OPEN}/vote", data={"csrf": token, "choice": "no",
                                                          "assertion": json.dumps(assertion)})
    assert refused.status_code == 403
    assert "refused by clause one-member-one-vote: a test refusal" in refused.text
    after = snapshot(site.swp.db, skip=("audit_event", "web_challenge"))
    assert after == {k: v for k, v in before.items() if k != "web_challenge"}
    event = audit_rows(site.swp.db)[-1]
    assert (event["command"], event["actor"], event["outcome"]) == ("vote", "ann", "refused")
    assert event["detail"] == message


def test_help_imports_nothing_of_the_web_page():
    import subprocess
    import sys

    code = ("import sys; from swp.cli import app; "
            "print([m for m in ('starlette', 'jinja2', 'uvicorn', 'webauthn', 'multipart') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_serve_warns_when_told_another_host(practice, monkeypatch):
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    run = practice.ok("serve", "--host", "0.0.0.0", "--port", "8099")
    assert "must sit behind TLS" in run.err
    assert seen["host"] == "0.0.0.0" and seen["port"] == 8099
    quiet = practice.ok("serve")
    assert "TLS" not in quiet.err and seen["host"] == "127.0.0.1" and seen["port"] == 8080
    assert "http://localhost:8080" in quiet.out


def test_serve_refuses_a_missing_database(swp):
    run = swp("serve")
    assert run.code == 1 and "no practice" in run.err


def test_a_busy_or_broken_database_is_one_plain_sentence_not_a_trace(site, ann, monkeypatch):
    from swp.errors import DatabaseError
    from swp.web import passkeys

    def busy(*args, **kwargs):
        raise DatabaseError("the database is busy: try again")

    monkeypatch.setattr(passkeys, "ask", busy)
    token = csrf_of(site.client.get(f"/proposals/{OPEN}"))
    answer = site.client.post(f"/proposals/{OPEN}/vote/options", json={"choice": "no"}, headers={"X-CSRF-Token": token})
    assert answer.status_code == 503
    assert answer.json() == {"error": "the database is busy: try again"}


# --- a member's own details, and proposals, from the page ----------------------------------------


def _confirmed(client, page: str, path: str, key, fields: dict):
    """A change from a form: the passkey confirms it (options, then the form with the assertion);
    a refusal when the change is tried first is the options' answer."""
    token = csrf_of(client.get(page))
    options = client.post(path + "/options", json=fields, headers={"X-CSRF-Token": token})
    if options.status_code != 200:
        return options
    return client.post(path, data={"csrf": token, **fields, "assertion": json.dumps(key.get(options.json()))},
                       follow_redirects=False)


def _details_form(client, key, **fields):
    return _confirmed(client, "/details", "/details", key, fields)


def test_a_member_records_their_own_address_and_email_with_the_clis_audit_record(site, ann):
    db = site.swp.db
    page = site.client.get("/details")
    assert page.status_code == 200 and 'name="address"' in page.text
    done = _details_form(site.client, ann, address="1 Mill Lane, Leeds", email="ann@example.org")
    assert (done.status_code, done.headers["location"]) == (303, "/details?done=1")
    assert query(db, "SELECT address, email FROM member WHERE handle = 'ann'") == [
        ("1 Mill Lane, Leeds", "ann@example.org")]
    assert "1 Mill Lane, Leeds" in site.client.get("/details?done=1").text
    web_event = audit_rows(db)[-1]
    site.swp.ok("member", "update", "ann", "--address", "1 Mill Lane, Leeds", "--email", "ann@example.org",
                as_="ann")
    cli_event = audit_rows(db)[-1]
    for key in ("command", "actor", "outcome", "detail", "args"):
        assert web_event[key] == cli_event[key], key
    assert web_event["command"] == "member update"
    assert _verify(site)["ok"] is True


def test_details_and_proposals_typed_loosely_verify_as_the_services_wrote_them(site, ann):
    """The rows a page change writes are checked against the request its passkey signed, as
    the service writes them: stripped, an empty address or email cleared, a kind in lower case,
    a clause's value in its canonical form. An honest change never fails that check."""
    db = site.swp.db
    assert _details_form(site.client, ann, address="  2 Mill Lane ", email=" ann@example.org  ").status_code == 303
    assert query(db, "SELECT address, email FROM member WHERE handle = 'ann'") == [("2 Mill Lane", "ann@example.org")]
    assert _details_form(site.client, ann, address=" ", email="").status_code == 303  # cleared
    assert query(db, "SELECT address, email FROM member WHERE handle = 'ann'") == [(None, None)]
    assert _propose(site.client, ann, title="  Keep a fifth ", kind=" Ordinary ", clause=" sharing.reserve-percent ",
                    value=" 20 ").status_code == 303
    assert _propose(site.client, ann, title="Move", kind="special", clause="practice.local-authority",
                    value="  Kirklees Council ").status_code == 303
    assert query(db, "SELECT title, kind, clause, value FROM proposal ORDER BY id DESC LIMIT 2") == [
        ("Move", "special", "practice.local-authority", "Kirklees Council"),
        ("Keep a fifth", "ordinary", "sharing.reserve-percent", "20")]
    assert [e["command"] for e in audit_rows(db)[-4:]] == ["member update"] * 2 + ["proposal new"] * 2
    assert _verify(site)["ok"] is True


def test_a_refused_address_change_is_a_plain_message_and_changes_nothing(site, ann):
    before = snapshot(site.swp.db)
    refused = _details_form(site.client, ann, address="1 Mill Lane", email="not an email")
    assert refused.status_code == 400 and "not an email address" in refused.json()["error"]
    assert "Traceback" not in refused.text
    assert snapshot(site.swp.db) == before


def test_changing_details_needs_the_csrf_token_and_a_signed_in_current_member(site, ann, monkeypatch):
    before = snapshot(site.swp.db)
    forged = site.client.post("/details", data={"csrf": "forged", "address": "x"}, follow_redirects=False)
    assert forged.status_code == 403
    stranger = site.new_client()
    token = csrf_of(stranger.get("/signin"))
    out = stranger.post("/details", data={"csrf": token, "address": "x"}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/signin")
    sam_key = passkey()
    sam = site.new_client()
    enrol(sam, site.invite("sam"), sam_key)
    token = csrf_of(sam.get("/details"))
    monkeypatch.setenv("SWP_TODAY", "2026-07-01")  # sam has left: the session no longer counts
    former = sam.post("/details", data={"csrf": token, "address": "x"}, follow_redirects=False)
    assert (former.status_code, former.headers["location"]) == (303, "/signin")
    assert snapshot(site.swp.db)["member"] == before["member"]


def _propose(client, key, **fields):
    return _confirmed(client, "/proposals/new", "/proposals/new", key, fields)


@pytest.mark.parametrize("handle", ["ann", "mo"])
def test_a_member_or_the_manager_makes_a_proposal_with_the_clis_audit_record(site, handle):
    db = site.swp.db
    client = site.new_client()
    key = passkey()
    enrol(client, site.invite(handle), key)
    page = client.get("/proposals/new")
    assert page.status_code == 200 and "sharing.reserve-percent" in page.text
    made = _propose(client, key, title="Keep a fifth", kind="ordinary", clause="sharing.reserve-percent", value="20")
    assert made.status_code == 303
    pid = int(re.match(r"/proposals/(\d+)\?done=proposed$", made.headers["location"]).group(1))
    shown = client.get(made.headers["location"]).text
    assert "Your proposal was made." in shown and "Keep a fifth" in shown
    assert query(db, "SELECT title, proposed_by, status FROM proposal WHERE id = :i", {"i": pid}) == [
        ("Keep a fifth", handle, "open")]
    web_event = audit_rows(db)[-1]
    site.swp.ok("proposal", "new", "--title", "Keep a fifth", "--kind", "ordinary",
                "--amend", "sharing.reserve-percent=20", as_=handle)
    cli_event = audit_rows(db)[-1]
    for key in ("command", "actor", "outcome", "detail", "args"):
        assert web_event[key] == cli_event[key], key
    assert _verify(site)["ok"] is True


def test_a_proposal_the_guard_refuses_is_a_plain_message_with_the_clis_audit_record(site, ann):
    db = site.swp.db
    before = snapshot(db)
    refused = _propose(site.client, ann, title="Sell up", kind="special", clause="asset-lock", value="off")
    assert refused.status_code == 403 and "Traceback" not in refused.text
    refused_text = refused.json()["error"]
    web_event = audit_rows(db)[-1]
    assert (web_event["command"], web_event["actor"], web_event["outcome"]) == ("proposal new", "ann", "refused")
    after = snapshot(db)
    assert after["proposal"] == before["proposal"]
    cli = site.swp("proposal", "new", "--title", "Sell up", "--kind", "special", "--amend", "asset-lock=off",
                   as_="ann")
    assert cli.code == 3
    cli_event = audit_rows(db)[-1]
    for key in ("command", "actor", "outcome", "detail", "args"):
        assert web_event[key] == cli_event[key], key
    assert web_event["detail"] == refused_text


def test_making_a_proposal_needs_the_csrf_token_and_a_signed_in_current_member(site, ann):
    before = snapshot(site.swp.db)
    forged = site.client.post("/proposals/new", data={"csrf": "forged", "title": "x", "kind": "ordinary",
                                                      "clause": "sharing.reserve-percent", "value": "20"})
    assert forged.status_code == 403
    stranger = site.new_client()
    assert stranger.get("/proposals/new", follow_redirects=False).status_code == 303
    token = csrf_of(stranger.get("/signin"))
    out = stranger.post("/proposals/new", data={"csrf": token, "title": "x", "kind": "ordinary",
                                                "clause": "sharing.reserve-percent", "value": "20"},
                        follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/signin")
    assert snapshot(site.swp.db)["proposal"] == before["proposal"]


def test_a_resolution_re_enrolling_a_key_is_listed_and_shown_as_what_it_does(site, ann):
    from swp.identity import fingerprint, new_signer

    public = new_signer("bea").public_hex
    made = site.swp.ok("proposal", "new", "--title", "Bea's new key", "--kind", "special",
                       "--re-enrol", "bea", "--public-key", public, as_="ann", json=True).json
    listed = site.client.get("/proposals")
    assert listed.status_code == 200 and "Bea&#39;s new key" in listed.text
    one = site.client.get(f"/proposals/{made['id']}")
    assert one.status_code == 200
    assert f"re-enrol bea&#39;s key: enrol key {fingerprint(public)}" in one.text


# --- every change on the page is signed by the member's passkey --------------------------------


def _forge(db: str, seq: int, signature: str) -> None:
    """Put another signature on event `seq`, around swp (the append-only trigger dropped)."""
    from tests.conftest import execute

    execute(db, "DROP TRIGGER IF EXISTS audit_event_append_only_update ON audit_event",
            "UPDATE audit_event SET signature = :s WHERE seq = :q", params={"s": signature, "q": seq})


def _assertion_over(key, event_hash: str) -> str:
    """What a holder of `key` could sign for event `event_hash`, kept as an event's signature."""
    from webauthn.helpers import bytes_to_base64url

    from swp.identity import passkey_signature

    got = key.get({"challenge": bytes_to_base64url(bytes.fromhex(event_hash))})
    body = got["response"]
    return passkey_signature(got["id"], body["authenticatorData"], body["clientDataJSON"], body["signature"])


def _last_vote(db: str) -> dict:
    return [e for e in audit_rows(db) if e["command"] == "vote"][-1]


def test_a_vote_on_the_page_is_signed_by_the_passkey_and_verifies_with_no_key_on_the_server(site, ann, monkeypatch):
    from swp import identity

    def no_key(*args, **kwargs):
        raise AssertionError("the page signed with a key file")

    # the server holds no member key: a sandbox would make them, a real practice read files
    with monkeypatch.context() as server:
        server.setattr(identity, "sandbox_signer", no_key)
        server.setattr(identity, "load_signer", no_key)
        assert vote(site.client, OPEN, "no", ann).status_code == 303
        assert _details_form(site.client, ann, address="1 Mill Lane", email="ann@example.org").status_code == 303
        made = _propose(site.client, ann, title="Keep a fifth", kind="ordinary",
                        clause="sharing.reserve-percent", value="20")
        assert made.status_code == 303
    events = audit_rows(site.swp.db)[-3:]
    assert [e["command"] for e in events] == ["vote", "member update", "proposal new"]
    for event in events:
        assert event["actor"] == "ann" and event["key_fingerprint"] == "passkey"
        assertion = _assertion_of(event)
        assert assertion["credential_id"] == ann.id
        _asked_for(event)
    verified = _verify(site)
    assert verified["ok"] is True and verified["first_bad"] is None
    # swp check proves the rows these events wrote (the vote, the address, the proposal)
    problems = site.swp("check", json=True).json["problems"]
    assert [p for p in problems if p["check"] in ("signed-rows", "audit", "keys")] == []


def test_a_tampered_passkey_assertion_is_named_by_audit_verify(site, ann):
    from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

    from swp.identity import passkey_signature

    vote(site.client, OPEN, "no", ann)
    vote(site.client, OPEN, "yes", ann)  # a later event: the first bad one is still named
    event = [e for e in audit_rows(site.swp.db) if e["command"] == "vote"][-2]
    assertion = _assertion_of(event)
    signature = bytearray(base64url_to_bytes(assertion["signature"]))
    signature[-1] ^= 1
    _forge(site.swp.db, event["seq"], passkey_signature(
        assertion["credential_id"], assertion["authenticator_data"], assertion["client_data_json"],
        bytes_to_base64url(bytes(signature)), intent=assertion["intent"]))
    found = _verify(site)
    assert (found["ok"], found["first_bad"]) == (False, event["seq"])
    run = site.swp("audit", "verify", "--full")
    assert run.code == 4 and f"event {event['seq']}" in run.err and "passkey assertion does not stand" in run.err


def _vote_args(choice: str, pid: int = OPEN) -> str:
    """A vote's arguments, as its event records them."""
    from swp.services.audit import canonical

    return canonical({"proposal_id": pid, "choice": choice, "weight": 1, "for_handle": None})


def _append_signed(db: str, actor: str, command: str, args: str, named: list, signature: str) -> int:
    """Append, with plain SQL, an event as swp would write it (linked and hashed), signed with
    `signature`: what an insider with the database file could write. Its seq."""
    from swp.services.audit import canonical, event_hash
    from tests.conftest import execute

    last = audit_rows(db)[-1]
    event = {"seq": last["seq"] + 1, "at": last["at"], "actor": actor, "os_user": "eve:0",
             "command": command, "args": args, "outcome": "ok", "detail": None,
             "prev_hash": last["hash"], "action": named[0][0] if named else None,
             "payload": canonical(named) if named else None, "key_fingerprint": "passkey",
             "real_at": last["real_at"], "db_role": None}
    event["hash"] = event_hash(event)
    event["signature"] = signature
    columns = ", ".join(event)
    execute(db, f"INSERT INTO audit_event ({columns}) VALUES ({', '.join(':' + k for k in event)})", params=event)
    return event["seq"]


def _request_signed(key, member: str, command: str, args: str, seen: tuple[int, str],
                    nonce: str = "5e" * 16) -> str:
    """A genuine assertion by `key` over a request, kept as an event's signature: what the
    holder of the passkey, or of its assertion, has."""
    from webauthn.helpers import bytes_to_base64url

    from swp.identity import intent_digest, passkey_intent, passkey_signature

    intent = passkey_intent(member, command, args, seen, nonce)
    got = key.get({"challenge": bytes_to_base64url(bytes.fromhex(intent_digest(intent)))})
    body = got["response"]
    return passkey_signature(got["id"], body["authenticatorData"], body["clientDataJSON"], body["signature"],
                             intent=intent)


def _broken_at(site, seq: int, env: dict | None = None) -> str:
    """`swp audit verify` names event `seq` first: the reason it gives. `env`: run elsewhere
    (a computer that did not see the history before it was rewritten)."""
    found = _verify(site, env)
    assert (found["ok"], found["first_bad"]) == (False, seq), found
    run = site.swp("audit", "verify", "--full", env=env)
    assert run.code == 4 and run.err.startswith(f"swp: audit chain broken at event {seq}: "), run.err
    return run.err[len(f"swp: audit chain broken at event {seq}: "):].rstrip("\n")


def test_an_event_recording_other_arguments_than_the_request_its_passkey_signed_is_named(site, ann):
    db = site.swp.db
    vote(site.client, OPEN, "no", ann)
    head = audit_rows(db)[-1]
    # ann's passkey asked for "no"; the event written says "yes"
    forged = _append_signed(db, "ann", "vote", _vote_args("yes"), [["vote.cast", {"proposal": OPEN}]],
                            _request_signed(ann, "ann", "vote", _vote_args("no"), (head["seq"], head["hash"])))
    assert _broken_at(site, forged) == ("it records another change than the one its passkey signed "
                                        f"(the request was 'vote' with {_vote_args('no')})")


def test_a_vote_whose_rows_differ_from_the_vote_its_passkey_signed_is_named(site, ann):
    db = site.swp.db
    vote(site.client, OPEN, "no", ann)
    real = _last_vote(db)
    named = json.loads(real["payload"])
    [row] = [r for r in named[0][1]["rows"] if r["table"] == "vote"]
    row["values"].update(choice="yes", version=row["values"]["version"] + 1, id=row["values"]["id"] + 1)
    # a request for "no", honestly recorded as "no" in the event's arguments, writing a "yes"
    forged = _append_signed(db, "ann", "vote", _vote_args("no"), named,
                            _request_signed(ann, "ann", "vote", _vote_args("no"), (real["seq"], real["hash"])))
    assert _broken_at(site, forged) == f"it records a vote (yes on proposal {OPEN}) other than the one its passkey signed"


def _rows_rewritten(db: str, event: dict, table: str, **values) -> None:
    """Change, with plain SQL, the `table` row event `event` records (keeping its genuine
    request and assertion), and relink and rehash the log from there: an insider recording a
    member's request with other rows."""
    from swp.services.audit import canonical

    named = json.loads(event["payload"])
    [row] = [r for name, p in named if name == "rows.written" for r in p["rows"] if r["table"] == table]
    row["values"].update(values)
    later = [e for e in audit_rows(db) if e["seq"] > event["seq"]]
    _rewrite_from(db, event["seq"], [{**event, "payload": canonical(named)}, *later])


def test_an_address_change_whose_row_differs_from_the_one_its_passkey_signed_is_named(site, ann, tmp_path):
    db = site.swp.db
    assert _details_form(site.client, ann, address=" 1 Mill Lane ", email="ann@example.org").status_code == 303
    real = audit_rows(db)[-1]
    assert real["command"] == "member update" and _verify(site)["ok"] is True
    # ann's genuine request for 1 Mill Lane, recorded as writing another address
    _rows_rewritten(db, real, "member", address="9 Elm Road")
    assert _broken_at(site, real["seq"], elsewhere(tmp_path / "1")) == (
        "it records ann's address as '9 Elm Road', other than the one its passkey signed")
    _rows_rewritten(db, real, "member", email="eve@example.org")
    assert _broken_at(site, real["seq"], elsewhere(tmp_path / "2")) == (
        "it records ann's email as 'eve@example.org', other than the one its passkey signed")
    [(bea,)] = query(db, "SELECT id FROM member WHERE handle = 'bea'")
    _rows_rewritten(db, real, "member", handle="bea", id=bea)
    assert _broken_at(site, real["seq"], elsewhere(tmp_path / "3")) == (
        "it records a change to bea's details, not to ann's as its passkey signed")
    _rows_rewritten(db, real, "member")
    assert _verify(site, elsewhere(tmp_path / "4"))["ok"] is True  # as written: it stands again


def test_an_address_cleared_on_the_page_but_recorded_as_another_is_named(site, ann, tmp_path):
    """A request that clears the address and email signs no new value: the row it records must
    hold each cleared, or, as an older swp wrote it, kept as it was; anything else is named."""
    db = site.swp.db
    assert _details_form(site.client, ann, address="1 Mill Lane", email="ann@example.org").status_code == 303
    assert _details_form(site.client, ann, address="  ", email="").status_code == 303
    real = audit_rows(db)[-1]
    assert query(db, "SELECT address, email FROM member WHERE handle = 'ann'") == [(None, None)]
    assert _verify(site)["ok"] is True
    _rows_rewritten(db, real, "member", address="9 Elm Road")
    assert _broken_at(site, real["seq"], elsewhere(tmp_path / "1")) == (
        "it records ann's address as '9 Elm Road', where the request its passkey signed had it cleared")
    _rows_rewritten(db, real, "member", email="eve@example.org")
    assert _broken_at(site, real["seq"], elsewhere(tmp_path / "2")) == (
        "it records ann's email as 'eve@example.org', where the request its passkey signed had it cleared")
    # kept as they were, as an older swp wrote a cleared value: stands
    _rows_rewritten(db, real, "member", address="1 Mill Lane", email="ann@example.org")
    assert _verify(site, elsewhere(tmp_path / "3"))["ok"] is True
    _rows_rewritten(db, real, "member", address=None, email=None)
    assert _verify(site, elsewhere(tmp_path / "4"))["ok"] is True  # as written: it stands again


def test_a_proposal_whose_row_differs_from_the_one_its_passkey_signed_is_named(site, ann, tmp_path):
    db = site.swp.db
    made = _propose(site.client, ann, title=" Keep a fifth ", kind="Ordinary",
                    clause="sharing.reserve-percent", value=" 20 ")
    assert made.status_code == 303
    real = audit_rows(db)[-1]
    assert real["command"] == "proposal new" and _verify(site)["ok"] is True
    # ann's genuine request for a 20% reserve, recorded as proposing another value, or clause
    for changed, reason in ((dict(value="50"), "value '50'"),
                            (dict(clause="sharing.method"), "clause 'sharing.method'"),
                            (dict(title="Keep half"), "title 'Keep half'"),
                            (dict(kind="special"), "kind 'special'"),
                            (dict(proposed_by="bea"), "proposed_by 'bea'")):
        _rows_rewritten(db, real, "proposal", **changed)
        assert _broken_at(site, real["seq"], elsewhere(tmp_path / next(iter(changed)))) == (
            f"it records a proposal ({reason}) other than the one its passkey signed")
    _rows_rewritten(db, real, "proposal")
    assert _verify(site, elsewhere(tmp_path / "6"))["ok"] is True  # as written: it stands again


def test_a_request_recorded_twice_is_named(site, ann):
    db = site.swp.db
    vote(site.client, OPEN, "no", ann)
    first = _last_vote(db)
    # the same assertion and request, copied into a new event: a replay
    forged = _append_signed(db, "ann", "vote", first["args"], json.loads(first["payload"]), first["signature"])
    assert _broken_at(site, forged) == ("its passkey signed a request already recorded by event "
                                        f"{first['seq']} (an assertion used twice)")


def _held_request(db: str, assertion: dict) -> str:
    """A signature made of an assertion the page was given but never recorded (a second tab's),
    with the request the page held for it (in web_challenge)."""
    from webauthn.helpers import base64url_to_bytes

    from swp.identity import passkey_signature

    body = assertion["response"]
    challenge = json.loads(base64url_to_bytes(body["clientDataJSON"]))["challenge"]
    [(payload,)] = query(db, "SELECT payload FROM web_challenge WHERE challenge = :c", {"c": challenge})
    return passkey_signature(assertion["id"], body["authenticatorData"], body["clientDataJSON"], body["signature"],
                             intent=json.loads(payload)["intent"])


def test_a_members_older_request_is_refused_after_their_newer_one_and_named_if_written(site, ann):
    db = site.swp.db
    stale_token, stale = vote_assertion(site.client, OPEN, "no", ann)  # one tab
    asked_at = audit_rows(db)[-1]
    assert vote(site.client, OPEN, "yes", ann).status_code == 303  # another tab, confirmed first
    newer = _last_vote(db)
    before = snapshot(db, skip=())
    late = site.client.post(f"/proposals/{OPEN}/vote", data={"csrf": stale_token, "choice": "no",
                                                          "assertion": json.dumps(stale)})
    assert late.status_code == 409
    assert ("you signed another change after asking for this one, so it was not made: nothing was "
            "changed; confirm it again") in late.text
    assert snapshot(db, skip=()) == before  # not even the challenge was used up
    assert _verify(site)["ok"] is True
    # written anyway, with plain SQL, after ann's newer vote: it would revert her vote
    forged = _append_signed(db, "ann", "vote", _vote_args("no"), [["vote.cast", {"proposal": OPEN}]],
                            _held_request(db, stale))
    assert _broken_at(site, forged) == (f"its passkey signed a request ann made before their own event "
                                        f"{newer['seq']} (having seen event {asked_at['seq']}): it cannot "
                                        "be recorded after it")


def _rewrite_from(db: str, seq: int, events: list[dict]) -> None:
    """Replace the log from `seq` on by `events` (their signatures kept), linked and hashed
    again: an insider rewriting history with plain SQL."""
    from swp.services.audit import event_hash
    from tests.conftest import execute

    previous = audit_rows(db)[seq - 2]["hash"]
    statements = ["DROP TRIGGER IF EXISTS audit_event_append_only_delete ON audit_event",
                  f"DELETE FROM audit_event WHERE seq >= {seq}"]
    params = {}
    for n, old in enumerate(events):
        event = {k: v for k, v in old.items() if k not in ("id", "hash")}
        event.update(seq=seq + n, prev_hash=previous)
        event["hash"] = previous = event_hash(event)
        columns = list(event)
        statements.append(f"INSERT INTO audit_event ({', '.join(columns)}) VALUES "
                          f"({', '.join(f':e{n}_{c}' for c in columns)})")
        params.update({f"e{n}_{c}": v for c, v in event.items()})
    execute(db, *statements, params=params)


def elsewhere(tmp_path) -> dict:
    """Another computer's configuration folder: no head remembered there."""
    return {"SWP_HOME": str(tmp_path / "elsewhere")}


def test_a_members_vote_moved_after_their_newer_one_is_named(site, ann, tmp_path):
    db = site.swp.db
    vote(site.client, OPEN, "no", ann)
    older = _last_vote(db)
    vote(site.client, OPEN, "yes", ann)
    newer = _last_vote(db)
    assert newer["seq"] == older["seq"] + 1 and _intent_of(newer)["seen"] == [older["seq"], older["hash"]]
    # the two swapped, relinked and rehashed: ann's "no" would count, recorded last
    _rewrite_from(db, older["seq"], [newer, older])
    here = site.swp("audit", "verify", "--full")  # the server remembers the head it wrote
    assert here.code == 4 and "the history was rolled back or rewritten" in here.err
    assert _broken_at(site, older["seq"], elsewhere(tmp_path)) == (
        "its passkey signed a request made when the history ended at an event this history does not "
        f"hold before it (event {older['seq']}, {older['hash'][:16]}...)")


def test_a_request_naming_a_history_this_one_does_not_hold_is_named(site, ann):
    db = site.swp.db
    vote(site.client, OPEN, "no", ann)
    head = audit_rows(db)[-1]
    elsewhere = (head["seq"], "0" * 64)  # a head of another history (a copy, or a forged one)
    forged = _append_signed(db, "ann", "vote", _vote_args("yes"), [["vote.cast", {"proposal": OPEN}]],
                            _request_signed(ann, "ann", "vote", _vote_args("yes"), elsewhere))
    assert _broken_at(site, forged) == ("its passkey signed a request made when the history ended at an "
                                        f"event this history does not hold before it (event {head['seq']}, "
                                        "0000000000000000...)")


def test_another_members_assertion_is_named(site, ann, tmp_path):
    db = site.swp.db
    bea = passkey()
    bea_client = site.new_client()
    enrol(bea_client, site.invite("bea"), bea)
    assert vote(bea_client, OPEN, "no", bea).status_code == 303
    beas = _last_vote(db)
    # bea's genuine assertion and request, in an event that says ann voted
    forged = _append_signed(db, "ann", "vote", beas["args"], [["vote.cast", {"proposal": OPEN}]],
                            beas["signature"])
    assert _broken_at(site, forged) == "it is signed by a passkey that is not ann's (it was enrolled for bea)"
    _rewrite_from(db, forged, [])
    assert _verify(site, elsewhere(tmp_path))["ok"] is True
    # ann's own passkey, over a request that names bea
    head = audit_rows(db)[-1]
    forged = _append_signed(db, "ann", "vote", _vote_args("yes"), [["vote.cast", {"proposal": OPEN}]],
                            _request_signed(ann, "bea", "vote", _vote_args("yes"), (head["seq"], head["hash"])))
    assert _broken_at(site, forged, elsewhere(tmp_path)) == "its passkey signed a request by bea, not by ann"


def test_an_older_passkey_signature_over_the_events_own_hash_still_verifies(site, ann):
    """Before the page signed requests, a passkey signed the event's own hash (no request in
    the signature): such events still verify, and only on their own event."""
    db = site.swp.db
    vote(site.client, OPEN, "no", ann)
    first = _last_vote(db)
    vote(site.client, OPEN, "yes", ann)
    second = _last_vote(db)
    older = _assertion_over(ann, first["hash"])
    assert "intent" not in _assertion_of({"signature": older})
    _forge(db, first["seq"], older)
    assert _verify(site)["ok"] is True
    _forge(db, second["seq"], older)  # on another event, its challenge is not that event's hash
    reason = _broken_at(site, second["seq"])
    assert reason.startswith("its passkey assertion does not stand") and "challenge" in reason.lower()


def test_an_assertion_by_a_passkey_not_enrolled_for_the_member_then_is_named(site, ann):
    bea = passkey()
    enrol(site.new_client(), site.invite("bea"), bea)
    vote(site.client, OPEN, "no", ann)
    event = _last_vote(site.swp.db)
    # bea's own passkey, over ann's event: a genuine assertion, by another member's passkey
    _forge(site.swp.db, event["seq"], _assertion_over(bea, event["hash"]))
    found = site.swp("audit", "verify", "--full", json=True)
    assert (found.json["ok"], found.json["first_bad"]) == (False, event["seq"])
    assert "not ann's" in found.err
    # a passkey enrolled for ann only later (a second device) did not sign what came before it
    later = passkey()
    enrol(site.new_client(), site.invite("ann"), later)
    _forge(site.swp.db, event["seq"], _assertion_over(later, event["hash"]))
    found = site.swp("audit", "verify", "--full", json=True)
    assert (found.json["ok"], found.json["first_bad"]) == (False, event["seq"])
    assert "not enrolled for ann then" in found.err
    # and ann's own passkey's assertion over the event stands again
    _forge(site.swp.db, event["seq"], _assertion_over(ann, event["hash"]))
    assert _verify(site)["ok"] is True


def test_a_change_is_recorded_though_the_history_moved_since_its_options(site, ann):
    token, assertion = vote_assertion(site.client, OPEN, "no", ann)
    site.swp.ok("vote", str(OPEN), "no", as_="bea")  # recorded meanwhile, at the command line
    bea = audit_rows(site.swp.db)[-1]
    late = site.client.post(f"/proposals/{OPEN}/vote", data={"csrf": token, "choice": "no",
                                                          "assertion": json.dumps(assertion)},
                            follow_redirects=False)
    assert late.status_code == 303
    event = _last_vote(site.swp.db)
    assert (event["actor"], event["seq"], event["prev_hash"]) == ("ann", bea["seq"] + 1, bea["hash"])
    assert _intent_of(event)["seen"][0] < bea["seq"]  # she asked before bea's vote
    assert _verify(site)["ok"] is True


def test_a_confirmation_for_other_arguments_than_the_request_is_refused_with_nothing_written(site, ann):
    """The unit of work makes only the change the passkey's request names (who, the command,
    its arguments), before the assertion is even looked at."""
    from swp.errors import ChangedMeanwhile
    from swp.identity import passkey_intent
    from swp.services import governance
    from swp.services.uow import NOT_ASKED, Confirmation, perform

    db = site.swp.db
    head = audit_rows(db)[-1]
    before = snapshot(db, skip=())

    def never(session):
        raise AssertionError("the assertion was checked for a change it did not ask for")

    for member, args in (("ann", _vote_args("yes")), ("bea", _vote_args("no"))):
        intent = passkey_intent(member, "vote", args, (head["seq"], head["hash"]), "00" * 16)
        with pytest.raises(ChangedMeanwhile) as refused:
            perform(db, lambda s: governance.vote(s, actor="ann", proposal_id=OPEN, choice="no"), write=True,
                    command="vote", args=json.loads(_vote_args("no")), actor="ann", interactive=False,
                    confirm=Confirmation(intent, never))
        assert refused.value.message == NOT_ASKED
    assert snapshot(db, skip=()) == before


def test_members_confirming_at_once_are_all_recorded(site, ann):
    """Several members ask, then all confirm: each is recorded where the history is then."""
    db = site.swp.db
    others = {}
    for handle in ("bea", "cal"):
        key, client = passkey(), site.new_client()
        enrol(client, site.invite(handle), key)
        others[handle] = (client, key)
    members = {"ann": (site.client, ann), **others}
    choices = {"ann": "no", "bea": "yes", "cal": "abstain"}
    asked = {h: vote_assertion(c, OPEN, choices[h], k) for h, (c, k) in members.items()}
    head = audit_rows(db)[-1]
    for handle, (token, assertion) in asked.items():
        done = members[handle][0].post(f"/proposals/{OPEN}/vote", data={
            "csrf": token, "choice": choices[handle], "assertion": json.dumps(assertion)}, follow_redirects=False)
        assert done.status_code == 303, done.text
    votes = audit_rows(db)[-3:]
    assert [(e["actor"], json.loads(e["args"])["choice"]) for e in votes] == list(choices.items())
    assert all(_intent_of(e)["seen"] == [head["seq"], head["hash"]] for e in votes)  # all asked at once
    latest = dict(query(db, "SELECT m.handle, v.choice FROM vote v JOIN member m ON m.id = v.member_id "
                            "WHERE v.proposal_id = :pid ORDER BY v.version", {"pid": OPEN}))
    assert {h: latest[h] for h in choices} == choices
    assert _verify(site)["ok"] is True
    problems = site.swp("check", json=True).json["problems"]
    assert [p for p in problems if p["check"] in ("signed-rows", "audit", "keys")] == []


def test_asking_the_passkey_to_confirm_writes_nothing_of_the_practice(site, ann):
    before = snapshot(site.swp.db, skip=("web_challenge",))
    vote_assertion(site.client, OPEN, "abstain", ann)
    token = csrf_of(site.client.get("/details"))
    assert site.client.post("/details/options", json={"address": "x", "email": ""},
                            headers={"X-CSRF-Token": token}).status_code == 200
    assert snapshot(site.swp.db, skip=("web_challenge",)) == before


def _append_forged(db: str, actor: str, named: list, key) -> int:
    """Append, with plain SQL, an event as swp would write it, signed by the passkey `key`
    (a holder of the database and of some passkey, but of no other member's)."""
    from swp.services.audit import canonical, event_hash
    from tests.conftest import execute

    last = audit_rows(db)[-1]
    event = {"seq": last["seq"] + 1, "at": last["at"], "actor": actor, "os_user": "eve:0",
             "command": "passkey enrol", "args": canonical({"member": actor}), "outcome": "ok",
             "detail": None, "prev_hash": last["hash"], "action": named[0][0],
             "payload": canonical(named), "key_fingerprint": "passkey", "real_at": last["real_at"],
             "db_role": None}
    event["hash"] = event_hash(event)
    event["signature"] = _assertion_over(key, event["hash"])
    columns = ", ".join(event)
    execute(db, f"INSERT INTO audit_event ({columns}) VALUES ({', '.join(':' + k for k in event)})", params=event)
    return event["seq"]


@pytest.mark.parametrize("invitation", ["used", "another member's", "none"])
def test_a_passkey_that_enrols_itself_without_the_members_own_unused_invitation_is_named(site, ann, invitation):
    db = site.swp.db
    site.invite("bea")  # a valid invitation, for bea
    invites = {e["seq"]: json.loads(e["payload"])[0][1]["member"] for e in audit_rows(db)
               if e["action"] == "member.invited"}
    used = max(s for s, m in invites.items() if m == "ann")  # ann enrolled on it
    seq = {"used": used, "another member's": max(invites), "none": None}[invitation]
    eve = passkey()
    from webauthn.helpers import bytes_to_base64url

    enrolment = {"member": "ann", "credential_id": eve.id, "public_key": bytes_to_base64url(eve._cose()),
                 "fingerprint": "x", "rp_id": "localhost", "origin": ORIGIN, "invitation": seq}
    forged = _append_forged(db, "ann", [["passkey.enrolled", enrolment]], eve)
    found = site.swp("audit", "verify", "--full", json=True)
    assert (found.json["ok"], found.json["first_bad"]) == (False, forged)
    assert {"used": "an invitation already used"}.get(invitation, "without ann's latest invitation") in found.err


def test_in_a_real_practice_the_page_signs_with_the_passkey_and_the_server_holds_no_key(swp, db, tmp_path, monkeypatch):
    """Not a sandbox: every member's key file is in their own folder, none in the server's."""
    from starlette.testclient import TestClient

    from swp.web.app import Config, create_app

    monkeypatch.delenv("SWP_TODAY", raising=False)
    homes = {h: {"SWP_HOME": str(tmp_path / f"home-{h}")} for h in ("ann", "bea", "mo")}
    swp.ok("init", "Real SWP", "--local-authority", "Leeds")
    for handle, registration in (("ann", "SW200001"), ("bea", "SW200002"), ("mo", None)):
        assert swp("key", "new", "--no-passphrase", as_=handle, env=homes[handle]).code == 0
        role = ("--role", "practitioner", "--registration", registration) if registration else ("--role", "manager")
        run = swp("member", "add", handle, "--name", handle.title(), *role, "--employed-since",
                  "2024-04-01", "--hours", "37.5", env=homes[handle])
        assert run.code == 0, run.err
    made = swp("proposal", "new", "--title", "More reserve", "--kind", "ordinary",
               "--amend", "sharing.reserve-percent=25", as_="ann", env=homes["ann"])
    assert made.code == 0, made.err
    pid = swp.ok("proposal", "list", json=True).json["proposals"][-1]["id"]
    url = swp("member", "invite", "ann", "--url", ORIGIN, as_="ann", env=homes["ann"], json=True).json["invitation"]["url"]
    monkeypatch.setenv("SWP_HOME", str(tmp_path / "server"))  # the server's own folder: no key in it
    with TestClient(create_app(Config(db=db, origin=ORIGIN, secure=False)), base_url=ORIGIN) as client:
        key = passkey()
        enrol(client, url[len(ORIGIN):], key)
        assert vote(client, pid, "no", key).status_code == 303
    assert not (tmp_path / "server" / "keys").exists()
    event = audit_rows(db)[-1]
    assert (event["command"], event["actor"], event["key_fingerprint"]) == ("vote", "ann", "passkey")
    verified = swp("audit", "verify", "--full", env=homes["mo"], json=True)
    assert verified.code == 0 and verified.json["ok"] is True, verified.err


# --- who invites: a manager only a member with no key and no passkey yet -------------------


def test_a_manager_invites_no_member_who_has_a_key_only_the_member_invites_themselves(site):
    db = site.swp.db
    before = snapshot(db, skip=())
    run = site.swp("member", "invite", "ann", "--url", ORIGIN, as_="mo")
    assert run.code == 1
    assert run.err == ("swp: ann already has a key: only ann may invite themselves "
                       "(swp --as ann member invite ann)\n")
    after = snapshot(db, skip=())
    assert {t: rows for t, rows in after.items() if t != "audit_event"} == \
        {t: rows for t, rows in before.items() if t != "audit_event"}
    assert not any(e["action"] == "member.invited" for e in audit_rows(db))
    # ann's own invitation, signed by her key, enrols her passkey
    key = passkey()
    enrol(site.client, site.invite("ann", as_="ann"), key)
    invited = [e for e in audit_rows(db) if e["action"] == "member.invited"]
    assert [(e["actor"], e["key_fingerprint"] is not None) for e in invited] == [("ann", True)]
    assert _verify(site)["ok"] is True


def _manager_invites_anyway(db: str, handle: str) -> int:
    """mo, with his own key, makes an invitation for `handle` with a swp changed to skip the
    rule (an insider); the seq of its event."""
    from datetime import timedelta

    from sqlalchemy import select

    from swp.clock import now
    from swp.models import Member, WebInvite
    from swp.services import audit
    from swp.services.uow import perform

    def make(session):
        member = session.execute(select(Member).where(Member.handle == handle)).scalar_one()
        expires = now() + timedelta(hours=72)
        session.add(WebInvite(member_id=member.id, token_hash="f" * 64, created_at=now(),
                              expires_at=expires, created_by="mo"))
        session.flush()
        audit.act(session, "member.invited", {"member": handle, "expires_at": expires})

    perform(db, make, write=True, command="member invite", args={}, actor="mo")
    return audit_rows(db)[-1]["seq"]


def test_a_passkey_enrolled_on_a_managers_invitation_for_a_member_with_a_key_is_named(site):
    from webauthn.helpers import bytes_to_base64url

    db = site.swp.db
    seq = _manager_invites_anyway(db, "ann")
    assert _verify(site)["ok"] is True  # the invitation alone enrols nothing
    mine = passkey()  # mo's own authenticator, enrolled in ann's name on it
    enrolment = {"member": "ann", "credential_id": mine.id, "public_key": bytes_to_base64url(mine._cose()),
                 "fingerprint": "x", "rp_id": "localhost", "origin": ORIGIN, "invitation": seq}
    forged = _append_forged(db, "ann", [["passkey.enrolled", enrolment]], mine)
    found = _verify(site)
    assert (found["ok"], found["first_bad"]) == (False, forged)
    run = site.swp("audit", "verify", "--full")
    assert run.err == (f"swp: audit chain broken at event {forged}: it enrols a passkey for ann on "
                       "an invitation a manager made while ann had a key or passkey (only ann's "
                       "own invitation enrols another)\n")


def test_a_re_enrolment_revokes_the_members_passkeys(site, ann):
    from swp.identity import new_signer

    db = site.swp.db
    public = new_signer("ann").public_hex
    pid = site.swp.ok("proposal", "new", "--title", "Ann's new key", "--kind", "special",
                      "--re-enrol", "ann", "--public-key", public, as_="bea", json=True).json["id"]
    for handle in ("ann", "bea", "cal", "mo", "sam"):
        site.swp.ok("vote", str(pid), "yes", as_=handle)
    current = len(query(db, "SELECT id FROM member WHERE left_on IS NULL OR left_on >= :d", {"d": TODAY}))
    assert current == 5, current
    closed = site.swp.ok("proposal", "close", str(pid), as_="bea", json=True).json
    assert closed["status"] == "passed"
    assert query(db, "SELECT count(*) FROM passkey_credential p JOIN member m ON m.id = p.member_id "
                     "WHERE m.handle = 'ann'") == [(0,)]
    # the page asks no passkey of ann's any more: the old one cannot vote
    token = csrf_of(site.client.get(f"/proposals/{OPEN}"))
    before = snapshot(db, skip=("web_challenge",))
    options = site.client.post(f"/proposals/{OPEN}/vote/options", json={"choice": "no"},
                               headers={"X-CSRF-Token": token})
    assert options.status_code == 200 and options.json()["allowCredentials"] == []
    refused = site.client.post(f"/proposals/{OPEN}/vote", data={
        "csrf": token, "choice": "no", "assertion": json.dumps(ann.get(options.json()))},
        follow_redirects=False)
    assert refused.status_code == 403
    assert "passkey was not accepted (not one of this member&#39;s passkeys)" in refused.text
    assert snapshot(db, skip=("web_challenge",)) == before
    assert _verify(site)["ok"] is True
    # an event signed with it, written into the database, is named
    forged = _append_forged(db, "ann", [["vote.cast", {"proposal": OPEN, "choice": "no"}]], ann)
    found = _verify(site)
    assert (found["ok"], found["first_bad"]) == (False, forged)
    run = site.swp("audit", "verify", "--full")
    reenrolled = max(e["seq"] for e in audit_rows(db) if e["action"] == "key.reenrolled"
                     or '"key.reenrolled"' in (e["payload"] or ""))
    assert run.err == (f"swp: audit chain broken at event {forged}: it is signed by ann's passkey, "
                       f"revoked when their key was re-enrolled (event {reenrolled})\n")
