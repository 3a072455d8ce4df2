"""The notice of a meeting and its minutes, as documents (swp.reports.document)."""

from __future__ import annotations

from swp.reports.document import Document, Section, Table

MODE_NAMES = {"person": "in person", "online": "online"}


def _rule(kind: str, threshold: int | None) -> str:
    if kind == "ordinary":
        return f"passes with yes from more than {threshold}% of those voting yes or no"
    return f"passes with yes from at least {threshold}% of those voting yes or no"


def notice(facts) -> Document:
    m = facts.meeting
    where = m.place + (f"; online at {m.online}" if m.online else "")
    sections = [
        Section("The meeting", (
            f"Notice is given of the {'annual general meeting' if m.kind == 'agm' else 'general meeting'} "
            f"of {facts.practice}, to be held on {m.date.isoformat()} at {where}.",
            f"Notice given on {(m.notice_given_on or m.called_on).isoformat()}: the constitution "
            f"needs {facts.notice_days} clear days' notice (neither the day of notice nor the day "
            "of the meeting counts).",
        )),
    ]
    business = ["Minutes of the last meeting.", *([
        "The annual accounts and the report of the business manager.",
    ] if m.kind == "agm" else [])]
    if m.agenda:
        business += [f"Item {i.position}: proposal #{i.proposal}, {i.title} ({i.kind} resolution): "
                     f"{i.summary}." for i in m.agenda]
    else:
        business.append("No resolution is proposed.")
    sections.append(Section("Business", tuple(business)))
    for p in facts.proposals:
        sections.append(Section(f"Proposal #{p.id}: {p.title}", (
            f"Resolution ({p.kind}): {p.summary}.",
            f"Proposed by {p.proposed_by or '-'} on {p.created_at.date().isoformat()}.",
            f"The resolution {_rule(p.kind, p.threshold_percent)}.",
        )))
    sections.append(Section("How to vote", (
        "Every member has one vote; there are no proxies and no weighted votes.",
        f"Vote at the meeting, in person or online, with 'swp --as HANDLE meeting vote {m.id} "
        "PROPOSAL yes|no|abstain' once you are recorded as attending; a vote cast earlier with "
        "'swp --as HANDLE vote PROPOSAL yes|no|abstain' also counts, and only your latest vote "
        "counts.",
    )))
    sections.append(Section("Quorum", (
        f"The meeting is quorate with {facts.quorum_needed} members present (the larger of 2 and "
        f"the quorum share of the {facts.members} current members), in person or online.",
    )))
    return Document(f"Notice of {m.title}", facts.practice, m.notice_given_on or m.called_on,
                    tuple(sections),
                    footer=f"Meeting #{m.id} was called by {m.called_by or '-'} on "
                           f"{m.called_on.isoformat()}. 'swp meeting show {m.id}' shows it.")


def minutes(view, practice: str) -> Document:
    where = view.place + (f"; online at {view.online}" if view.online else "")
    sections = [
        Section("The meeting", (
            f"Held on {view.date.isoformat()} at {where}; notice given on "
            f"{view.notice_given_on.isoformat() if view.notice_given_on else '-'}.",
            f"{len(view.attendance)} of {view.members} members attended; {view.quorum_needed} "
            "were needed for a quorum, which was present.",
        )),
        Section("Present", (), Table(("member", "name", "attended"),
                                     tuple((h, n, MODE_NAMES[mode]) for h, n, mode in view.attendance))),
    ]
    if not view.agenda:
        sections.append(Section("Items", ("No resolution was before the meeting.",)))
    for i in view.agenda:
        votes = ("-" if i.yes is None else
                 f"yes {i.yes}, no {i.no}, abstain {i.abstain}")
        sections.append(Section(f"Item {i.position}: proposal #{i.proposal}, {i.title}", (
            f"Resolution ({i.kind}): {i.summary}.",
            f"Votes: {votes}.",
            f"Decision: {i.decision or i.status}.",
            f"Reason: {(i.reason or '-').rstrip('.')}.",
        )))
    footer = (f"Closed on {view.closed_on.isoformat() if view.closed_on else '-'}. The audit log's "
              f"head at the close: event {view.audit_seq}, hash {view.audit_head}; "
              "'swp audit verify' proves the log has not changed since.")
    return Document(f"Minutes of the {view.title}", practice, view.closed_on or view.date,
                    tuple(sections), footer=footer)
