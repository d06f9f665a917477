"""Names checked against one allow-list, on both sides of the wire.

Function, runtime and node names end up in Docker labels, volume names, file paths,
URLs and the /metrics text format; one pattern that is safe in all of them means no
escaping anywhere downstream. The patterns must match the whole string (`fullmatch`):
with `match`, `$` also matches before a final newline, so "dice\n" would pass.
"""

from __future__ import annotations

import re

NAME_MAX = 63
NAME_PATTERN = f"[a-z0-9][a-z0-9_-]{{0,{NAME_MAX - 1}}}"  # also the API's schema pattern (anchored there)
NAME_RE = re.compile(NAME_PATTERN, re.ASCII)
NAME_RULE = "1-63 characters: lowercase letters, digits, '-' and '_', starting with a letter or digit"
DIGEST_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)


def valid_name(name: object) -> bool:
    return isinstance(name, str) and NAME_RE.fullmatch(name) is not None


def valid_digest(digest: object) -> bool:
    return isinstance(digest, str) and DIGEST_RE.fullmatch(digest) is not None
