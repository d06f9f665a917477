"""The operator's CURVE key pair, in FAASCTL_HOME/keys/operator.json (0600), not in state.db.

The state file is read by many tools and copied into backups and bug reports; the secret
key lets whoever holds it run calls on every node, so it lives alone in a private file.
A pair is written once and atomically (a hard link that fails if another process won the
race), so two processes that start at once end up with the same keys. Older state files
kept the pair in an `identity` table: the first use moves it here and erases it there
(secure_delete, then a checkpoint that truncates the WAL, so no copy stays on disk).
Plain sqlite3 and json only: `faasctl invoke` reads this on its fast path.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path

from ..config import PRIVATE_FILE, private_dir, private_file
from ..errors import StateError

FILE = "operator.json"
LEGACY_TABLE = "identity"


def read(keys_dir: Path) -> dict[str, str] | None:
    try:
        data = json.loads((keys_dir / FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read the operator keys {keys_dir / FILE}: {exc}",
                         "restore the file from a backup, or move it away to make a new pair "
                         "(nodes then need `faasctl node add` again)") from exc
    return {"public": str(data["public"]), "secret": str(data["secret"])}


_SEEN: dict[str, tuple[tuple[int, int, int], dict[str, str]]] = {}


def read_cached(keys_dir: Path) -> dict[str, str] | None:
    """`read`, once per version of the file: `invoke` needs the pair on every call, and a
    stat costs a tenth of opening and parsing it. The pair is written once (`store` links
    a new file, never rewrites one), so inode, size and mtime name a version."""
    path = str(keys_dir / FILE)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError:
        return read(keys_dir)  # says what is wrong
    version = (st.st_ino, st.st_size, st.st_mtime_ns)
    seen = _SEEN.get(path)
    if seen is not None and seen[0] == version:
        return dict(seen[1])
    keys = read(keys_dir)
    if keys is None:
        return None
    _SEEN[path] = (version, keys)
    return dict(keys)


def store(keys_dir: Path, keys: dict[str, str]) -> dict[str, str]:
    """Write the pair unless one exists; return the pair on disk (ours or the winner's)."""
    private_dir(keys_dir)
    final = keys_dir / FILE
    tmp = keys_dir / f".{FILE}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump({"public": keys["public"], "secret": keys["secret"]}, out)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, final)  # fails if the file exists: the first writer wins
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(keys_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    private_file(final)
    stored = read(keys_dir)
    assert stored is not None
    return stored


def migrate(conn: sqlite3.Connection, keys_dir: Path) -> dict[str, str] | None:
    """Move a pair an older faasctl kept in state.db into the key file; None if there is none."""
    try:
        row = conn.execute(f"SELECT public, secret FROM {LEGACY_TABLE} WHERE name='operator'").fetchone()
    except sqlite3.OperationalError:  # no such table: a state file made by this faasctl
        return None
    if row is None:
        return None
    keys = store(keys_dir, {"public": row[0], "secret": row[1]})
    try:
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (LEGACY_TABLE,)).fetchone():
            conn.execute(f"DELETE FROM {LEGACY_TABLE}")  # another process may have moved it meanwhile
            conn.execute(f"DROP TABLE {LEGACY_TABLE}")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StateError(f"moved the operator keys to {keys_dir / FILE} but could not erase them from "
                         f"the state file: {exc}", "run the command again") from exc
    return keys


def operator_keys(keys_dir: Path, state_path: Path) -> dict[str, str]:
    """The pair: from the key file, else moved out of an old state file, else a new one."""
    keys = read(keys_dir)
    if keys is not None:
        return keys
    if state_path.exists():
        conn = sqlite3.connect(str(state_path), timeout=30, isolation_level=None)
        try:
            keys = migrate(conn, keys_dir)
        finally:
            conn.close()
        if keys is not None:
            return keys
    import zmq

    public, secret = zmq.curve_keypair()
    return store(keys_dir, {"public": public.decode(), "secret": secret.decode()})
