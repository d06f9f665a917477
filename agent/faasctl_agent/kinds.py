"""Function kinds: which platform's calling contract a handler follows.

Part of the wire contract faasctl shares with its agents (like `policy` and `names`):
the CLI, the API and the agent accept the same kinds and check a handler the same way.
The in-container side (runner/faasctl_kinds.py) cannot import this (it runs on the
standard library alone, in any image) and keeps its own table of the same names.
"""

from __future__ import annotations

import re

COMMAND, NATIVE = "command", "native"
KINDS = (COMMAND, NATIVE, "lambda", "openwhisk", "openfaas", "openfaas-http")
# Kinds whose functions see an HTTP request in their own shape and answer with a status.
HTTP_KINDS = ("lambda", "openfaas-http")
# The entry point each platform assumes when none is named (AWS's console default,
# OpenWhisk's `main`, the OpenFaaS python templates' handler.py).
DEFAULT_HANDLER = {"lambda": "lambda_function.lambda_handler", "openwhisk": "main",
                   "openfaas": "handler.handle", "openfaas-http": "handler.handle"}
_DOTTED = re.compile(r"^([A-Za-z0-9_.-]+/)*[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_IDENT = re.compile(r"^[A-Za-z_]\w*$")
_FORMS = {NATIVE: "MODULE:FUNCTION, like main:handle", "lambda": "MODULE.FUNCTION, like lambda_function.lambda_handler",
          "openwhisk": "a function name, like main", "openfaas": "MODULE.FUNCTION, like handler.handle",
          "openfaas-http": "MODULE.FUNCTION, like handler.handle"}


class KindError(ValueError):
    """A refused kind or handler; each side turns it into its own error type."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def resolve(kind: str | None, handler: str, runtime_handler: str = "", runtime_run: str = "") -> tuple[str, str]:
    """The kind and handler a deploy means, checked: no kind is today's rule (a handler
    makes it native, else the runtime's run command is command mode)."""
    if not kind:
        kind = NATIVE if handler or runtime_handler else COMMAND
    if kind not in KINDS:
        raise KindError(f"kind {kind!r} is not one of {', '.join(KINDS)}",
                        "see docs/functions.md for what each kind expects")
    if kind == COMMAND:
        if handler:
            raise KindError("command mode takes no --handler",
                            "leave out --handler, or pick a handler kind with --kind")
        if not runtime_run:
            raise KindError("the runtime has no run command for command mode", "pass --handler MODULE:FUNCTION")
        return kind, ""
    handler = handler or (runtime_handler if kind == NATIVE else DEFAULT_HANDLER[kind])
    if not handler:
        raise KindError("kind native needs --handler MODULE:FUNCTION", "write it like main:handle")
    pattern = _IDENT if kind == "openwhisk" else _DOTTED
    good = ":" in handler and all(handler.partition(":")[::2]) if kind == NATIVE else bool(pattern.match(handler))
    if not good:
        raise KindError(f"handler {handler!r} does not fit kind {kind}", f"write it as {_FORMS[kind]}")
    return kind, handler
