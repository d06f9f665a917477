"""The function policy: one typed model, with defaults and bounds, for every side.

The CLI's options, the API's models, the operator's checks and the agent's node
defaults are all derived from the fields below, so a limit is written once and both
ends of the wire refuse the same values. Stdlib only (the agent runs on bare nodes,
Python 3.9 and later).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping

PRELOADS = ("none", "runtime", "function")
PLACEMENTS = ("round-robin", "random", "least-loaded", "warm-first", "pinned")
PIN_LIMIT = 64  # node names or labels one function may be pinned to

# Where a field takes effect: sent to the node with each deploy, kept by faasctl to
# choose a node, or a node default only (stem cells are per runtime, not per function).
AGENT, OPERATOR, NODE = "agent", "operator", "node"


class PolicyError(ValueError):
    """A refused policy value; each side turns it into its own error type."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Spec:
    """One policy field as the CLI, the API and the checks see it."""

    kind: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    flag: str = ""  # CLI option name when it is not the field name
    scope: str = AGENT
    name: str = ""

    @property
    def option(self) -> str:
        return "--" + (self.flag or self.name.replace("_", "-"))

    def describe(self) -> str:
        """The help text with the bounds and the default, as CLI and API both show it."""
        if self.choices:
            extra = f"one of {', '.join(self.choices)}; default {self.default}"
        elif self.low is not None:
            extra = f"{self.low:g}..{self.high:g}, default {self.default:g}"
        elif self.kind is bool:
            extra = f"default {'on' if self.default else 'off'}"
        else:
            extra = ""
        return f"{self.help} ({extra})." if extra else f"{self.help}."


def _f(kind: type, default: Any, help: str, **more: Any) -> Any:
    return field(default=default, metadata={"spec": Spec(kind, default, help, **more)})


@dataclass(frozen=True)
class Policy:
    """A function's policy with every field set; `parse` checks what callers give."""

    preload: str = _f(str, "function", "none: a fresh container per call; runtime: the first call takes a "
                      "started stem cell of the runtime; function: containers kept warm", choices=PRELOADS)
    min_warm: int = _f(int, 0, "Containers kept warm even with no traffic, for preload function", low=0, high=64)
    max_concurrency: int = _f(int, 8, "Most containers this function may use per node", low=1, high=1024)
    queue_limit: int = _f(int, 64, "Calls that may wait for a container before 'busy'", low=0, high=100_000)
    idle_timeout: float = _f(float, 300.0, "Seconds an idle warm container is kept", low=1, high=86_400)
    timeout: float = _f(float, 30.0, "Seconds a call may run before it ends as TIMEOUT", low=0.1, high=3_600)
    memory_mb: int = _f(int, 256, "Memory limit per container in MiB, swap off", low=16, high=65_536,
                        flag="memory")
    cpus: float = _f(float, 1.0, "CPU limit per container", low=0.05, high=64)
    pids: int = _f(int, 128, "Process limit per container", low=16, high=65_536)
    network: bool = _f(bool, False, "Give the function a network")
    stem_cells: int = _f(int, 2, "Stem cells kept per runtime on a node, for preload runtime", low=0, high=32,
                         scope=NODE)
    placement: str = _f(str, "round-robin", "How a call's node is chosen", choices=PLACEMENTS, scope=OPERATOR)
    pin: tuple[str, ...] = _f(list, (), "Node name or KEY=VALUE label to place on (repeatable)", scope=OPERATOR)

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Policy:
        """The defaults overlaid with the checked values of `raw`."""
        clean = parse(raw)
        if "pin" in clean:
            clean["pin"] = tuple(clean["pin"])
        return cls(**clean)

    def subset(self, scopes: tuple[str, ...]) -> dict[str, Any]:
        return {name: getattr(self, name) for name, spec in SPECS.items() if spec.scope in scopes}


SPECS: dict[str, Spec] = {f.name: replace(f.metadata["spec"], name=f.name) for f in fields(Policy)}
FUNCTION_KEYS = tuple(n for n, s in SPECS.items() if s.scope != NODE)  # what a function may set
AGENT_KEYS = tuple(n for n, s in SPECS.items() if s.scope in (AGENT, NODE))  # what a deploy sends
NODE_DEFAULTS: dict[str, Any] = Policy().subset((AGENT, NODE))  # an agent's defaults unless configured


def parse(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The given fields checked and converted; None means "not given" and is dropped."""
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        spec = SPECS.get(key)
        if spec is None:
            raise PolicyError(f"unknown policy option {key!r}", f"known: {', '.join(SPECS)}")
        clean[key] = _check(spec, value)
    return clean


def _check(spec: Spec, value: Any) -> Any:
    if spec.choices:
        if value not in spec.choices:
            raise PolicyError(f"{spec.name} {value!r} is not one of {', '.join(spec.choices)}")
        return value
    if spec.kind is bool:
        return _flag(spec, value)
    if spec.kind is list:
        if isinstance(value, str) or not isinstance(value, (list, tuple)) or len(value) > PIN_LIMIT:
            raise PolicyError(f"{spec.name} must be a list of at most {PIN_LIMIT} node names or labels")
        if not all(isinstance(v, str) and v for v in value):
            raise PolicyError(f"{spec.name} holds an empty or non-text entry", "give node names or KEY=VALUE")
        return list(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PolicyError(f"{spec.option} {value!r} is not a number") from None
    if math.isnan(number) or not spec.low <= number <= spec.high:  # type: ignore[operator]
        raise PolicyError(f"{spec.option} {value} is outside {spec.low:g}..{spec.high:g}")
    if spec.kind is int:
        if not number.is_integer():
            raise PolicyError(f"{spec.option} {value} is not a whole number")
        return int(number)
    return number


def _flag(spec: Spec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    words = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
    if isinstance(value, (int, str)) and str(value).lower() in words:
        return words[str(value).lower()]
    raise PolicyError(f"{spec.option} {value!r} is not true or false")
