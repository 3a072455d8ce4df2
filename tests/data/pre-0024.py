"""How tests/data/pre-0024.db and pre-0024-lost.db were made: by the swp of schema 0023, which
counted a former member's deficit settlements in a close by their date (this file is not run
by the tests; run it from a checkout of that swp, with its tests/ beside it:
`python pre-0024.py OUT_FOLDER`).

pre-0024.db: the lived-in practice of tests/conftest.py; a loss-making second quarter that sam
(left on 30 June) and ann carry deficits out of; ann leaves on 5 July and the third quarter
makes a surplus; sam settles £10 on 10 July, and a resolution to write off sam's deficit has
every current member's vote but is not closed; ann settles £5,000 on 1 October, and the third
quarter is closed on 2 October (it counted by date, so her payment came off what it carries
out, not what it brings in: she still owed more than her share); the fourth quarter is closed
on its last day, 31 December.

pre-0024-lost.db: the same to 5 July; then ann settles all she owes on 1 October, and the third
quarter is closed on 2 October by a still earlier swp, which did not refuse that close: her
share of it was set against the deficit she had paid, and lost.
"""

import os
import sys
import tempfile

os.environ["SWP_HOME"] = tempfile.mkdtemp(prefix="swp-home-")
for name in ("SWP_DB", "SWP_AS"):
    os.environ.pop(name, None)


def make(path: str, *, lost: bool) -> None:
    from tests.conftest import TODAY, Swp, live_a_little, query

    os.environ["SWP_TODAY"] = TODAY
    swp = live_a_little(Swp(path))
    swp.ok("ledger", "expense", "90000", "--date", "2026-05-01", "--category", "salaries", as_="mo")
    swp.ok("period", "close", "2026-q2", "--start", "2026-04-01", "--end", "2026-06-30", as_="mo")
    os.environ["SWP_TODAY"] = "2026-07-10"
    swp.ok("member", "leave", "ann", "--date", "2026-07-05", as_="ann")
    swp.ok("ledger", "income", "200000", "--date", "2026-07-09", "--category", "contracts", as_="mo")
    q3 = ("period", "close", "2026-q3", "--start", "2026-07-01", "--end", "2026-09-30")
    if lost:
        owed = -query(path, "SELECT a.carried_out_pence FROM allocation a JOIN member m ON m.id = "
                            "a.member_id JOIN period p ON p.id = a.period_id WHERE m.handle = 'ann' "
                            "AND p.label = '2026-q2'")[0][0]
        os.environ["SWP_TODAY"] = "2026-10-01"
        swp.ok("member", "settle", "ann", f"{owed // 100}.{owed % 100:02d}", "--date", "2026-10-01", as_="mo")
        os.environ["SWP_TODAY"] = "2026-10-02"
        import swp.services.sharing.closing as closing

        closing.settled_after_problem = lambda *args: None  # as a still earlier swp did
        swp.ok(*q3, as_="mo")
        return
    swp.ok("member", "settle", "sam", "10", "--date", "2026-07-10", as_="mo")
    made = swp.ok("proposal", "new", "--title", "Forgive Sam", "--kind", "ordinary", "--write-off", "sam",
                  as_="mo", json=True).json["id"]
    for handle in ("bea", "cal", "mo"):
        swp.ok("vote", str(made), "yes", as_=handle)
    os.environ["SWP_TODAY"] = "2026-10-02"
    swp.ok("member", "settle", "ann", "5000", "--date", "2026-10-01", as_="mo")
    swp.ok(*q3, as_="mo")
    swp.ok("ledger", "income", "1000", "--date", "2026-11-01", "--category", "grants", as_="mo")
    os.environ["SWP_TODAY"] = "2026-12-31"
    swp.ok("period", "close", "2026-q4", "--start", "2026-10-01", "--end", "2026-12-31", as_="mo")


if __name__ == "__main__":
    out = sys.argv[1]
    make(os.path.join(out, "pre-0024.db"), lost=False)
    make(os.path.join(out, "pre-0024-lost.db"), lost=True)
