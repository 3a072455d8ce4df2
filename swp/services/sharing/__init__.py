"""Profit and expense sharing, in three modules: `workout` (working a period out, changing
nothing), `closing` (closing a period, the closed periods and their fingerprints) and
`statements` (each member's statement of a closed period)."""
