"""The languages a function's image may speak, each with its in-container runner.

Nothing assumes python3 in a function's image: the runtime names its runner
(runtime.toml `runner`, carried to the agent in every deploy), the runner volume holds
every runner, and the container starts the one its runtime named. A runtime that names
none is Python, as every runtime was before there was a choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from .protocol import E_BAD_REQUEST, AgentFailure

RUNNER_DIR = "/opt/faasctl"
DEFAULT = "python"


@dataclass(frozen=True)
class Language:
    name: str
    command: tuple[str, ...]  # starts the runner inside the function's container


LANGUAGES = {
    "python": Language("python", ("python3", "-u", f"{RUNNER_DIR}/runner.py")),
    "node": Language("node", ("node", f"{RUNNER_DIR}/runner.js")),
}


def language(name: object) -> Language:
    """The language a runtime names; an unknown name is refused with the known ones."""
    found = LANGUAGES.get(str(name or DEFAULT))
    if found is None:
        raise AgentFailure(E_BAD_REQUEST, f"runner {name!r} is not one this agent has",
                           f"a runtime's runner is one of: {', '.join(sorted(LANGUAGES))} (runtime.toml `runner`)")
    return found
