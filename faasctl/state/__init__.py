"""The operator's whole state: one SQLite file.

`models` and `db` (sqlmodel) serve every command but one; `fastpath` (plain sqlite3
over the same tables) serves `invoke`, which must start in well under 150 ms and so
cannot import sqlmodel (about 400 ms here). A test checks that both agree.
"""
