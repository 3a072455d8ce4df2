"""The statement's picture of where the practice's money went: made from the statement's own
figures, one bar per expense category as long as its amount, in the HTML (inline SVG, with a
title and a description, no script) and drawn in the PDF; the members' page reuses the SVG."""

from __future__ import annotations

import io
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings, strategies
from pypdf import PdfReader

from swp import reports
from swp.money import format_pence
from swp.reports import chart
from swp.reports.statement import Line
from tests.conftest import Swp
from tests.test_first_hour import found_riverside
from tests.test_statement_pdf import crowded

SVG = ""  # inline in HTML, the <svg> names no namespace


def _svg(html: str) -> ElementTree.Element:
    found = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert len(found) == 1, "one chart per statement"
    return ElementTree.fromstring(found[0])


def _bars(root: ElementTree.Element) -> list[tuple[str, str, int, float]]:
    """(kind, label, pence, width) of every bar, top to bottom."""
    out = []
    for group in root.iter(f"{SVG}g"):
        label = group.find(f"{SVG}text").text
        rect = group.find(f"{SVG}rect")
        out.append((group.get("data-kind"), label, int(group.get("data-pence")),
                    float(rect.get("width"))))
    return out


def _assert_proportional(bars: list[tuple[str, str, int, float]]) -> None:
    biggest = max(abs(p) for _, _, p, _ in bars)
    longest = max(w for _, _, _, w in bars)
    for kind, label, pence, width in bars:
        assert width == pytest.approx(longest * abs(pence) / biggest, abs=0.01), (kind, label)


def _demo_statement(tmp_path: Path, monkeypatch, fmt: str) -> tuple[dict, Path]:
    monkeypatch.setenv("SWP_TODAY", "2026-04-30")
    swp = found_riverside(Swp(str(tmp_path / "r.db")))
    swp.ok("period", "close", "2025-26", as_="mo")
    out = tmp_path / f"cal.{fmt}"
    swp.ok("statement", "2025-26", "--member", "cal", "--format", fmt, "--output", str(out),
           as_="mo")
    return swp.ok("statement", "2025-26", "--member", "cal", as_="mo", json=True).json, out


def test_the_html_statement_draws_one_bar_per_category_as_long_as_its_amount(monkeypatch,
                                                                           tmp_path):
    st, out = _demo_statement(tmp_path, monkeypatch, "html")
    html = out.read_text()
    root = _svg(html)
    bars = _bars(root)
    expenses = [(label, pence) for kind, label, pence, _ in bars if kind == "expense"]
    assert expenses == list(st["expenses_by_category"].items())
    kinds = {kind: pence for kind, _, pence, _ in bars if kind != "expense"}
    assert kinds == {"income": st["income_pence"], "reserve": st["reserve_pence"],
                     "pool": st["distributable_pence"], "member": st["amount_pence"]}
    _assert_proportional(bars)
    # the largest amount (the income) has the longest bar; salaries are about half of it
    widths = {label: width for _, label, _, width in bars}
    assert widths["Income"] == chart.BAR_LONGEST
    assert widths["salaries"] / widths["Income"] == pytest.approx(13441652 / 26754091, abs=1e-4)


def test_the_chart_is_accessible_and_its_figures_are_text_too(monkeypatch, tmp_path):
    st, out = _demo_statement(tmp_path, monkeypatch, "html")
    html = out.read_text()
    root = _svg(html)
    assert root.get("role") == "img"
    ids = root.get("aria-labelledby").split()
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert [title.get("id"), desc.get("id")] == ids
    assert "Where the practice's money went" in title.text
    assert format_pence(st["amount_pence"]) in desc.text
    for category, pence in st["expenses_by_category"].items():
        assert f"{category}: {format_pence(pence)}" in desc.text
    assert "<script" not in html and " style=" not in html and "on" not in root.attrib
    # outside the picture, the same figures are in the statement's tables as text
    outside = re.sub(r"<svg\b.*?</svg>", "", html, flags=re.S)
    for pence in (st["income_pence"], st["reserve_pence"], st["distributable_pence"],
                  st["amount_pence"], *st["expenses_by_category"].values()):
        assert format_pence(pence) in outside


def test_a_deficit_chart_says_loss_and_draws_each_bar_by_its_size():
    st = crowded(expenses=tuple(Line(f"heading-{i}", 1000 * (i + 1)) for i in range(5)))
    root = ElementTree.fromstring(chart.svg(st))
    bars = _bars(root)
    assert [label for kind, label, _, _ in bars if kind == "expense"] == \
        [f"heading-{i}" for i in range(5)]
    assert ("pool", "Loss shared", -1_234_567) in [b[:3] for b in bars]
    assert ("member", "Your part of it", -246_912) in [b[:3] for b in bars]
    _assert_proportional(bars)
    # two statements in one document: each chart's ids are its own
    many = reports.render([st, crowded(member="bea")], "html", one=False)
    ids = re.findall(r'\bid="([^"]+)"', many)
    assert len(ids) == len(set(ids)) == 4


def _drawn_rectangles(data: bytes) -> int:
    reader = PdfReader(io.BytesIO(data))
    return sum(len(re.findall(rb" re f\b", page.get_contents().get_data()))
               for page in reader.pages)


def test_the_pdf_draws_the_chart_and_keeps_every_category(monkeypatch, tmp_path):
    st, out = _demo_statement(tmp_path, monkeypatch, "pdf")
    text = "".join(page.extract_text() for page in PdfReader(str(out)).pages)
    assert "Where the practice's money went, and your part" in text
    assert f"\nYour share {format_pence(st['amount_pence'])}\n" in text
    for category, pence in st["expenses_by_category"].items():
        assert f"Expenses: {category}" in text  # the table
        assert f"\n{category} {format_pence(pence)}\n" in text, category  # the chart's bar


@pytest.mark.parametrize("incomes", [1, 25], ids=["beside the result", "below it"])
def test_the_pdf_chart_fills_one_bar_per_amount(monkeypatch, incomes):
    st = crowded(income=tuple(Line(f"source-{i}", 100_000) for i in range(incomes)),
                 expenses=(*(Line(f"heading-{i}", 1000 * (i + 1)) for i in range(5)),
                           Line("nothing-spent", 0)))
    data = reports.render([st], "pdf", one=True)
    drawn = _drawn_rectangles(data)
    monkeypatch.setattr(chart, "draw_pdf", lambda pdf, st, **place: pdf.get_y())
    without = _drawn_rectangles(reports.render([st], "pdf", one=True))
    assert drawn - without == len([b for b in chart.bars(st) if b.pence != 0]) == 1 + 5 + 3
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "heading-4 £50.00" in text and "nothing-spent £0.00" in text


@given(strategies.lists(strategies.integers(min_value=-10**9, max_value=10**9), max_size=25),
       strategies.integers(min_value=0, max_value=10**10))
@settings(max_examples=60, deadline=None)
def test_any_figures_give_bars_as_long_as_their_amounts(amounts, income):
    statement = crowded(expenses=tuple(Line(f"c{i}", p) for i, p in enumerate(amounts)),
                        income_pence=income)
    bars = _bars(ElementTree.fromstring(chart.svg(statement)))
    assert [p for kind, _, p, _ in bars if kind == "expense"] == amounts
    _assert_proportional(bars)
    assert max(w for *_, w in bars) in (0, chart.BAR_LONGEST)
