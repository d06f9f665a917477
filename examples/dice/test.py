"""The seed platform's example: roll dice given as {"roll": "4d6"}; prints a JSON list."""

import json
import random
import re
import sys

params = json.load(sys.stdin) or {}
match = re.fullmatch(r"(\d{1,3})d(\d{1,4})", str(params.get("roll", "1d6")))
if not match:
    print(f"roll must look like 4d6, got {params.get('roll')!r}", file=sys.stderr)
    sys.exit(2)
count, sides = int(match.group(1)), int(match.group(2))
print(json.dumps([random.randint(1, sides) for _ in range(count)], separators=(",", ":")))
