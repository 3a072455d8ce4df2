"""The worked examples of docs/sharing.md, end to end through the CLI.

Each example's figures are written out here (checked by hand in the doc's prose) and compared
both with what `swp` computes and with the doc's tables, so the doc and the code agree.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from swp.money import format_pence

DOC = Path(__file__).resolve().parent.parent / "docs" / "sharing.md"
Q1 = ("--start", "2026-01-01", "--end", "2026-03-31")


def doc_table(name: str) -> list[list[str]]:
    """The rows (after the header and the rule) of the table under `<!-- example: name -->`."""
    lines = DOC.read_text().splitlines()
    start = lines.index(f"<!-- example: {name} -->")
    rows = []
    for line in lines[start + 1:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert len(rows) > 2, f"no table under the {name} marker"
    return rows[2:]


def pounds(pence: int) -> str:
    return format_pence(pence)


def grouped(n: int) -> str:
    return f"{n:,}"


def setup_riverside(swp) -> None:
    """The commands at the top of the worked example, as the doc gives them."""
    swp.ok("init", "--sandbox", "Riverside Social Work Practice", "--local-authority", "Leeds City Council",
           "--set", "sharing.method=equal:50,hours:50")
    swp.ok("member", "add", "ann", "--name", "Ann Achebe", "--role", "practitioner", "--registration", "SW240025",
           "--employed-since", "2024-04-01", "--hours", "37.5", "--pay", "40000")
    swp.ok("member", "add", "bea", "--name", "Bea Brown", "--role", "practitioner", "--registration", "SW240026",
           "--employed-since", "2024-04-01", "--hours", "30", "--pay", "32000")
    swp.ok("member", "add", "cal", "--name", "Cal Chen", "--role", "practitioner", "--registration", "SW240027",
           "--employed-since", "2026-03-02", "--hours", "20", "--pay", "24000")
    swp.ok("member", "add", "mo", "--name", "Mo Malik", "--role", "manager",
           "--employed-since", "2025-01-01", "--hours", "37.5", "--pay", "36000")
    swp.ok("member", "add", "dan", "--name", "Dan Dube", "--role", "staff",
           "--employed-since", "2025-06-01", "--hours", "16", "--pay", "12000", as_="mo")
    swp.ok("member", "update", "bea", "--effective", "2026-02-01", "--hours", "37.5", as_="mo")
    for kind, amount, day, category in [
        ("income", "30000", "2026-01-15", "contracts"),
        ("income", "3000", "2026-03-20", "outcome-payments"),
        ("expense", "2400", "2026-01-05", "rent"),
        ("expense", "1600", "2026-02-05", "training"),
        ("expense", "1000", "2026-03-05", "admin"),
    ]:
        swp.ok("ledger", kind, amount, "--date", day, "--category", category, as_="mo")


def record(swp, rows) -> None:
    for kind, amount, day, category in rows:
        swp.ok("ledger", kind, amount, "--date", day, "--category", category, as_="mo")


@pytest.fixture
def riverside(swp):
    setup_riverside(swp)
    return swp


# --- the first quarter ---------------------------------------------------------------------

Q1_WEIGHTS = {  # member: (days, hours, pay, service)
    "ann": (90, 337_500, 360_000_000, 180),
    "bea": (90, 314_250, 288_000_000, 180),  # 31 days at 3000 + 59 days at 3750
    "cal": (30, 60_000, 72_000_000, 30),  # joined 2026-03-02
    "dan": (90, 144_000, 108_000_000, 90),
    "mo": (90, 337_500, 324_000_000, 180),
}

Q1_BY_METHOD = {  # member: pence under equal, hours, pay, service
    "ann": (516_923, 633_564, 700_000, 610_909),
    "bea": (516_923, 589_918, 560_000, 610_909),
    "cal": (172_308, 112_634, 140_000, 101_818),
    "dan": (516_923, 270_320, 210_000, 305_455),
    "mo": (516_923, 633_564, 630_000, 610_909),
}

Q1_BLEND = {  # member: (equal part, hours part, allocation)
    "ann": (258_462, 316_782, 575_244),
    "bea": (258_462, 294_959, 553_421),
    "cal": (86_154, 56_317, 142_471),
    "dan": (258_461, 135_160, 393_621),
    "mo": (258_461, 316_782, 575_243),
}


def test_q1_figures_and_weights(riverside):
    data = riverside.ok("period", "preview", *Q1, json=True).json
    assert (data["income_pence"], data["expenses_pence"], data["net_pence"]) == (3_300_000, 500_000, 2_800_000)
    assert (data["reserve_pence"], data["distributable_pence"]) == (560_000, 2_240_000)
    assert data["income_by_category"] == {"contracts": 3_000_000, "outcome-payments": 300_000}
    assert data["method"] == "equal:50,hours:50" and data["label"] is None
    got = {a["member"]: (a["days"], a["weights"]["hours"], a["weights"]["pay"], a["weights"]["service"])
           for a in data["allocations"]}
    assert got == Q1_WEIGHTS
    totals = [sum(w[i] for w in Q1_WEIGHTS.values()) for i in range(4)]
    assert totals == [390, 1_193_250, 1_152_000_000, 660]
    expected = [[m, str(d), grouped(h), grouped(p), str(s)] for m, (d, h, p, s) in Q1_WEIGHTS.items()]
    expected.append(["total", *[str(totals[0]), grouped(totals[1]), grouped(totals[2]), str(totals[3])]])
    assert doc_table("q1-weights") == expected


def test_q1_each_method(riverside):
    for index, method in enumerate(("equal", "hours", "pay", "service")):
        data = riverside.ok("period", "preview", *Q1, "--method", method, json=True).json
        assert data["method"] == method
        got = {a["member"]: a["amount_pence"] for a in data["allocations"]}
        assert got == {m: amounts[index] for m, amounts in Q1_BY_METHOD.items()}, method
        assert sum(got.values()) == 2_240_000
    expected = [[m, *map(pounds, amounts)] for m, amounts in Q1_BY_METHOD.items()]
    expected.append(["total", *[pounds(2_240_000)] * 4])
    assert doc_table("q1-methods") == expected


def test_q1_blend_close_records_the_preview(riverside, db):
    preview = riverside.ok("period", "preview", *Q1, json=True).json
    closed = riverside.ok("period", "close", "2026-Q1", *Q1, as_="mo", json=True).json
    assert closed["label"] == "2026-Q1" and len(closed["fingerprint"]) == 64
    assert closed["allocations"] == preview["allocations"]
    got = {a["member"]: (a["parts_pence"]["equal"], a["parts_pence"]["hours"], a["amount_pence"])
           for a in closed["allocations"]}
    assert got == Q1_BLEND
    assert [s["slice_pence"] for s in closed["slices"]] == [1_120_000, 1_120_000]
    expected = [[m, *map(pounds, row)] for m, row in Q1_BLEND.items()]
    expected.append(["total", pounds(1_120_000), pounds(1_120_000), pounds(2_240_000)])
    assert doc_table("q1-blend") == expected
    listed = riverside.ok("period", "list", json=True).json
    assert listed["reserve_pence"] == 560_000
    assert [p["label"] for p in listed["periods"]] == ["2026-Q1"]


# --- April's deficit, May's recovery -------------------------------------------------------

APRIL = {  # member: (days, hours weight, equal part, hours part, allocation)
    "ann": (30, 112_500, -26_667, -32_029, -58_696),
    "bea": (30, 112_500, -26_667, -32_028, -58_695),
    "cal": (30, 60_000, -26_667, -17_082, -43_749),
    "dan": (15, 24_000, -13_333, -6_833, -20_166),  # left on 2026-04-15
    "mo": (30, 112_500, -26_666, -32_028, -58_694),
}

MAY = {  # member: (allocation, brought forward, payable, carried forward)
    "ann": (162_038, -58_696, 103_342, 0),
    "bea": (162_038, -58_695, 103_343, 0),
    "cal": (121_887, -43_749, 78_138, 0),
    "mo": (162_037, -58_694, 103_343, 0),
}


def close_through_may(swp) -> tuple[dict, dict]:
    swp.ok("period", "close", "2026-Q1", *Q1, as_="mo")
    swp.ok("member", "leave", "dan", "--date", "2026-04-15", as_="dan")
    record(swp, [("income", "6000", "2026-04-20", "contracts"),
                 ("expense", "11600", "2026-04-10", "locum-cover"),
                 ("expense", "2400", "2026-04-01", "rent")])
    april = swp.ok("period", "close", "2026-04", "--start", "2026-04-01", "--end", "2026-04-30",
                   as_="mo", json=True).json
    record(swp, [("income", "10000", "2026-05-12", "contracts"),
                 ("expense", "2400", "2026-05-01", "rent")])
    may = swp.ok("period", "close", "2026-05", "--start", "2026-05-01", "--end", "2026-05-31",
                 as_="mo", json=True).json
    return april, may


def test_april_deficit_is_met_from_the_reserve_then_shared_and_may_sets_it_against_shares(riverside):
    april, may = close_through_may(riverside)
    assert (april["net_pence"], april["reserve_pence"], april["distributable_pence"]) == (-800_000, -560_000, -240_000)
    got = {a["member"]: (a["days"], a["weights"]["hours"], a["parts_pence"]["equal"],
                         a["parts_pence"]["hours"], a["amount_pence"]) for a in april["allocations"]}
    assert got == APRIL
    for a in april["allocations"]:
        assert a["payable_pence"] == 0 and a["carried_out_pence"] == a["amount_pence"]
    expected = [[m, str(d), grouped(h), pounds(e), pounds(hp), pounds(t), pounds(t)]
                for m, (d, h, e, hp, t) in APRIL.items()]
    expected.append(["total", "135", grouped(421_500), pounds(-120_000), pounds(-120_000),
                     pounds(-240_000), pounds(-240_000)])
    assert doc_table("april-deficit") == expected

    assert (may["net_pence"], may["reserve_pence"], may["distributable_pence"]) == (760_000, 152_000, 608_000)
    got = {a["member"]: (a["amount_pence"], a["carried_in_pence"], a["payable_pence"], a["carried_out_pence"])
           for a in may["allocations"]}
    assert got == MAY  # dan has left: no allocation
    expected = [[m, *map(pounds, row)] for m, row in MAY.items()]
    expected.append(["total", *[pounds(sum(row[i] for row in MAY.values())) for i in range(4)]])
    assert doc_table("may-carried") == expected

    ann = riverside.ok("statement", "2026-05", "--member", "ann", as_="mo", json=True).json
    assert ann["amount_pence"] == 162_038 and ann["share_percent"] == 26.65
    assert ann["carried_in_pence"] == -58_696 and ann["payable_pence"] == 103_342
    assert ann["year_to_date_pence"] == -58_696 + 162_038 and ann["year_start"] == "2026-04-01"
    assert "£1,620.38 (26.65% of the pool)" in DOC.read_text()

    # the leaver's unrecovered deficit stays recorded as owed
    dan = riverside.ok("statement", "2026-04", "--member", "dan", as_="mo", json=True).json
    assert dan["carried_out_pence"] == -20_166 and dan["days"] == 15
    text = riverside.ok("statement", "2026-04", "--member", "dan", as_="mo").out
    assert "Deficit carried forward" in text and "-£201.66" in text
    listed = riverside.ok("period", "list", json=True).json
    assert listed["reserve_pence"] == 152_000  # 5,600 in, 5,600 drawn, 1,520 in


def _worked_example_commands() -> list[list[str]]:
    """Every command of the worked example's shell blocks, as a reader would type them."""
    import shlex

    text = DOC.read_text()
    text = text[text.index("## A worked example"):text.index("### A member who leaves")]
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
    return [shlex.split(line, comments=True) for block in blocks for line in block.splitlines()
            if line.strip()]


def test_the_worked_example_runs_as_written(swp):
    """The doc's commands, typed as they stand (a new user's first try), give the doc's
    figures: the same allocations the tests above work out."""
    import os

    from swp.cli import app

    commands = _worked_example_commands()
    assert len(commands) > 20 and commands[0][:3] == ["swp", "init", "--sandbox"]
    env = {"SWP_DB": swp.db}
    for words in commands:
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            env[name] = value
            continue
        assert words[0] == "swp", words
        run = swp.runner.invoke(app, words[1:], env={**os.environ, **env})
        assert run.exit_code == 0, (words, run.stderr)
    allocations = {}
    for label in ("2026-Q1", "2026-04", "2026-05"):
        shown = swp.ok("statement", label, as_="mo", json=True).json["statements"]
        allocations[label] = {s["member"]: s["amount_pence"] for s in shown}
    assert allocations["2026-Q1"] == {m: row[2] for m, row in Q1_BLEND.items()}
    assert allocations["2026-04"] == {m: row[4] for m, row in APRIL.items()}
    assert allocations["2026-05"] == {m: row[0] for m, row in MAY.items()}


def test_doc_commands_are_the_ones_the_tests_run():
    text = DOC.read_text()
    for line in ("swp member update bea --effective 2026-02-01 --hours 37.5",
                 "swp --as dan member leave dan --date 2026-04-15",
                 "swp period close 2026-04 --start 2026-04-01 --end 2026-04-30",
                 "swp period close 2026-05 --start 2026-05-01 --end 2026-05-31",
                 "swp ledger expense 11600 --date 2026-04-10 --category locum-cover"):
        assert line in text
    assert re.search(r"--set sharing.method=equal:50,hours:50", text)
