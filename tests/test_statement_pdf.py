"""The PDF writer on its own: every category listed (a second page if need be), however many,
with exact totals; and each writer copes with a deficit statement."""

from __future__ import annotations

import io
from datetime import date, timedelta

from pypdf import PdfReader

from swp import reports
from swp.money import format_pence
from swp.reports.statement import BasisRow, HistoryRow, Line, Statement


def crowded(**changes) -> Statement:
    income = tuple(Line(f"income-source-{i:02d}", 100_000 + i) for i in range(25))
    expenses = tuple(Line(f"expense-heading-{i:02d}", 150_000 + i) for i in range(30))
    history = tuple(HistoryRow(date(2025, 4, 1) + timedelta(days=10 * i), date(2025, 4, 10) + timedelta(days=10 * i),
                               10, "practitioner", 3000 + i, 3_000_000, 2) for i in range(20))
    fields = dict(
        practice="The Very Long Named Riverside and Holbeck Social Work Practice Co-operative",
        local_authority="Leeds City Council", period="2025-26", start=date(2025, 4, 1),
        end=date(2026, 3, 31), closed_on=date(2026, 4, 2), closed_by="mo", member="ann",
        name="Annabel Achebe-Worthington-Smythe", income=income, expenses=expenses,
        income_pence=sum(x.pence for x in income), expenses_pence=sum(x.pence for x in expenses),
        net_pence=-2_000_135,
        reserve_pence=-765_568, reserve_balance_pence=0, distributable_pence=-1_234_567,
        method="equal:25,hours:25,pay:25,service:25", days=200, probation_days=90,
        basis=tuple(BasisRow(b, 25, -308_642, 200, 1_000, -61_728) for b in ("equal", "hours", "pay", "service")),
        history=history, amount_pence=-246_912, carried_in_pence=-10_000, payable_pence=0,
        carried_out_pence=-256_912, year_start=date(2025, 4, 1), year_to_date_pence=-246_912,
        fingerprint="f" * 64, fingerprint_verified=True)
    fields.update(changes)
    return Statement(**fields)


def test_a_crowded_deficit_statement_lists_every_category_with_exact_totals():
    """Every category is listed, as in the other formats (a second page if need be)."""
    st = crowded()
    data = reports.render([st], "pdf", one=True)
    reader = PdfReader(io.BytesIO(data))
    assert 1 <= len(reader.pages) <= 3
    text = "".join(page.extract_text() for page in reader.pages)
    assert format_pence(st.income_pence) in text and format_pence(st.expenses_pence) in text
    for line in (*st.income, *st.expenses):
        assert line.category in text
    assert "other categories" not in text and "16 more stretches" in text
    assert "Deficit shared among members" in text and format_pence(-246_912) in text
    assert "The practice made a loss" in text
    many = reports.render([st, crowded(member="bea", name="Bea Brown")], "pdf", one=False)
    assert len(PdfReader(io.BytesIO(many)).pages) == 2 * len(reader.pages)


def test_every_writer_handles_a_deficit_statement():
    st = crowded(income=(Line("contracts", 1),), expenses=(Line("rent", 2),))
    for fmt in reports.FORMATS:
        out = reports.render([st], fmt, one=True)
        text = out.decode("latin-1") if isinstance(out, bytes) else out
        if fmt == "pdf":
            text = PdfReader(io.BytesIO(out)).pages[0].extract_text()
        if fmt in ("csv", "json"):
            assert "-246912" in text.replace(" ", "")
        else:
            assert format_pence(-246_912) in text.replace("&#x27;", "'"), fmt
