"""The members' page in a real browser: Debian's headless Chromium driven by Playwright, with
Chromium's virtual authenticator standing in for a phone or a laptop's fingerprint reader.

invite -> enrol a passkey (which signs its own enrolment) -> sign out -> sign in -> read a statement -> vote -> change the
vote (keyboard alone) -> see the tally -> the other pages -> record her address -> make a
proposal, and one the constitution refuses -> sign out; every change is signed by the passkey
(its assertion over the change's audit event) and `swp audit verify` checks them; a screenshot of each
page is kept (the folder is printed), axe-core finds no serious or critical accessibility
problem on any page, and the browser reports no Content-Security-Policy violation.

Needs /usr/bin/chromium, the playwright package, and axe-core from npm in ./node_modules
(`.ci/run` installs them). Skipped when one is missing, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import LIVED_OPEN_PROPOSAL as OPEN

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("SWP_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("SWP_BROWSER_ARTIFACTS", ROOT / "browser-artifacts"))


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not AXE.exists():
        return f"axe-core is not installed at {AXE} (npm install axe-core)"
    return None


@pytest.fixture
def browser_ready():
    missing = _missing()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run under CI: {missing}")
        pytest.skip(missing)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(browser_ready, lived):
    import uvicorn

    from swp.web.app import Config, create_app

    port = _free_port()
    origin = f"http://localhost:{port}"
    app = create_app(Config(db=lived.db, origin=origin, secure=False))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield lived, origin
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Pages:
    """Screenshots and accessibility checks, page by page."""

    def __init__(self, page, folder: Path):
        self.page, self.folder, self.count = page, folder, 0
        self.axe = AXE.read_text(encoding="utf-8")
        self.csp_errors: list[str] = []
        page.on("console", lambda msg: self.csp_errors.append(msg.text)
                if "Content Security Policy" in msg.text else None)

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{name}.png"), full_page=True)
        if page.evaluate("typeof axe") == "undefined":
            page.evaluate(self.axe)  # evaluated over the debugging protocol: the page's CSP stays on
        result = page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})")
        bad = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert bad == [], f"{name}: {bad}"
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"{name} is {wide}px wider than the window"


def test_a_member_enrols_signs_in_reads_votes_changes_and_signs_out(served, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    lived, origin = served
    folder = ARTIFACTS / "members-page"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"\nscreenshots: {folder}")
    link = lived.ok("member", "invite", "ann", "--url", origin, as_="ann", json=True).json["invitation"]["url"]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(locale="en-GB", timezone_id="Europe/London",
                                          viewport={"width": 390, "height": 844})  # a phone
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("WebAuthn.enable")
            cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
                "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                "hasUserVerification": True, "isUserVerified": True}})
            pages = Pages(page, folder)

            page.goto(link)
            expect(page.get_by_role("heading", name="Enrol a passkey")).to_be_visible()
            pages.check("enrol")
            page.get_by_role("button", name="Enrol a passkey on this device").click()
            page.wait_for_url(origin + "/")
            expect(page.get_by_role("heading", name="Welcome, Ann Achebe")).to_be_visible()
            pages.check("home")

            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(origin + "/signin?out=1")
            pages.check("signed-out")
            page.goto(link)  # the link worked once
            expect(page.get_by_role("heading", name="Not found")).to_be_visible()
            page.goto(origin + "/signin")
            page.get_by_label("Your handle").fill("ann")
            page.get_by_role("button", name="Sign in with a passkey").click()
            page.wait_for_url(origin + "/")

            page.get_by_role("link", name="2026-q1").click()
            expect(page.get_by_role("heading", name="Profit-share statement")).to_be_visible()
            expect(page.get_by_text("Ann Achebe").first).to_be_visible()
            pages.check("statement")

            page.get_by_role("link", name="Proposals").click()
            pages.check("proposals")
            page.get_by_role("link", name="Shorter weeks").click()
            page.get_by_label("No").check()
            page.get_by_role("button", name="Vote (confirm with your passkey)").click()
            page.wait_for_url(origin + f"/proposals/{OPEN}?done=cast")
            expect(page.locator("#tally-no")).to_have_text("1")
            expect(page.locator("#my-vote")).to_have_text("no")
            pages.check("voted")

            # change the vote with the keyboard alone
            page.focus("#choice-yes")
            page.keyboard.press("Space")
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            page.wait_for_url(origin + f"/proposals/{OPEN}?done=changed")
            expect(page.locator("#tally-yes")).to_have_text("2")
            expect(page.locator("#tally-no")).to_have_text("0")
            expect(page.locator("#my-vote")).to_have_text("yes")
            pages.check("vote-changed")

            for name in ("Books", "Register", "Rules"):
                page.get_by_role("link", name=name, exact=True).click()
                expect(page.get_by_role("heading", level=1)).to_be_visible()
                pages.check(name.lower())

            # her own address and email
            page.get_by_role("link", name="Your details", exact=True).click()
            pages.check("details")
            page.get_by_label("Postal address").fill("1 Mill Lane, Leeds LS1 1AA")
            page.get_by_label("Email").fill("ann@example.org")
            page.get_by_role("button", name="Save my details").click()
            page.wait_for_url(origin + "/details?done=1")
            expect(page.get_by_text("Your details were recorded.")).to_be_visible()
            expect(page.get_by_label("Postal address")).to_have_value("1 Mill Lane, Leeds LS1 1AA")
            pages.check("details-saved")

            # a proposal, then one the constitution refuses
            page.get_by_role("link", name="Proposals", exact=True).click()
            page.get_by_role("link", name="Propose a change to the rules").click()
            pages.check("propose")
            page.get_by_label("Title").fill("Keep a fifth")
            page.get_by_label("Clause").select_option("sharing.reserve-percent")
            page.get_by_label("New value").fill("20")
            page.get_by_role("button", name="Make the proposal").click()
            page.wait_for_url("**/proposals/*?done=proposed")
            expect(page.get_by_text("Your proposal was made.")).to_be_visible()
            pages.check("proposed")
            page.goto(origin + "/proposals/new")
            page.get_by_label("Title").fill("Sell up")
            page.get_by_label("Clause").select_option("asset-lock")
            page.get_by_label("New value").fill("off")
            page.get_by_label("Special").check()
            page.get_by_role("button", name="Make the proposal").click()
            # refused when first tried, before the passkey is asked: one plain sentence
            expect(page.locator("#status")).to_contain_text("refused by clause")
            pages.check("proposal-refused")

            page.set_viewport_size({"width": 1280, "height": 900})  # a laptop
            page.goto(origin + "/")
            pages.check("home-wide")
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(origin + "/signin?out=1")
            page.goto(origin + f"/proposals/{OPEN}")
            page.wait_for_url(origin + "/signin")
            assert pages.csp_errors == []
        finally:
            browser.close()

    held = lived.ok("member", "show", "ann", as_="ann", json=True).json
    assert "1 Mill Lane, Leeds LS1 1AA" in str(held) and "ann@example.org" in str(held)
    titles = [p["title"] for p in lived.ok("proposal", "list", json=True).json["proposals"]]
    assert "Keep a fifth" in titles and "Sell up" not in titles
    votes = lived.ok("proposal", "show", str(OPEN), json=True).json["votes"]
    assert {v["member"]: v["choice"] for v in votes}["ann"] == "yes"
    # every change ann made on the page is signed by her passkey, and verifies
    from tests.conftest import audit_rows

    events = audit_rows(lived.db)
    invited = [e["seq"] for e in events if e["action"] == "member.invited"][-1]
    hers = [e for e in events if e["seq"] > invited and e["actor"] == "ann" and e["outcome"] == "ok"]
    assert [e["command"] for e in hers] == ["passkey enrol", "vote", "vote", "member update", "proposal new"]
    assert all(e["key_fingerprint"] == "passkey" and e["signature"].startswith("webauthn:") for e in hers)
    verified = lived.ok("audit", "verify", "--full", json=True).json
    assert verified["ok"] is True
    assert len(list(folder.glob("*.png"))) == pages.count >= 10
