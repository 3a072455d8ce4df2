"""The registers of members and of officers, as documents (swp.reports.document)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from swp.reports.document import Document, Section, Table

if TYPE_CHECKING:
    from swp.services.registers import OfficerRow, Register, RegisterRow


def members(register: Register[RegisterRow]) -> Document:
    rows = tuple((r.name, r.address or "-", r.email or "-", ", ".join(r.email_purposes) or "-",
                  r.admitted.isoformat(), r.ceased.isoformat() if r.ceased else "-", r.shares_held)
                 for r in register.rows)
    current = sum(1 for r in register.rows if r.ceased is None or r.ceased >= register.as_at)
    return Document(
        f"Register of members as at {register.as_at.isoformat()}", register.practice,
        register.as_at,
        (Section("Members", (
            f"{len(register.rows)} people admitted on or before {register.as_at.isoformat()}; "
            f"{current} of them members on that day.",
            "The practice has no share capital of any kind: no member holds, or has ever held, "
            "a share.",
        ), Table(("name", "postal address", "email", "email may be used for", "admitted",
                  "ceased", "shares held"), rows)),),
        footer=f"Registered (founded in swp) on {register.registered.isoformat()}. Addresses are "
               "personal data: keep this register private. A date ceased is the member's last "
               "day of membership.")


def officers(register: Register[OfficerRow]) -> Document:
    rows = tuple((r.name, r.office, r.address or "-", r.start.isoformat(),
                  r.end.isoformat() if r.end else "-") for r in register.rows)
    return Document(
        f"Register of officers as at {register.as_at.isoformat()}", register.practice,
        register.as_at,
        (Section("Officers", (
            "The officers are the members who hold the manager role (the business manager and "
            "any other manager), with the days they held it.",
        ), Table(("name", "office", "postal address", "from", "to"), rows)),),
        footer="Addresses are personal data: keep this register private.")
