"""The members' page: Starlette routes, Jinja2 templates (autoescaped), passkeys, sessions.

Every page reads through the services the CLI uses, in one read transaction; every change goes
through the same unit of work (`swp.services.uow.perform`) and so gets the same audit record as
the CLI, a guard's refusal included. Nothing here decides a rule.
"""

from __future__ import annotations

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

from swp.errors import NotFound, PermissionDenied, RuleViolation, SwpError
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

    def perform(fn: Callable[[Session], T], *, command: str, args: dict[str, Any], actor: str | None) -> T:
        from swp.services.uow import perform as uow_perform

        with writers:
            # signed with the member's own key, only if this server process holds it (a sandbox
            # makes its members' keys; else the key file in the server's configuration folder,
            # unencrypted or unlocked by SWP_PASSPHRASE): it never asks for a passphrase, and
            # without the key the change is refused, nothing changed (docs/identity.md)
            return uow_perform(config.db, fn, write=True, command=command, args=args, actor=actor,
                               interactive=False)

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
        from swp.services import web
        from swp.web import passkeys

        if not await csrf_ok(request, None):
            return JSONResponse({"error": "the page expired; reload it"}, status_code=403)
        try:
            data = await json_body(request)
        except Refused as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        token = request.path_params["token"]
        try:
            found = await run_in_threadpool(read, lambda s: web.open_invite(s, token)[1].handle)
        except NotFound as exc:
            return JSONResponse({"error": exc.message}, status_code=404)

        def body(session: Session) -> tuple[str, str]:
            invite_row, member = web.open_invite(session, token)
            assert invite_row.id is not None  # a stored invitation
            passkeys.enrol(session, rp_for(), member, data.get("credential") or {},
                           invite_id=invite_row.id)
            web.use_invite(session, invite_row)
            return web.start_session(session, member)
        try:
            token_out, _csrf = await run_in_threadpool(
                lambda: perform(body, command="passkey enrol", args={"member": found}, actor=found))
        except NotFound as exc:
            return JSONResponse({"error": exc.message}, status_code=404)
        except SwpError as exc:
            return JSONResponse({"error": exc.message}, status_code=403)
        response = JSONResponse({"redirect": "/"})
        _set_cookie(response, SESSION_COOKIE, token_out, config.secure, max_age=web.SESSION_HOURS * 3600)
        return response

    # --- voting ------------------------------------------------------------------------------

    async def vote_options(request: Request) -> Response:
        from swp.web import passkeys

        viewer = await run_in_threadpool(read, lambda s: who(s, request))
        if viewer is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        if not await csrf_ok(request, viewer):
            return JSONResponse({"error": "the page expired; reload it"}, status_code=403)
        try:
            data = await json_body(request)
            pid = _int_id(request.path_params["pid"])
        except Refused as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        except NotFound:
            return JSONResponse({"error": NOT_FOUND}, status_code=404)
        choice = str(data.get("choice", "")).strip().lower()
        if choice not in ("yes", "no", "abstain"):
            return JSONResponse({"error": "choose yes, no or abstain"}, status_code=400)

        def body(session: Session) -> str:
            from swp.models import Member

            assert viewer is not None  # checked above
            member = session.get(Member, viewer.member_id)
            assert member is not None  # the signed-in member
            return passkeys.change_options(session, rp_for(), member, "vote.cast",
                                           _vote_payload(viewer.handle, pid, choice))
        options = await run_in_threadpool(write_quiet, body)
        return Response(options, media_type="application/json")

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

    async def vote(request: Request) -> Response:
        from swp.services import governance
        from swp.web import passkeys

        form, viewer, stop = await signed_in_form(request)
        if stop is not None:
            return stop
        try:
            pid = _int_id(request.path_params["pid"])
        except NotFound:
            return message(request, 404, NOT_FOUND, viewer)
        choice = str(form.get("choice", "")).strip().lower()
        assertion = str(form.get("assertion", ""))
        if not assertion:
            return message(request, 400, "Voting needs your passkey: this page needs JavaScript "
                                         "for that, and a browser that supports passkeys.", viewer)

        def body(session: Session) -> tuple[VoteCast, str]:
            from swp.models import Member

            assert viewer is not None  # signed_in_form stops when nobody is signed in
            member = session.get(Member, viewer.member_id)
            assert member is not None  # the signed-in member
            record = passkeys.authorise_change(session, rp_for(), member, "vote.cast",
                                               _vote_payload(viewer.handle, pid, choice), assertion)
            cast = governance.vote(session, actor=viewer.handle, proposal_id=pid, choice=choice)
            return cast, record.challenge

        assert viewer is not None  # signed_in_form stops when nobody is signed in
        args = {"proposal_id": pid, "choice": choice, "weight": 1, "for_handle": None}
        try:
            cast, challenge = await run_in_threadpool(
                lambda: perform(body, command="vote", args=args, actor=viewer.handle))
        except RuleViolation as exc:
            return message(request, 403, exc.message, viewer)
        except NotFound:
            return message(request, 404, NOT_FOUND, viewer)
        except SwpError as exc:
            return message(request, 403 if isinstance(exc, PermissionDenied) else 409, exc.message, viewer)
        del challenge
        done = "changed" if cast.replaced else "cast"
        return RedirectResponse(f"/proposals/{pid}?done={done}", status_code=303)

    # --- the member's own details, and proposals made on the page ------------------------------

    def details(session: Session, request: Request, viewer: Viewer) -> tuple[str, dict[str, Any]]:
        from swp.services import registers

        held = registers.own_contact(session, actor=viewer.handle, handle=viewer.handle)
        return "details.html", {"held": held, "notice": request.query_params.get("done")}

    def new_proposal_page(session: Session, request: Request, viewer: Viewer) -> tuple[str, dict[str, Any]]:
        from swp.services import governance

        return "propose.html", {"clauses": governance.clauses(session)}

    async def change(request: Request, fn: Callable[[Session, Viewer, dict[str, str]], T], *, command: str,
                     args_of: Callable[[dict[str, str], Viewer], dict[str, Any]], done: Callable[[T], str]) -> Response:
        """A change made from a form: signed in, CSRF checked, then the same service, unit of
        work and audit record as the CLI command `command` (args_of(form, viewer): its
        arguments as the CLI records them). A refusal is a plain message; a guard's refusal
        is recorded in the audit log as on the CLI."""
        form, viewer, stop = await signed_in_form(request)
        if stop is not None:
            return stop
        assert viewer is not None  # signed_in_form stops when nobody is signed in
        fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        try:
            result = await run_in_threadpool(lambda: perform(
                lambda s: fn(s, viewer, fields), command=command, args=args_of(fields, viewer),
                actor=viewer.handle))
        except NotFound as exc:
            return message(request, 404, exc.message, viewer)
        except SwpError as exc:
            status = 403 if isinstance(exc, (RuleViolation, PermissionDenied)) else (
                400 if exc.exit_code == 1 else 409)
            return message(request, status, exc.message, viewer)
        return RedirectResponse(done(result), status_code=303)

    def _contact_args(fields: dict[str, str], viewer: Viewer) -> dict[str, Any]:
        # `swp --as HANDLE member update HANDLE --address TEXT --email EMAIL`, as the CLI records it
        return {"handle": viewer.handle, "effective": None, "hours": None, "pay": None, "role": None,
                "address": fields.get("address", ""), "email": fields.get("email", ""),
                "email_purposes": None, "payroll_id": None, "ni_number": None}

    async def update_details(request: Request) -> Response:
        from swp.services import registers

        def fn(session: Session, viewer: Viewer, fields: dict[str, str]) -> Contact:
            return registers.set_contact(session, actor=viewer.handle, handle=viewer.handle,
                                         address=fields.get("address", ""),
                                         email=fields.get("email", ""))
        return await change(request, fn, command="member update", args_of=_contact_args,
                            done=lambda _held: "/details?done=1")

    def _proposal_args(fields: dict[str, str], viewer: Viewer) -> dict[str, Any]:
        # `swp --as HANDLE proposal new --title T --kind K --amend CLAUSE=VALUE`, as the CLI records it
        return {"title": fields.get("title", ""), "kind": fields.get("kind", ""),
                "amend": f"{fields.get('clause', '').strip()}={fields.get('value', '')}",
                "expel": None, "merge_with": None, "partner_kind": None, "dissolve": False,
                "assets_to": None, "recipient_kind": None, "written": False, "register": None,
                "make_practitioner": None, "registration": None, "partner_split": None,
                "write_off": None, "amount": None, "re_enrol": None, "public_key": None,
                "admit": None, "role": None,
                "end_employment": None}

    async def make_proposal(request: Request) -> Response:
        from swp.services import governance

        def fn(session: Session, viewer: Viewer, fields: dict[str, str]) -> ProposalView:
            return governance.propose(session, actor=viewer.handle, title=fields.get("title", ""),
                                      kind=fields.get("kind", ""), action="amend",
                                      clause=fields.get("clause", "").strip(),
                                      value=fields.get("value", ""))
        return await change(request, fn, command="proposal new", args_of=_proposal_args,
                            done=lambda view: f"/proposals/{view.id}?done=proposed")

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
        Route("/proposals/new", make_proposal, methods=["POST"]),
        Route("/proposals/{pid}", signed_in(proposal)),
        Route("/proposals/{pid}/vote/options", vote_options, methods=["POST"]),
        Route("/proposals/{pid}/vote", vote, methods=["POST"]),
        Route("/rules", signed_in(rules_page)),
        Route("/register", signed_in(register)),
        Route("/details", signed_in(details)),
        Route("/details", update_details, methods=["POST"]),
        Route("/books", signed_in(books)),
        Route("/signin", signin_page),
        Route("/signin/options", signin_options, methods=["POST"]),
        Route("/signin/verify", signin_verify, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/enrol/{token}", enrol_page),
        Route("/enrol/{token}/options", enrol_options, methods=["POST"]),
        Route("/enrol/{token}/verify", enrol_verify, methods=["POST"]),
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


def _vote_payload(handle: str, pid: int, choice: str) -> dict[str, Any]:
    return {"member": handle, "proposal": pid, "choice": choice}


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
