"""`swp rules`, `swp proposal`, `swp vote` and `swp shares`: the constitution and its
resolutions, one member one vote, and the share register that must not exist."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

import typer

from swp.cli._common import acting, call, choose, emit, proposal_number
from swp.cli._common import amount as parse_amount

if TYPE_CHECKING:
    from collections.abc import Callable

    from swp.services.governance import ProposalView


class ProposalKind(StrEnum):  # rules.PROPOSAL_KINDS
    ordinary = "ordinary"
    special = "special"


class BodyKind(StrEnum):  # rules.BODY_KINDS
    mutual = "mutual"
    charity = "charity"
    cic = "cic"
    local_authority = "local-authority"
    company = "company"
    members = "members"


class ProposalStatus(StrEnum):
    open = "open"
    passed = "passed"
    failed = "failed"


class VoteChoice(StrEnum):  # rules.VOTE_CHOICES
    yes = "yes"
    no = "no"
    abstain = "abstain"

rules_app = typer.Typer(help="The constitution: entrenched and amendable clauses.",
                        no_args_is_help=True)
proposal_app = typer.Typer(help="Resolutions: amend a clause, expel a member, write off a former "
                                "member's deficit, re-enrol a lost key, merge, dissolve.",
                           no_args_is_help=True)
shares_app = typer.Typer(help="There are no shares: every command here is refused (exit 3).",
                         no_args_is_help=True)


@rules_app.command("show")
def rules_show(ctx: typer.Context) -> None:
    """Show every clause of the constitution: its value, whether it is entrenched (no resolution
    can change it), and which kind of resolution amends it.

    Example: swp rules show
    """
    from swp.services import governance

    views = call(ctx, governance.clauses, write=False)

    def human() -> object:
        from swp import render

        # "changed by: no resolution" is what entrenched means (--json keeps both keys)
        return render.table("Constitution", ["clause", "value", "changed by", "meaning"],
                            [(v.name, v.value, v.changed_by or "no resolution (entrenched)",
                              v.meaning) for v in views])

    emit(ctx, {"clauses": [v.as_json() for v in views]}, human)


def _one_action(amend: str | None, expel: str | None, merge_with: str | None,
                dissolve: bool, make_practitioner: str | None = None,
                partner_split: str | None = None, write_off: str | None = None,
                re_enrol: str | None = None, admit: str | None = None,
                end_employment: str | None = None) -> str:
    chosen = [name for name, given in (("--amend", amend), ("--expel", expel),
                                       ("--write-off", write_off), ("--re-enrol", re_enrol),
                                       ("--merge-with", merge_with), ("--dissolve", dissolve),
                                       ("--make-practitioner", make_practitioner),
                                       ("--partner-split", partner_split),
                                       ("--admit", admit), ("--end-employment", end_employment))
              if given]
    if len(chosen) != 1:
        raise typer.BadParameter("give exactly one of --amend, --expel, --write-off, --re-enrol, "
                                 "--merge-with, --dissolve, --make-practitioner, --partner-split, "
                                 "--admit, --end-employment"
                                 + (f" (not {' and '.join(chosen)})" if chosen else ""))
    return {"--amend": "amend", "--expel": "expel", "--write-off": "write-off", "--re-enrol": "re-enrol",
            "--merge-with": "merge", "--dissolve": "dissolve", "--make-practitioner": "practitioner",
            "--partner-split": "split", "--admit": "admit",
            "--end-employment": "end-employment"}[chosen[0]]


@proposal_app.command("new")
def new(
    ctx: typer.Context,
    title: str = typer.Option(..., "--title", help="What the members are asked to decide."),
    kind: ProposalKind = typer.Option(..., "--kind", metavar="ordinary|special", parser=choose(ProposalKind),
                                      help="The kind of resolution (amendments need their clause's kind)."),
    amend: str | None = typer.Option(None, "--amend", metavar="CLAUSE=VALUE",
                                     help="Amend an amendable clause."),
    expel: str | None = typer.Option(None, "--expel", metavar="HANDLE", help="Expel a member."),
    write_off: str | None = typer.Option(None, "--write-off", metavar="HANDLE",
                                         help="Write off a former member's outstanding deficit "
                                              "(an ordinary resolution)..."),
    amount: str | None = typer.Option(None, "--amount", metavar="AMOUNT",
                                      help="...only this much of it (default: all they owe at the close)."),
    merge_with: str | None = typer.Option(None, "--merge-with", metavar="NAME",
                                          help="Merge with another body..."),
    partner_kind: BodyKind | None = typer.Option(None, "--partner-kind", metavar="KIND", parser=choose(BodyKind),
                                                 help="...of this kind (mutual, charity, cic, ...)."),
    dissolve: bool = typer.Option(False, "--dissolve", help="Dissolve the practice..."),
    assets_to: str | None = typer.Option(None, "--assets-to", metavar="NAME",
                                         help="...passing its residual assets to this body..."),
    recipient_kind: BodyKind | None = typer.Option(None, "--recipient-kind", metavar="KIND",
                                                   parser=choose(BodyKind),
                                                   help="...of this kind (mutual, charity, cic, ...)."),
    written: bool = typer.Option(False, "--written",
                                 help="A written resolution: members sign by voting; it passes "
                                      "once the needed share of ALL members voted yes, and lapses "
                                      "after governance.written-days."),
    register: str | None = typer.Option(None, "--register", metavar="NUMBER",
                                        help="...and its number on its register (FCA mutuals register, "
                                             "Charity Commission, Companies House for a CIC)."),
    make_practitioner: str | None = typer.Option(None, "--make-practitioner", metavar="HANDLE",
                                                 help="Make a member a practitioner..."),
    registration: str | None = typer.Option(None, "--registration", metavar="SW...",
                                            help="...with their Social Work England registration."),
    partner_split: str | None = typer.Option(None, "--partner-split", metavar="PARTNER=PERCENT",
                                             help="Agree the practice's percent of costs shared with "
                                                  "a partner."),
    re_enrol: str | None = typer.Option(None, "--re-enrol", metavar="HANDLE",
                                        help="Re-enrol the key of a member who lost theirs (a special "
                                             "resolution)..."),
    public_key: str | None = typer.Option(None, "--public-key", metavar="KEY",
                                          help="...enrolling this public key for them: what their "
                                               "'swp key new' printed, or its .pub file."),
    admit: str | None = typer.Option(None, "--admit", metavar="HANDLE",
                                     help="Agree to admit a newcomer while the practice has no "
                                          "manager..."),
    role: str | None = typer.Option(None, "--role", metavar="ROLE",
                                    help="...in this role (practitioner, manager, staff)."),
    end_employment: str | None = typer.Option(None, "--end-employment", metavar="HANDLE=DATE",
                                              help="Record that a member's employment ends on DATE "
                                                   "(their membership ends with it; special)."),
) -> None:
    """Propose a resolution (needs --as a current member). Amending an entrenched clause,
    merging with a company or members, or dissolving to anything but an asset-locked body
    is refused (exit 3). A merger partner or a recipient names its register number
    (--register); making a member a practitioner needs their registration; a partner's cost
    split, the practice's local authority (--amend practice.local-authority=NAME) change only
    by resolution, and so does an admission while the practice has no manager (--admit
    HANDLE --role ROLE). Ending another member's membership is by resolution only: --expel,
    or --end-employment HANDLE=DATE. A proposal stays open governance.notice-days clear days,
    unless every member has voted or no remaining vote could change the result (one ending a
    membership: only once every member has voted). A write-off, once passed
    and closed, is recorded against the former member's deficit and shows on their statement.
    A member who lost their key makes a new one ('swp --as HANDLE key new') and gives its
    public key to another member, who proposes --re-enrol HANDLE --public-key KEY; closed
    passed, it enrols that key for them and their old key signs nothing more.

    Example: swp --as ann proposal new --title "Room to grow" --kind special --amend membership.max-members=60
    """
    from swp.services import governance

    action = _one_action(amend, expel, merge_with, dissolve, make_practitioner, partner_split,
                         write_off, re_enrol, admit, end_employment)
    if amount is not None and action != "write-off":
        raise typer.BadParameter("--amount goes with --write-off")
    if public_key is not None and action != "re-enrol":
        raise typer.BadParameter("--public-key goes with --re-enrol")
    if role is not None and action != "admit":
        raise typer.BadParameter("--role goes with --admit")
    clause = value = target = target_kind = None
    pence = None
    if action == "practitioner":
        if not registration:
            raise typer.BadParameter("--make-practitioner needs --registration SW...")
        action, clause, target, value = "amend", "member.role", make_practitioner, registration
    elif action == "admit":
        if not role:
            raise typer.BadParameter("--admit needs --role (practitioner, manager or staff)")
        assert admit is not None  # the action is the option given
        action, clause, target, value = "amend", "member.admit", admit.strip(), role
    elif action == "end-employment":
        assert end_employment is not None  # the action is the option given
        target, sep, value = end_employment.partition("=")
        if not sep or not target.strip() or not value.strip():
            raise typer.BadParameter(f"--end-employment takes HANDLE=DATE, not {end_employment!r}")
        action, clause, target = "amend", "member.left", target.strip()
    elif action == "split":
        assert partner_split is not None  # the action is the option given
        target, sep, value = partner_split.rpartition("=")
        if not sep or not target.strip():
            raise typer.BadParameter(f"--partner-split takes PARTNER=PERCENT, not {partner_split!r}")
        action, clause, target = "amend", "partner.split", target.strip()
    elif action == "amend":
        assert amend is not None  # the action is the option given
        clause, sep, value = amend.partition("=")
        if not sep or not clause.strip():
            raise typer.BadParameter(f"--amend takes CLAUSE=VALUE, not {amend!r}")
    elif action == "expel":
        target = expel
    elif action == "write-off":
        target, pence = write_off, None if amount is None else parse_amount(amount)
    elif action == "re-enrol":
        if not public_key:
            raise typer.BadParameter("--re-enrol needs --public-key KEY (or its .pub file)")
        from swp.identity import parse_public_key

        target, value = re_enrol, parse_public_key(public_key)
    elif action == "merge":
        if not partner_kind:
            raise typer.BadParameter("--merge-with needs --partner-kind")
        target, target_kind = merge_with, partner_kind
    else:
        if not assets_to or not recipient_kind:
            raise typer.BadParameter("--dissolve needs --assets-to and --recipient-kind")
        target, target_kind = assets_to, recipient_kind
    actor = acting(ctx)
    view = call(ctx, lambda s: governance.propose(
        s, actor=actor, title=title, kind=kind, action=action, clause=clause, value=value,
        target=target, target_kind=target_kind, register=register,
        written=written, amount_pence=pence))
    emit(ctx, {"id": view.id, "proposal": view.as_json(), "written": written},
         lambda: f"{'Written resolution' if written else 'Proposal'} #{view.id} ({view.kind}): "
                 f"{view.summary}. Members {'sign' if written else 'vote'} with "
                 f"'swp --as HANDLE vote {view.id} yes|no|abstain'.")


@proposal_app.command("list")
def list_(ctx: typer.Context,
          status: ProposalStatus | None = typer.Option(None, "--status", metavar="open|passed|failed",
                                                       parser=choose(ProposalStatus),
                                                       help="Only proposals with this status.")) -> None:
    """List proposals with their tally (open ones: so far).

    Example: swp proposal list --status open
    """
    from swp.services import governance

    wanted = None if status is None else status.value  # plain text: a driver may bind an Enum by name
    views = call(ctx, lambda s: governance.list_proposals(s, status=wanted), write=False)

    def human() -> object:
        from swp import render

        return render.table("Proposals", ["#", "title", "kind", "proposes", "status", "yes", "no",
                                          "abstain", "quorum"],
                            [(v.id, v.title, v.kind, v.summary, v.status, v.tally.yes, v.tally.no,
                              v.tally.abstain, _quorum_text(v)) for v in views],
                            right=["#", "yes", "no", "abstain"])

    emit(ctx, {"proposals": [v.as_json() for v in views]}, human)


def _quorum_text(view: ProposalView) -> str:
    if view.status != "open":
        return "met" if view.quorum_met else "not met"
    return f"{view.tally.voters} of {view.quorum_needed} needed"


@proposal_app.command("show")
def show(ctx: typer.Context, proposal_id: int = typer.Argument(..., metavar="ID", parser=proposal_number)) -> None:
    """Show a proposal, its votes and the tally so far (and, if open, whether it would pass).

    Example: swp proposal show 1
    """
    from swp.services import governance

    view = call(ctx, lambda s: governance.show(s, proposal_id), write=False)

    def human() -> object:
        from rich.console import Group

        from swp import render

        items = [("proposes", view.summary), ("kind", view.kind), ("status", view.status),
                 ("proposed by", view.proposed_by or "-"), ("proposed on", view.proposed_on),
                 ("tally", f"yes {view.tally.yes}, no {view.tally.no}, "
                           f"abstain {view.tally.abstain}")]
        if view.status == "open":
            rule = "more than" if view.kind == "ordinary" else "at least"
            items += [("quorum", f"{view.tally.voters} voted of {view.members} members; "
                                 f"{view.quorum_needed} needed ({'met' if view.quorum_met else 'not yet'})"),
                      ("threshold", f"yes {rule} {view.threshold_percent}% of yes+no"),
                      ("if closed now", "passes" if view.would_pass else "fails"),
                      ("may close", "now" if view.may_close_now else f"on {view.may_close_on} (notice), or once every "
                       "member has voted")]
        else:
            items += [("closed on", view.closed_on),
                      ("quorum", "met" if view.quorum_met else "not met")]
        return Group(
            render.pairs(f"Proposal #{view.id}: {view.title}", items),
            render.table("Votes (each member's latest)", ["member", "vote", "changes", "cast on"],
                         [(v.member, v.choice, v.version - 1, v.cast_on) for v in view.votes]))

    emit(ctx, view.as_json(), human)


@proposal_app.command("close")
def close(ctx: typer.Context, proposal_id: int = typer.Argument(..., metavar="ID", parser=proposal_number)) -> None:
    """Close a proposal (needs --as a current member): count each current member's latest vote,
    apply quorum and threshold, and if it passes apply its effect in the same transaction.

    Example: swp --as ann proposal close 1
    """
    from swp.services import governance

    actor = acting(ctx)
    result = call(ctx, lambda s: governance.close(s, actor=actor, proposal_id=proposal_id))

    def human() -> str:
        quorum = "quorum met" if result.quorum_met else \
            f"quorum not met ({result.tally.voters} of {result.quorum_needed} needed)"
        line = (f"Proposal #{result.id} {result.status}: yes {result.tally.yes}, no "
                f"{result.tally.no}, abstain {result.tally.abstain}; {quorum}.")
        return line + (f"\nEffect: {result.effect}." if result.effect else "")

    emit(ctx, result.as_json(), human)


def vote(
    ctx: typer.Context,
    proposal_id: int = typer.Argument(..., metavar="ID", parser=proposal_number),
    choice: VoteChoice = typer.Argument(..., metavar="yes|no|abstain", parser=choose(VoteChoice)),
    weight: int = typer.Option(1, "--weight", help="Always 1: one member, one vote."),
    for_handle: str | None = typer.Option(None, "--for", metavar="HANDLE",
                                          help="Only yourself: there are no proxy votes."),
) -> None:
    """Cast your one vote on an open proposal (needs --as a current member). Voting again
    changes your vote; only your latest counts. A non-member, a former member, a weighted or
    a proxy vote is refused (exit 3).

    Example: swp --as ann vote 1 yes
    """
    from swp.jsonable import jsonable
    from swp.services import governance

    actor = acting(ctx)
    cast = call(ctx, lambda s: governance.vote(s, actor=actor, proposal_id=proposal_id,
                                               choice=choice, weight=weight,
                                               for_handle=for_handle))
    emit(ctx, jsonable(cast),
         lambda: f"{cast.member} votes {cast.choice} on proposal #{cast.proposal}"
                 + (f" (changed from {cast.replaced})." if cast.replaced else "."))


def _refuse_shares(action: str, doc: str) -> Callable[[typer.Context, list[str]], None]:
    def command(ctx: typer.Context,
                args: list[str] | None = typer.Argument(None, metavar="...",
                                                        help="Anything: it is refused all the same.")) -> None:
        from swp.errors import DatabaseError
        from swp.services import governance

        given = [*(args or []), *ctx.args]
        try:
            call(ctx, lambda s: governance.shares(action), args={"args": given})
        except DatabaseError:
            governance.shares(action)  # refused all the same, with no practice to log it in

    command.__doc__ = doc
    return command


_SHARE_COMMANDS = {
    "issue": ("issued", "Always refused (exit 3): the practice issues no shares of any class.\n\n"
                        "Example: swp shares issue 1000 --class A --to \"Acme Care Ltd\""),
    "sell": ("sold", "Always refused (exit 3): there are no shares to sell.\n\n"
                     "Example: swp shares sell 100 --to \"Acme Care Ltd\""),
    "transfer": ("transferred", "Always refused (exit 3): there are no shares to transfer.\n\n"
                                "Example: swp shares transfer --from ann --to \"Acme Care Ltd\""),
}
for _name, (_action, _doc) in _SHARE_COMMANDS.items():
    shares_app.command(_name, context_settings={"allow_extra_args": True,
                                                "ignore_unknown_options": True,
                                                "allow_interspersed_args": False})(
        _refuse_shares(_action, _doc))


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
    app.add_typer(proposal_app, name="proposal")
    app.command("vote")(vote)
    app.add_typer(shares_app, name="shares")
