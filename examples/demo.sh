#!/usr/bin/env bash
# The sample practice: Riverside Social Work Practice, founded, staffed, its books kept,
# a period closed and every member's profit-share statement printed (text on the screen, PDF and
# HTML files under examples/out/statements/), an AGM called, held and minuted, the registers.
# Run by `make demo`; everything is written under examples/out/ (recreated each run).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/out"
rm -rf "$out" && mkdir -p "$out"
export SWP_DB="$out/riverside.db"
export SWP_TODAY=2026-04-30   # the sample's "today", so the demo prints the same every time
export SWP_HOME="$out/home"   # swp's configuration folder (keys, remembered audit heads) for the demo
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

# A sandbox: SWP_TODAY works there, and it makes its members' signing keys itself (from the
# --seed text, so every run gives the same keys, audit log, fingerprints and statements).
say swp init --sandbox --seed riverside-demo "Riverside Social Work Practice" --local-authority "Leeds City Council" \
    --set sharing.method=equal:50,hours:50
# Founding: practitioners first (they must always be more than half of the members).
say swp member add ann --name "Ann Achebe" --role practitioner --employed-since 2024-04-01 --hours 37.5 --pay 41000 --registration SW100001
say swp member add bea --name "Bea Brown" --role practitioner --employed-since 2024-04-01 --hours 30 --pay 33000 --registration SW100002
say swp member add cal --name "Cal Chen" --role practitioner --employed-since 2025-09-01 --hours 22.5 --pay 24000 --registration SW100003
say swp member add mo --name "Mo Malik" --role manager --employed-since 2024-04-01 --hours 37.5 --pay 36000
export SWP_AS=mo   # from now on the business manager acts
say swp member add sam --name "Sam Singh" --role staff --employed-since 2025-06-01 --hours 16 --pay 12500
say swp member update bea --effective 2025-10-01 --hours 37.5
say swp member list
say swp practice show
echo
echo "The takeover guard at work (each is refused with exit 3 and written to the audit log):"
say swp member add acme --name "Acme Care Ltd" --role practitioner --employed-since 2025-01-01 --hours 37.5 || true
say swp member transfer ann --to "Acme Care Ltd" || true
say swp member leave cal --date 2026-04-30 || true   # the manager cannot end a membership alone

echo
echo "The books: a year of bank lines imported from a CSV (the whole file or nothing)."
say swp ledger import "$here/riverside-ledger.csv"
say swp ledger balance --from 2025-04-01 --to 2026-03-31
echo
echo "Sharing the year 2025-26 by the constitution's method (equal:50,hours:50):"
say swp period preview 2025-26   # the financial year by its name: 1 April 2025 to 31 March 2026
say swp period close 2025-26 --yes
say swp period list
say swp statement 2025-26 --member cal
say swp statement 2025-26 --format pdf --output "$out/statements"
say swp statement 2025-26 --format html --output "$out/statements"
echo
echo "The period is locked: an entry dated inside it is refused (exit 1); corrections go into an open period."
say swp ledger income 100 --date 2026-03-31 --category contracts || true
echo
echo "The new year's work: a contract with the practice's own authority, part paid by outcomes."
say swp contract add LCC-2026-01 --authority "Leeds City Council" --value 240000 --start 2026-04-01 --end 2027-03-31 --outcome-percent 10 --description "Support for children in care"
say swp contract invoice LCC-2026-01 18000 --date 2026-04-30
say swp contract add BRAD-1 --authority "Bradford Council" --value 50000 --start 2026-04-01 --end 2027-03-31 || true
say swp contract list
echo
echo "The members govern: a proposal to keep more in the reserve, voted on one member one vote."
say swp --as ann proposal new --title "Keep 25% in the reserve" --kind ordinary --amend sharing.reserve-percent=25
for who in ann bea cal mo; do say swp --as "$who" vote 1 yes; done
say swp --as sam vote 1 no
say swp --as ann proposal close 1
say swp --as ann proposal new --title "Sell a stake to Acme" --kind special --merge-with "Acme Care Ltd" --partner-kind company || true
say swp shares issue --class A --to "Acme Care Ltd" || true
echo
echo "A general meeting: called with 14 clear days' notice, held on its day, decided and minuted."
say swp --as ann proposal new --title "Room to grow" --kind special --amend membership.max-members=60
say swp meeting call --kind agm --date 2026-05-14 --place "Riverside office" || true   # 13 clear days: refused
say swp meeting call --kind agm --date 2026-05-15 --place "Riverside office" --online https://meet.example.org/agm
say swp meeting notice 1 --format pdf --output "$out/notice-1.pdf"
say env SWP_TODAY=2026-05-15 swp meeting open 1 --present ann,bea,mo --online cal
for who in ann bea cal mo; do say env SWP_TODAY=2026-05-15 swp --as "$who" meeting vote 1 2 yes; done
say env SWP_TODAY=2026-05-15 swp meeting close 1 --reason 2="two more teams want to join"
say swp meeting minutes 1
echo
echo "The registers the law asks for, and what is due when."
say swp member update ann --address "12 Water Lane, Leeds LS11 5QN" --email ann@example.org --email-purposes notices,statements
say swp register members --format pdf --output "$out/register-of-members.pdf"
say swp register officers
say swp calendar
echo
say swp check
say swp audit verify
