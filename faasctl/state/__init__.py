"""The operator's whole state: one SQLite file.

`models` and `db` (sqlmodel) serve the commands that change state; `fastpath` serves
`invoke` and `reads` the read-only commands, both plain sqlite3 over the same tables,
because those commands must start fast and importing sqlmodel costs about 400 ms here.
The readers' column lists (`schema`) are generated from `models` (`schemagen`); tests
check that they match and that both views agree.
"""
