"""`swp meeting`: general meetings, their notices and minutes."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from swp.cli._common import acting, call, choose, day, emit, meeting_number, proposal_number, state
from swp.cli.governance import VoteChoice

if TYPE_CHECKING:
    from swp.reports.document import Document
    from swp.services.meetings import MeetingView

meeting_app = typer.Typer(help="General meetings: call, notice, open, vote, close, minutes.",
                          no_args_is_help=True)


class MeetingKind(StrEnum):
    agm = "agm"
    general = "general"


class DocFormat(StrEnum):
    text = "text"
    md = "md"
    html = "html"
    pdf = "pdf"


DOC_FORMATS = "text, md, html or pdf."


def write_document(ctx: typer.Context, doc: Document, fmt: str, output: str | None, force: bool,
                   payload: dict[str, Any], *, what: str) -> None:
    """Print a document (text formats) or write it to a file, 0600 and atomically."""
    import sys

    from swp import files
    from swp.errors import InputError
    from swp.reports import document

    data = document.render(doc, fmt)
    if output is None:
        if state(ctx).json:
            emit(ctx, {**payload, "document": doc.as_json()})
            return
        if fmt == "pdf":
            raise InputError("a PDF is written to a file: add --output PATH")
        assert isinstance(data, str)  # only a PDF is bytes
        sys.stdout.write(data)
        return
    target = files.check_path(output, force=force)
    files.write_many([(target, data if isinstance(data, bytes) else data.encode("utf-8"))], force=force)
    emit(ctx, {**payload, "file": str(target)}, lambda: f"Wrote {what} ({fmt}) to {target}.")


def _meeting_text(view: MeetingView) -> object:
    from rich.console import Group

    from swp import render

    items = [("kind", view.kind), ("date", view.date), ("place", view.place),
             ("online", view.online or "-"), ("status", view.status),
             ("called", f"{view.called_on} by {view.called_by or '-'}"),
             ("notice given", view.notice_given_on or "not yet")]
    if view.quorum_needed is not None:
        items.append(("quorum", f"{len(view.attendance)} present of {view.quorum_needed} needed "
                                f"({view.members} members)"))
    if view.audit_head:
        items.append(("audit head at close", f"event {view.audit_seq}, {view.audit_head}"))
    return Group(
        render.pairs(view.title, items),
        render.table("Agenda", ["item", "proposal", "title", "proposes", "status", "reason"],
                     [(i.position, f"#{i.proposal}", i.title, i.summary, i.decision or i.status,
                       i.reason or "") for i in view.agenda]),
        render.table("Attendance", ["member", "name", "attended"],
                     [(h, n, m) for h, n, m in view.attendance]))


@meeting_app.command("call")
def call_(
    ctx: typer.Context,
    kind: MeetingKind = typer.Option(..., "--kind", metavar="agm|general", parser=choose(MeetingKind),
                                     help="The kind of meeting."),
    date: str = typer.Option(..., "--date", metavar="DATE", help="The day of the meeting."),
    place: str = typer.Option(..., "--place", metavar="TEXT", help="Where it is held."),
    online: str | None = typer.Option(None, "--online", metavar="URL",
                                      help="Where members may join online."),
) -> None:
    """Call a general meeting (needs --as a current member). Its agenda is every open proposal
    that is not a written resolution. Refused (exit 1) if the date is in the past or leaves
    fewer clear days' notice than meetings.notice-days (the error names the earliest lawful
    date).

    Example: swp --as mo meeting call --kind agm --date 2026-07-20 --place "Riverside office" --online https://meet.example.org/agm
    """
    from swp.render import count
    from swp.services import meetings

    on = day(date, "meeting date")
    actor = acting(ctx)
    view = call(ctx, lambda s: meetings.call(s, actor=actor, kind=kind, on=on, place=place,
                                              online=online))
    emit(ctx, {"meeting": view.as_json()},
         lambda: f"Called {view.title} at {view.place} ("
                 + (f"{count(len(view.agenda), 'item')} on the agenda" if view.agenda else "nothing on the agenda yet")
                 + f"). Give notice with 'swp --as HANDLE meeting notice {view.id}'.")


@meeting_app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the meetings, oldest first.

    Example: swp meeting list
    """
    from swp import render
    from swp.services import meetings

    views = call(ctx, meetings.list_meetings, write=False)
    emit(ctx, {"meetings": [v.as_json() for v in views]},
         lambda: render.table("Meetings", ["#", "kind", "date", "place", "status", "notice given",
                                           "items"],
                              [(v.id, v.kind, v.date, v.place, v.status, v.notice_given_on or "-",
                                len(v.agenda)) for v in views], right=["#", "items"]))


@meeting_app.command("show")
def show(ctx: typer.Context, meeting_id: int = typer.Argument(..., metavar="ID", parser=meeting_number)) -> None:
    """Show a meeting: its agenda, attendance and decisions.

    Example: swp meeting show 1
    """
    from swp.services import meetings

    view = call(ctx, lambda s: meetings.show(s, meeting_id), write=False)
    emit(ctx, {"meeting": view.as_json()}, lambda: _meeting_text(view))


@meeting_app.command("notice")
def notice(
    ctx: typer.Context,
    meeting_id: int = typer.Argument(..., metavar="ID", parser=meeting_number),
    fmt: DocFormat = typer.Option("text", "--format", metavar="FORMAT", parser=choose(DocFormat),
                                  help=DOC_FORMATS),
    output: str | None = typer.Option(None, "--output", "-o", metavar="PATH", help="Write to this file."),
    force: bool = typer.Option(False, "--force", help="Replace a file that already exists."),
) -> None:
    """Print or write the notice of a called meeting (needs --as a current member): the
    business, each proposal in full, how to vote and the quorum. The first notice records in
    the audit log the day notice was given; it is refused if the meeting is by then too close
    for the clear days the constitution needs.

    Example: swp --as mo meeting notice 1 --format pdf --output notice-1.pdf
    """
    from swp.reports import meetings as docs
    from swp.services import meetings

    if output is not None:
        from swp import files

        files.check_path(output, force=force)  # before notice is recorded as given
    actor = acting(ctx)
    facts = call(ctx, lambda s: meetings.give_notice(s, actor=actor, meeting_id=meeting_id))
    write_document(ctx, docs.notice(facts), fmt, output, force,
                   {"meeting": facts.meeting.as_json(), "first": facts.first}, what="the notice")


def _handles(values: list[str] | None) -> list[str]:
    return [h.strip() for v in values or [] for h in v.split(",") if h.strip()]


@meeting_app.command("open")
def open_(
    ctx: typer.Context,
    meeting_id: int = typer.Argument(..., metavar="ID", parser=meeting_number),
    present: list[str] | None = typer.Option(None, "--present", metavar="HANDLES",
                                             help="Members present in person (repeat, or comma-separated)."),
    online: list[str] | None = typer.Option(None, "--online", metavar="HANDLES",
                                            help="Members present online (repeat, or comma-separated)."),
) -> None:
    """Open a meeting on its day (needs --as a current member), recording who attends in
    person or online; refused (exit 1) without notice given, on another day, or without a
    quorum present (the larger of 2 and governance.quorum-percent of the members).

    Example: swp --as mo meeting open 1 --present ann,bea,mo --online cal
    """
    from swp.services import meetings

    actor = acting(ctx)
    view = call(ctx, lambda s: meetings.open_meeting(s, actor=actor, meeting_id=meeting_id,
                                                      present=_handles(present),
                                                      online=_handles(online)))
    emit(ctx, {"meeting": view.as_json()},
         lambda: f"Opened {view.title}: {len(view.attendance)} present, "
                 f"{view.quorum_needed} needed. Quorate.")


@meeting_app.command("attend")
def attend(
    ctx: typer.Context,
    meeting_id: int = typer.Argument(..., metavar="ID", parser=meeting_number),
    handle: str = typer.Argument(..., metavar="HANDLE"),
    online: bool = typer.Option(False, "--online", help="Present online, not in person."),
) -> None:
    """Record a member who arrives after the meeting opened.

    Example: swp --as mo meeting attend 1 sam --online
    """
    from swp.services import meetings

    actor = acting(ctx)
    view = call(ctx, lambda s: meetings.attend(s, actor=actor, meeting_id=meeting_id,
                                                handle=handle,
                                                mode="online" if online else "person"))
    emit(ctx, {"meeting": view.as_json()}, lambda: f"{handle} attends {view.title}.")


@meeting_app.command("vote")
def vote(
    ctx: typer.Context,
    meeting_id: int = typer.Argument(..., metavar="ID", parser=meeting_number),
    proposal_id: int = typer.Argument(..., metavar="PROPOSAL", parser=proposal_number),
    choice: VoteChoice = typer.Argument(..., metavar="yes|no|abstain", parser=choose(VoteChoice)),
) -> None:
    """Cast your vote at an open meeting on a proposal on its agenda (needs --as a member
    recorded as attending; anyone else is refused, exit 1).

    Example: swp --as ann meeting vote 1 3 yes
    """
    from swp.jsonable import jsonable
    from swp.services import meetings

    actor = acting(ctx)
    cast = call(ctx, lambda s: meetings.vote(s, actor=actor, meeting_id=meeting_id,
                                              proposal_id=proposal_id, choice=choice))
    emit(ctx, jsonable(cast),
         lambda: f"{cast.member} votes {cast.choice} on proposal #{cast.proposal} at meeting "
                 f"#{meeting_id}" + (f" (changed from {cast.replaced})." if cast.replaced else "."))


@meeting_app.command("close")
def close(
    ctx: typer.Context,
    meeting_id: int = typer.Argument(..., metavar="ID", parser=meeting_number),
    reason: list[str] | None = typer.Option(None, "--reason", metavar="PROPOSAL=TEXT",
                                            help="Why the meeting decided as it did (one per item)."),
) -> None:
    """Close an open meeting (needs --as a current member): each open proposal on its agenda
    is decided, as 'swp proposal close' decides it, and its reason recorded; the audit log's
    head is recorded for the minutes.

    Example: swp --as mo meeting close 1 --reason 3="members want room to grow"
    """
    from swp.services import meetings

    reasons: dict[int, str] = {}
    for item in reason or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip().lstrip("#").isdigit():
            raise typer.BadParameter(f"--reason takes PROPOSAL=TEXT, not {item!r}")
        reasons[int(key.strip().lstrip("#"))] = text
    actor = acting(ctx)
    view = call(ctx, lambda s: meetings.close(s, actor=actor, meeting_id=meeting_id,
                                               reasons=reasons))
    emit(ctx, {"meeting": view.as_json()},
         lambda: "\n".join([f"Closed {view.title}."] +
                           [f"  #{i.proposal} {i.title}: {i.decision} ({i.reason})"
                            for i in view.agenda] +
                           [f"Write the minutes with 'swp meeting minutes {view.id}'."]))


@meeting_app.command("minutes")
def minutes(
    ctx: typer.Context,
    meeting_id: int = typer.Argument(..., metavar="ID", parser=meeting_number),
    fmt: DocFormat = typer.Option("text", "--format", metavar="FORMAT", parser=choose(DocFormat),
                                  help=DOC_FORMATS),
    output: str | None = typer.Option(None, "--output", "-o", metavar="PATH", help="Write to this file."),
    force: bool = typer.Option(False, "--force", help="Replace a file that already exists."),
) -> None:
    """Print or write the minutes of a closed meeting: who attended, each item, the votes,
    the decision and its reason, and the audit log's head at the close.

    Example: swp meeting minutes 1 --format pdf --output minutes-1.pdf
    """
    from swp.reports import meetings as docs
    from swp.services import meetings

    view, practice = call(ctx, lambda s: meetings.minutes_of(s, meeting_id), write=False)
    write_document(ctx, docs.minutes(view, practice), fmt, output, force,
                   {"meeting": view.as_json()}, what="the minutes")


def register(app: typer.Typer) -> None:
    app.add_typer(meeting_app, name="meeting")
