"""The members' page: Starlette routes, Jinja2 templates (autoescaped), passkeys, sessions.

Every page reads through the services the CLI uses, in one read transaction; every change goes
through the same unit of work (`swp.services.uow.perform`) and so gets the same audit record as
the CLI, a guard's refusal included. Nothing here decides a rule.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from swp.errors import ChangedMeanwhile, DatabaseError, NotFound, PermissionDenied, RuleViolation, SwpError
from swp.web import passkeys
from swp.web.passkeys import RelyingParty

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from starlette.datastructures import FormData
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from swp.models import Member
    from swp.reports.statement import Statement
    from swp.services.governance import ProposalView, VoteCast
    from swp.services.ledger import Balance
    from swp.services.registers import Contact
    from swp.services.sharing.statements import ClosedBooks
    from swp.services.uow import Confirmation
    from swp.services.web import Viewer

    # what a signed-in page returns: its template and context, or a whole response
    Page = tuple[str, dict[str, Any]] | Response

T = TypeVar("T")

HERE = Path(__file__).parent
SESSION_COOKIE = "swp_session"
CSRF_COOKIE = "swp_csrf"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SIGNIN_WINDOW = 300.0  # seconds


@dataclass(frozen=True)
class Config:
    db: str
    origin: str  # the exact address members use, e.g. https://members.example.org
    secure: bool  # cookies marked Secure (the page is served over TLS)
    signin_per_address: int = 30  # sign-in attempts in SIGNIN_WINDOW from one address (an office)
    signin_per_member: int = 10  # ... and for one member handle


class RateLimiter:
    """At most `limit` attempts per key in any `window` seconds (kept in this process)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.hits: dict[Any, deque[float]] = defaultdict(deque)

    def allow(self, key: Any) -> bool:
        moment = time.monotonic()
        hits = self.hits[key]
        while hits and hits[0] <= moment - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(moment)
        return True


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


NOT_FOUND = "Not found."
ENROLMENT = "passkey.enrolled"  # the challenge a new passkey signs its own enrolment with
ENROL_COMMAND = "passkey enrol"  # ... and the command its event records


@dataclass(frozen=True)
class PageChange:
    """A change a member makes on the page, confirmed with their passkey: the CLI command it
    is (`command`, and `args`: its arguments as the CLI records them), the challenge's
    purpose, what the member asked for (`fields`, from the request: raises Refused or
    NotFound), the service call (`fn`) and where to go when it is done."""

    command: str
    purpose: str
    fields: Callable[[Request, Any], dict[str, str]]
    args: Callable[[dict[str, str], Viewer], dict[str, Any]]
    fn: Callable[[Session, Viewer, dict[str, str]], Any]
    done: Callable[[Any, dict[str, str]], str]


def _vote_fields(request: Request, data: Any) -> dict[str, str]:
    pid = _int_id(request.path_params["pid"])
    choice = str(data.get("choice", "")).strip().lower()
    if choice not in ("yes", "no", "abstain"):
        raise Refused(400, "choose yes, no or abstain")
    return {"proposal": str(pid), "choice": choice}


def _vote(session: Session, viewer: Viewer, fields: dict[str, str]) -> VoteCast:
    from swp.services import governance

    return governance.vote(session, actor=viewer.handle, proposal_id=int(fields["proposal"]),
                           choice=fields["choice"])


VOTE = PageChange(
    "vote", "vote.cast", _vote_fields,
    # `swp --as HANDLE vote PID CHOICE`, as the CLI records it
    lambda f, v: {"proposal_id": int(f["proposal"]), "choice": f["choice"], "weight": 1, "for_handle": None},
    _vote, lambda cast, f: f"/proposals/{f['proposal']}?done={'changed' if cast.replaced else 'cast'}")


def _details_fields(request: Request, data: Any) -> dict[str, str]:
    return {"address": str(data.get("address", "")), "email": str(data.get("email", ""))}


def _contact(session: Session, viewer: Viewer, fields: dict[str, str]) -> Contact:
    from swp.services import registers

    return registers.set_contact(session, actor=viewer.handle, handle=viewer.handle,
                                 address=fields["address"], email=fields["email"])


DETAILS = PageChange(
    "member update", "member.contact-recorded", _details_fields,
    # `swp --as HANDLE member update HANDLE --address TEXT --email EMAIL`, as the CLI records it
    lambda f, v: {"handle": v.handle, "effective": None, "hours": None, "pay": None, "role": None,
                  "address": f["address"], "email": f["email"], "email_purposes": None,
                  "payroll_id": None, "ni_number": None},
    _contact, lambda _held, f: "/details?done=1")


def _proposal_fields(request: Request, data: Any) -> dict[str, str]:
    return {"title": str(data.get("title", "")), "kind": str(data.get("kind", "")),
            "clause": str(data.get("clause", "")).strip(), "value": str(data.get("value", ""))}


def _propose(session: Session, viewer: Viewer, fields: dict[str, str]) -> ProposalView:
    from swp.services import governance

    return governance.propose(session, actor=viewer.handle, title=fields["title"], kind=fields["kind"],
                              action="amend", clause=fields["clause"], value=fields["value"])


PROPOSAL = PageChange(
    "proposal new", "proposal.made", _proposal_fields,
    # `swp --as HANDLE proposal new --title T --kind K --amend CLAUSE=VALUE`, as the CLI records it
    lambda f, v: {"title": f["title"], "kind": f["kind"], "amend": f"{f['clause']}={f['value']}",
                  "expel": None, "merge_with": None, "partner_kind": None, "dissolve": False,
                  "assets_to": None, "recipient_kind": None, "written": False, "register": None,
                  "make_practitioner": None, "registration": None, "partner_split": None,
                  "write_off": None, "amount": None, "re_enrol": None, "public_key": None,
                  "admit": None, "role": None, "end_employment": None},
    _propose, lambda view, f: f"/proposals/{view.id}?done=proposed")


def _status_of(exc: SwpError) -> int:
    """A refusal's HTTP status: 403 the guard's or a permission's; 409 the practice moved on
    (or its state refuses it); 400 the member's input."""
    if isinstance(exc, (RuleViolation, PermissionDenied)):
        return 403
    from swp.errors import PreconditionError

    return 409 if isinstance(exc, PreconditionError) or exc.exit_code != 1 else 400


def _ids(member: Member) -> tuple[int, str]:
    assert member.id is not None  # a stored member
    return member.id, member.handle


def create_app(config: Config) -> Starlette:
    from jinja2 import Environment, FileSystemLoader

    from swp.db import open_database

    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True)
    templates = Jinja2Templates(env=env)
    templates.env.globals["money"] = _money
    database = open_database(config.db, pooled=True)  # kept open while the page runs
    by_address = RateLimiter(config.signin_per_address, SIGNIN_WINDOW)
    by_member = RateLimiter(config.signin_per_member, SIGNIN_WINDOW)
    from swp.services.sharing.statements import ClosedBooks

    closed_books = ClosedBooks()  # closed periods' totals, kept between views

    def rp_for(practice_name: str | None = None) -> RelyingParty:
        return RelyingParty.for_origin(config.origin, practice_name or "swp members' page")

    # --- plumbing ----------------------------------------------------------------------------

    def read(fn: Callable[[Session], T]) -> T:
        return database.run(fn, write=False)

    # This process's writers take turns here, in arrival order, rather than in the database's
    # busy loop: fifty members voting at once then wait for each other, not time out.
    writers = threading.Lock()

    def write_quiet(fn: Callable[[Session], T]) -> T:
        """A write to the page's own records (sessions, challenges): not a practice change."""
        with writers:
            return database.run(fn, write=True)

    def perform(fn: Callable[[Session], T], *, command: str, args: dict[str, Any], actor: str,
                confirm: Confirmation) -> T:
        """A change confirmed with the member's passkey: signed by it, never by a key of the
        server's (docs/identity.md)."""
        from swp.services.uow import perform as uow_perform

        with writers:
            return uow_perform(config.db, fn, write=True, command=command, args=args, actor=actor,
                               interactive=False, confirm=confirm)

    def preview(fn: Callable[[Session], Any], *, command: str, args: dict[str, Any], actor: str) -> tuple[int, str]:
        """The change made and rolled back, to refuse it before the member's passkey is asked:
        the last event of the history it was made on (what the member saw)."""
        from swp.services.uow import preview as uow_preview

        with writers:
            return uow_preview(config.db, fn, command=command, args=args, actor=actor)

    def who(session: Session, request: Request) -> Viewer | None:
        from swp.services import web

        return web.viewer(session, request.cookies.get(SESSION_COOKIE))

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200,
             viewer: Viewer | None = None, csrf: str | None = None) -> Response:
        token = csrf or (viewer.csrf if viewer else request.cookies.get(CSRF_COOKIE)) or secrets.token_urlsafe(32)
        response = templates.TemplateResponse(request, name, {**context, "viewer": viewer, "csrf": token},
                                              status_code=status)
        if viewer is None and request.cookies.get(CSRF_COOKIE) != token:
            _set_cookie(response, CSRF_COOKIE, token, config.secure)
        return response

    def message(request: Request, status: int, text: str, viewer: Viewer | None = None) -> Response:
        return page(request, "message.html", {"title": _status_title(status), "message": text},
                    status=status, viewer=viewer)

    async def csrf_ok(request: Request, viewer: Viewer | None, form: FormData | None = None) -> bool:
        from swp.services.web import same_token

        given: object = request.headers.get("x-csrf-token")
        if given is None and form is not None:
            given = form.get("csrf")
        expected = viewer.csrf if viewer is not None else request.cookies.get(CSRF_COOKIE)
        return same_token(given, expected)

    def signed_in(fn: Callable[[Session, Request, Viewer], Page]) -> Callable[[Request], Awaitable[Response]]:
        """A page for signed-in members: anyone else is sent to the sign-in page."""
        async def endpoint(request: Request) -> Response:
            def body(session: Session) -> tuple[Viewer | None, Page | None]:
                viewer = who(session, request)
                if viewer is None:
                    return None, None
                return viewer, fn(session, request, viewer)
            try:
                viewer, result = await run_in_threadpool(read, body)
            except Refused as exc:
                viewer = await run_in_threadpool(read, lambda s: who(s, request))
                return message(request, exc.status, exc.message, viewer)
            except NotFound:
                viewer = await run_in_threadpool(read, lambda s: who(s, request))
                return message(request, 404, NOT_FOUND, viewer)
            if viewer is None:
                return RedirectResponse("/signin", status_code=303)
            if isinstance(result, Response):
                return result
            assert result is not None  # a page was read for the signed-in viewer
            name, context = result
            return page(request, name, context, viewer=viewer)
        return endpoint

    # --- pages -------------------------------------------------------------------------------

    def home(session: Session, request: Request, viewer: Viewer) -> tuple[str, dict[str, Any]]:
        from swp.services import governance

        return "home.html", {"statements": _my_periods(session, viewer),
                             "proposals": [_proposal_row(p) for p in
                                           governance.list_proposals(session, status="open")],
                             "meetings": _meetings(session)}

    def statement(session: Session, request: Request, viewer: Viewer) -> tuple[str, dict[str, Any]]:
        from swp.reports import html as html_writer

        st = _my_statement(session, request, viewer, closed_books)
        return "statement.html", {"st": st, "section": html_writer.section(st)}

    def statement_pdf(session: Session, request: Request, viewer: Viewer) -> Response:
        from swp.reports import pdf

        st = _my_statement(session, request, viewer, closed_books)
        data = pdf.render(st)
        return Response(data, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{st.member}-{st.period}.pdf"'})

    def proposals(session: Session, request: Request, viewer: Viewer) -> tuple[str, dict[str, Any]]:
        from swp.services import governance

        views = governance.list_proposals(session)
        return "proposals.html", {"proposals": [_proposal_row(p) for p in views]}

    def proposal(session: Session, request: Request, viewer: Viewer) -> tuple[str, dict[str, Any]]:
        from swp.services import governance

        view = governance.show(session, _int_id(request.path_params["pid"]))
        mine = next((v for v in view.votes if v.member == viewer.handle), None)
        return "proposal.html", {"p": _proposal_row(view), "view": view, "mine": mine,
                                 "notice": request.query_params.get("done")}

    def rules_page(session: Session, request: Request, viewer: Viewer) -> tuple[str, dict[str, Any]]:
        from swp.services import governance

        return "rules.html", {"clauses": governance.clauses(session)}

    def register(session: Session, request: Request, viewer: Viewer) -> tuple[str, dict[str, Any]]:
        from swp.services import members

        rows = []
        for m in members.list_members(session):
            address = getattr(m, "address", None)
            may_see = viewer.is_manager or m.handle == viewer.handle
            rows.append({"handle": m.handle, "name": m.name, "role": m.role,
                         "since": m.employed_since, "address": address if may_see else None,
                         "has_addresses": hasattr(m, "address")})
        return "register.html", {"rows": rows, "addresses": any(r["has_addresses"] for r in rows)}

    def books(session: Session, request: Request, viewer: Viewer) -> tuple[str, dict[str, Any]]:
        return "books.html", {"books": _books(session, closed_books)}

    # --- enrolment and sign-in ---------------------------------------------------------------

    async def signin_page(request: Request) -> Response:
        viewer = await run_in_threadpool(read, lambda s: who(s, request))
        if viewer is not None:
            return RedirectResponse("/", status_code=303)
        return page(request, "signin.html", {"title": "Sign in"})

    def _limited(request: Request, handle: str) -> bool:
        address = request.client.host if request.client else "?"
        address_ok = by_address.allow(address)
        member_ok = by_member.allow(handle)
        return not (address_ok and member_ok)

    async def json_body(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise Refused(400, "the request is not JSON") from None
        if not isinstance(data, dict):
            raise Refused(400, "the request is not a JSON object")
        return data

    async def signin_request(request: Request) -> tuple[dict[str, Any], str]:
        """A sign-in step's request: its CSRF token checked, its JSON body, the member's handle
        and the rate limit (per address and per member); a Refused says why not."""
        if not await csrf_ok(request, None):
            raise Refused(403, "the page expired; reload it")
        data = await json_body(request)
        handle = str(data.get("handle", "")).strip().lower()[:64]
        if _limited(request, handle):
            raise Refused(429, "too many sign-in attempts; wait a few minutes")
        return data, handle

    async def signin_options(request: Request) -> Response:
        from swp.web import passkeys

        try:
            data, handle = await signin_request(request)
        except Refused as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)

        def body(session: Session) -> str:
            from swp.services.practice import get_practice

            member = _current_member(session, handle)
            return passkeys.signin_options(session, rp_for(get_practice(session).name), member)
        options = await run_in_threadpool(write_quiet, body)
        return Response(options, media_type="application/json")

    async def signin_verify(request: Request) -> Response:
        from swp.services import web
        from swp.web import passkeys

        try:
            data, handle = await signin_request(request)
        except Refused as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)

        def body(session: Session) -> tuple[str, str]:
            member = _current_member(session, handle)
            passkeys.signin(session, rp_for(), member, data.get("credential") or {})
            assert member is not None  # passkeys.signin refuses an unknown member
            web.purge_expired(session)
            return web.start_session(session, member)
        try:
            token, _csrf = await run_in_threadpool(write_quiet, body)
        except SwpError:
            return JSONResponse({"error": "sign-in failed: that passkey is not enrolled for this "
                                          "member, or it was refused"}, status_code=403)
        response = JSONResponse({"redirect": "/"})
        _set_cookie(response, SESSION_COOKIE, token, config.secure, max_age=web.SESSION_HOURS * 3600)
        return response

    async def signout(request: Request) -> Response:
        from swp.services import web

        form = await request.form()
        viewer = await run_in_threadpool(read, lambda s: who(s, request))
        if not await csrf_ok(request, viewer, form):
            return message(request, 403, "The page expired: reload it and try again.", viewer)
        token = request.cookies.get(SESSION_COOKIE)
        await run_in_threadpool(write_quiet, lambda s: web.end_session(s, token))
        response = RedirectResponse("/signin?out=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=config.secure, httponly=True, samesite="strict")
        return response

    async def enrol_page(request: Request) -> Response:
        from swp.services import web

        token = request.path_params["token"]
        try:
            _invite, member = await run_in_threadpool(read, lambda s: web.open_invite(s, token))
        except NotFound as exc:
            return message(request, 404, exc.message)
        return page(request, "enrol.html", {"title": "Enrol a passkey", "name": member.name,
                                            "handle": member.handle})

    async def enrol_options(request: Request) -> Response:
        from swp.services import web
        from swp.web import passkeys

        if not await csrf_ok(request, None):
            return JSONResponse({"error": "the page expired; reload it"}, status_code=403)
        token = request.path_params["token"]

        def body(session: Session) -> str:
            from swp.services.practice import get_practice

            invite_row, member = web.open_invite(session, token)
            assert invite_row.id is not None  # a stored invitation
            return passkeys.enrol_options(session, rp_for(get_practice(session).name), member,
                                          invite_id=invite_row.id)
        try:
            options = await run_in_threadpool(write_quiet, body)
        except NotFound as exc:
            return JSONResponse({"error": exc.message}, status_code=404)
        return Response(options, media_type="application/json")

    async def enrol_verify(request: Request) -> Response:
        """The member's device made a passkey: check it, then ask it to sign its own
        enrolment (the event that records it, previewed)."""
        from swp.services import web
        from swp.web import passkeys

        if not await csrf_ok(request, None):
            return JSONResponse({"error": "the page expired; reload it"}, status_code=403)
        try:
            data = await json_body(request)
        except Refused as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        token = request.path_params["token"]

        def register(session: Session) -> tuple[passkeys.Registered, str]:
            invite_row, member = web.open_invite(session, token)
            assert invite_row.id is not None  # a stored invitation
            return passkeys.verify_registration(session, rp_for(), member, data.get("credential") or {},
                                                invite_id=invite_row.id), member.handle

        try:
            registered, handle = await run_in_threadpool(write_quiet, register)
            seen = await run_in_threadpool(lambda: preview(
                _enrolment(token, registered), command=ENROL_COMMAND, args={"member": handle}, actor=handle))

            def hold(session: Session) -> str:
                _invite, member = web.open_invite(session, token)
                return passkeys.ask(session, rp_for(), member, ENROLMENT,
                                    {"token": web.token_hash(token), "registration": registered.as_json()},
                                    command=ENROL_COMMAND, args={"member": handle}, seen=seen,
                                    credential_ids=[registered.credential_id])
            options = await run_in_threadpool(write_quiet, hold)
        except NotFound as exc:
            return JSONResponse({"error": exc.message}, status_code=404)
        except DatabaseError:
            raise
        except SwpError as exc:
            return JSONResponse({"error": exc.message}, status_code=403)
        return JSONResponse({"sign": json.loads(options)})

    def _enrolment(token: str, registered: passkeys.Registered) -> Callable[[Session], None]:
        def fn(session: Session) -> None:
            from swp.services import web
            from swp.web import passkeys

            invite_row, member = web.open_invite(session, token)
            passkeys.enrol_change(session, rp_for(), member, registered)
            web.use_invite(session, invite_row)
        return fn

    async def enrol_confirm(request: Request) -> Response:
        """The new passkey signed its enrolment: record it, and sign the member in."""
        from swp.services import web
        from swp.services.uow import Confirmation
        from swp.web import passkeys

        if not await csrf_ok(request, None):
            return JSONResponse({"error": "the page expired; reload it"}, status_code=403)
        try:
            data = await json_body(request)
        except Refused as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        token = request.path_params["token"]
        assertion = data.get("credential") or {}
        try:
            member_id, handle = await run_in_threadpool(read, lambda s: _ids(web.open_invite(s, token)[1]))
            asked, intent = await run_in_threadpool(
                read, lambda s: passkeys.asked(s, member_id, ENROLMENT, assertion))
            if asked.get("token") != web.token_hash(token):
                raise passkeys.refused("the challenge was made for another enrolment")
            registered = passkeys.Registered.from_json(asked["registration"])
            confirm = Confirmation(intent, passkeys.seal(rp_for(), member_id, ENROLMENT, intent, assertion))
            await run_in_threadpool(lambda: perform(_enrolment(token, registered), command=ENROL_COMMAND,
                                                    args={"member": handle}, actor=handle, confirm=confirm))

            def start(session: Session) -> tuple[str, str]:
                from swp.models import Member

                member = session.get(Member, member_id)
                assert member is not None  # enrolled just now
                return web.start_session(session, member)
            token_out, _csrf = await run_in_threadpool(write_quiet, start)
        except NotFound as exc:
            return JSONResponse({"error": exc.message}, status_code=404)
        except DatabaseError:
            raise
        except SwpError as exc:
            return JSONResponse({"error": exc.message}, status_code=409 if isinstance(exc, ChangedMeanwhile) else 403)
        response = JSONResponse({"redirect": "/"})
        _set_cookie(response, SESSION_COOKIE, token_out, config.secure, max_age=web.SESSION_HOURS * 3600)
        return response

    # --- changes: a vote, the member's own details, a proposal -----------------------------------
    # Each is asked for twice. First `.../options` (JSON, from the page's script): the change is
    # made and rolled back (a refusal shows then, before any prompt), and the member's passkey
    # is asked to sign their request: who they are, the command and its arguments, the last
    # event they saw, a nonce (swp.identity.passkey_intent). Then the form itself, with the
    # assertion: the change is made where the history is now, and recorded only if it is that
    # command with those arguments, its event signed by the assertion and the request (kept in
    # the event, where `swp audit verify` checks them). A refusal is a plain message, recorded
    # in the audit log as on the CLI.

    async def signed_in_form(request: Request) -> tuple[FormData, Viewer | None, Response | None]:
        """The posted form and the signed-in member, or the response that ends the request
        instead: the sign-in page when signed out, 403 when the form's CSRF token is wrong."""
        form = await request.form()
        viewer = await run_in_threadpool(read, lambda s: who(s, request))
        if viewer is None:
            return form, None, RedirectResponse("/signin", status_code=303)
        if not await csrf_ok(request, viewer, form):
            return form, viewer, message(request, 403, "The page expired: reload it and try again.", viewer)
        return form, viewer, None

    def options_for(change: PageChange) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            from swp.models import Member
            from swp.web import passkeys

            viewer = await run_in_threadpool(read, lambda s: who(s, request))
            if viewer is None:
                return JSONResponse({"error": "sign in first"}, status_code=401)
            if not await csrf_ok(request, viewer):
                return JSONResponse({"error": "the page expired; reload it"}, status_code=403)
            try:
                fields = change.fields(request, await json_body(request))
                args = change.args(fields, viewer)
                seen = await run_in_threadpool(lambda: preview(
                    lambda s: change.fn(s, viewer, fields), command=change.command,
                    args=args, actor=viewer.handle))
            except Refused as exc:
                return JSONResponse({"error": exc.message}, status_code=exc.status)
            except NotFound:
                return JSONResponse({"error": NOT_FOUND}, status_code=404)
            except DatabaseError:
                raise
            except SwpError as exc:
                return JSONResponse({"error": exc.message}, status_code=_status_of(exc))

            def hold(session: Session) -> str:
                member = session.get(Member, viewer.member_id)
                assert member is not None  # the signed-in member
                return passkeys.ask(session, rp_for(), member, change.purpose, fields,
                                    command=change.command, args=args, seen=seen)
            options = await run_in_threadpool(write_quiet, hold)
            return Response(options, media_type="application/json")
        return endpoint

    def confirm_for(change: PageChange) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            from swp.services.uow import Confirmation
            from swp.web import passkeys

            form, viewer, stop = await signed_in_form(request)
            if stop is not None:
                return stop
            assert viewer is not None  # signed_in_form stops when nobody is signed in
            try:
                fields = change.fields(request, form)
            except Refused as exc:
                return message(request, exc.status, exc.message, viewer)
            except NotFound:
                return message(request, 404, NOT_FOUND, viewer)
            assertion = str(form.get("assertion", ""))
            if not assertion:
                return message(request, 400, "Every change needs your passkey: this page needs "
                                             "JavaScript for that, and a browser that supports passkeys.", viewer)
            member_id = viewer.member_id
            try:
                asked, intent = await run_in_threadpool(
                    read, lambda s: passkeys.asked(s, member_id, change.purpose, assertion))
                if asked != fields:
                    raise passkeys.refused("the challenge was made for another change")
                confirm = Confirmation(intent, passkeys.seal(rp_for(), member_id, change.purpose, intent, assertion))
                result = await run_in_threadpool(lambda: perform(
                    lambda s: change.fn(s, viewer, fields), command=change.command,
                    args=change.args(fields, viewer), actor=viewer.handle, confirm=confirm))
            except NotFound:
                return message(request, 404, NOT_FOUND, viewer)
            except DatabaseError:
                raise
            except SwpError as exc:
                return message(request, _status_of(exc), exc.message, viewer)
            return RedirectResponse(change.done(result, fields), status_code=303)
        return endpoint

    def details(session: Session, request: Request, viewer: Viewer) -> tuple[str, dict[str, Any]]:
        from swp.services import registers

        held = registers.own_contact(session, actor=viewer.handle, handle=viewer.handle)
        return "details.html", {"held": held, "notice": request.query_params.get("done")}

    def new_proposal_page(session: Session, request: Request, viewer: Viewer) -> tuple[str, dict[str, Any]]:
        from swp.services import governance

        return "propose.html", {"clauses": governance.clauses(session)}

    async def not_found(request: Request, exc: Exception) -> Response:
        viewer = await run_in_threadpool(read, lambda s: who(s, request))
        return message(request, 404, NOT_FOUND, viewer)

    async def swp_error(request: Request, exc: Exception) -> Response:
        """An error no route expected (the database busy or unreachable): one plain sentence."""
        text = exc.message if isinstance(exc, SwpError) else "Something went wrong."
        if request.method == "POST" and request.headers.get("content-type", "").startswith("application/json"):
            return JSONResponse({"error": text}, status_code=503)
        return Response(f"{text}\n", status_code=503, media_type="text/plain")

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return Response("Method not allowed.", status_code=405, media_type="text/plain")

    routes = [
        Route("/", signed_in(home)),
        Route("/statements/{label}/{handle}", signed_in(statement)),
        Route("/statements/{label}/{handle}/pdf", signed_in(statement_pdf)),
        Route("/proposals", signed_in(proposals)),
        Route("/proposals/new", signed_in(new_proposal_page)),
        Route("/proposals/new/options", options_for(PROPOSAL), methods=["POST"]),
        Route("/proposals/new", confirm_for(PROPOSAL), methods=["POST"]),
        Route("/proposals/{pid}", signed_in(proposal)),
        Route("/proposals/{pid}/vote/options", options_for(VOTE), methods=["POST"]),
        Route("/proposals/{pid}/vote", confirm_for(VOTE), methods=["POST"]),
        Route("/rules", signed_in(rules_page)),
        Route("/register", signed_in(register)),
        Route("/details", signed_in(details)),
        Route("/details/options", options_for(DETAILS), methods=["POST"]),
        Route("/details", confirm_for(DETAILS), methods=["POST"]),
        Route("/books", signed_in(books)),
        Route("/signin", signin_page),
        Route("/signin/options", signin_options, methods=["POST"]),
        Route("/signin/verify", signin_verify, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/enrol/{token}", enrol_page),
        Route("/enrol/{token}/options", enrol_options, methods=["POST"]),
        Route("/enrol/{token}/verify", enrol_verify, methods=["POST"]),
        Route("/enrol/{token}/confirm", enrol_confirm, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        from swp.services import web

        try:
            await run_in_threadpool(write_quiet, web.purge_expired)
        except SwpError:
            pass  # housekeeping only: a busy or read-only database still serves its pages
        yield
        database.dispose()

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: method_not_allowed,
                                                       SwpError: swp_error},
                    lifespan=lifespan, middleware=[Middleware(SecurityHeaders, secure=config.secure)])

    return app


class SecurityHeaders:
    """Every response: the Content-Security-Policy (no inline script, nothing from another
    site), no framing, no sniffing, no referrer (enrolment links carry a token), no caching
    of pages; HSTS under TLS."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app, self.secure = app, secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                if not static:
                    headers["Cache-Control"] = "no-store"
                if self.secure:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- helpers --------------------------------------------------------------------------------


def _set_cookie(response: Response, name: str, value: str, secure: bool, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=secure, httponly=True,
                        samesite="strict")


def _status_title(status: int) -> str:
    return {400: "Not accepted", 403: "Refused", 404: "Not found", 409: "Not possible now",
            429: "Too many attempts"}.get(status, "Sorry")


def _money(pence: int) -> str:
    from swp.money import format_pence

    return format_pence(pence)


def _int_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise NotFound(NOT_FOUND)
    return int(text)


def _current_member(session: Session, handle: str) -> Member | None:
    from sqlalchemy import select
    from sqlmodel import col

    from swp.models import Member
    from swp.services.web import is_current

    member = session.execute(select(Member).where(col(Member.handle) == handle)).scalar_one_or_none()
    return member if member is not None and is_current(member) else None


def _my_periods(session: Session, viewer: Viewer) -> list[dict[str, Any]]:
    from sqlalchemy import select
    from sqlmodel import col

    from swp.models import Allocation, Period

    rows = session.execute(
        select(col(Period.label), col(Period.start), col(Period.end), col(Allocation.amount_pence), col(Allocation.payable_pence))
        .join(Allocation, col(Allocation.period_id) == col(Period.id))
        .where(col(Allocation.member_id) == viewer.member_id).order_by(col(Period.end).desc()).limit(12)).all()
    return [{"label": r[0], "start": r[1], "end": r[2], "amount": r[3], "payable": r[4]} for r in rows]


def _my_statement(session: Session, request: Request, viewer: Viewer, books: ClosedBooks) -> Statement:
    """The signed-in member's own statement; anything else (another member's, an unknown
    period, a malformed label) is the same 404."""
    from swp.services.sharing import statements

    label = request.path_params["label"]
    handle = request.path_params["handle"]
    if handle != viewer.handle:
        raise NotFound(NOT_FOUND)
    try:
        found: list[Statement] = statements.issue(session, actor=viewer.handle, label=label, member=viewer.handle,
                                 books=books)
    except (NotFound, PermissionDenied):
        raise NotFound(NOT_FOUND) from None
    except SwpError as exc:
        if exc.exit_code == 1:  # a malformed label
            raise NotFound(NOT_FOUND) from None
        raise Refused(409, exc.message) from None
    return found[0]


def _proposal_row(view: ProposalView) -> dict[str, Any]:
    may_close = getattr(view, "may_close_on", None)
    return {"id": view.id, "title": view.title, "kind": view.kind, "summary": view.summary,
            "status": view.status, "created": view.created_at.date(), "closed_on": view.closed_on,
            "yes": view.tally.yes, "no": view.tally.no, "abstain": view.tally.abstain,
            "voters": view.tally.voters, "members": view.members,
            "quorum_needed": view.quorum_needed, "quorum_met": view.quorum_met,
            "threshold": view.threshold_percent, "would_pass": view.would_pass,
            "may_close": may_close}


def _meetings(session: Session) -> list[dict[str, Any]]:
    """Meetings called, where this practice's swp keeps them (none in this version)."""
    return []


def _books(session: Session, closed_books: ClosedBooks) -> list[dict[str, Any]]:
    """Income and expenses by category for the open period (after the last close) and the
    last closed period, with bar widths for the chart."""
    from datetime import timedelta

    from swp.clock import today
    from swp.services import ledger
    from swp.services.sharing import closing

    periods, _reserve = closing.list_periods(session)
    out = []
    if periods:
        last = periods[-1]
        open_start = last.end + timedelta(days=1)
    else:
        last, open_start = None, None
    on = today()
    balance = ledger.balance(session, start=open_start, end=None)
    out.append(_book("Open period", f"from {open_start or 'the first entry'} to date ({on})", balance))
    if last is not None:
        period = closing.find_period(session, last.label)
        categories = closed_books(session, period)
        income = {c.category: c.pence for c in categories if c.kind == "income"}
        expenses = {c.category: c.pence for c in categories if c.kind == "expense"}
        closed = ledger.Balance(last.start, last.end, sum(income.values()), sum(expenses.values()),
                                income, expenses)
        out.append(_book(f"Last closed period: {last.label}", f"{last.start} to {last.end}", closed))
    return out


def _book(title: str, span: str, balance: Balance) -> dict[str, Any]:
    rows = [("income", c, p) for c, p in sorted(balance.income_by_category.items())]
    rows += [("expense", c, p) for c, p in sorted(balance.expenses_by_category.items())]
    biggest = max([abs(p) for _, _, p in rows] + [1])
    bars = [{"kind": k, "category": c, "pence": p, "width": max(1, round(190 * abs(p) / biggest)),
             "y": 8 + i * 26} for i, (k, c, p) in enumerate(rows)]
    return {"title": title, "span": span, "income": balance.income_pence,
            "expenses": balance.expenses_pence, "net": balance.net_pence, "bars": bars,
            "height": 16 + 26 * len(bars)}
