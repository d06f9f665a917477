"""Names checked against one allow-list, on both sides of the wire.

Function, runtime and node names end up in Docker labels, volume names, file paths and
URLs; one pattern that is safe in all of them means no escaping anywhere downstream.
"""

from __future__ import annotations

import re

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62})$")
NAME_RULE = "1-63 characters: lowercase letters, digits, '-' and '_', starting with a letter or digit"
DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")


def valid_name(name: object) -> bool:
    return isinstance(name, str) and bool(NAME_RE.match(name))


def valid_digest(digest: object) -> bool:
    return isinstance(digest, str) and bool(DIGEST_RE.match(digest))
