"""Handler-mode example with a third-party requirement (humanize, shipped as a wheel).

The runner imports this module once per warm container and calls handle() per call.
"""

import humanize


def handle(params):
    size = int((params or {}).get("bytes", 0))
    return {"bytes": size, "human": humanize.naturalsize(size, binary=True)}
