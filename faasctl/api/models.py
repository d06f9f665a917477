"""Typed request and response bodies of the API; they are what /openapi.json documents.

Response models list the fields the core returns, so a change in the core that drops
or renames one fails schemathesis' conformance check instead of silently changing
what clients see. Field names follow the seed (camelCase) where the seed named them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Optional

from faasctl_agent import protocol
from faasctl_agent.names import NAME_MAX, NAME_PATTERN
from faasctl_agent.policy import FUNCTION_KEYS, SPECS, Spec
from pydantic import BaseModel, ConfigDict, Field, create_model

# Literal over the protocol's and the policy model's names (one tuple each, no copy here).
CallStatus = Literal[protocol.STATUSES]  # type: ignore[valid-type]


class ErrorBody(BaseModel):
    """Every 4xx/5xx: what went wrong and what to do about it."""

    error: str
    hint: str = ""
    detail: list[Any] | None = None


# -- the seed's objects ------------------------------------------------------------


class SeedRuntime(BaseModel):
    """The seed's runtime object; unknown extra fields are ignored, as the seed did."""

    image: str = Field(min_length=1, max_length=255, examples=["pythonruntime"])
    path: str = Field("/ws", max_length=4096)
    dependencies: str = Field("", max_length=4096, examples=["pip3 install -r requirements.txt"])
    run: str = Field("", max_length=4096, examples=["python3 test.py"])


class SeedInvocation(BaseModel):
    funcName: str = Field(max_length=NAME_MAX, examples=["dice"])
    params: Any = Field(default_factory=dict, examples=[{"roll": "4d6"}])


class SeedRuntimeAck(SeedRuntime):
    """registerRuntime's answer: the runtime as registered, with the name it got."""

    name: str


class SeedFunctionAck(BaseModel):
    """registerFunction's answer, with the seed's function field names."""

    functionName: str
    runtimeName: str
    filename: str
    size: int
    version: int
    changed: bool


class SeedCall(BaseModel):
    """Exactly the seed's five fields, in the seed's order."""

    funcName: str
    params: Any = None
    callNum: int
    status: str
    result: str


# -- /v1 -----------------------------------------------------------------------------


class NodeOut(BaseModel):
    name: str
    kind: str
    host: str
    labels: dict[str, str]
    agent_version: str
    up: bool
    error: str = ""
    running: int | None = None
    cpus: int | None = None
    warm: dict[str, int] = Field(default_factory=dict)
    suspect: bool = False  # marked down: placement skips it until next_probe_at
    down_since: float | None = None
    last_error: str = ""
    next_probe_at: float | None = None
    stem_cells: dict[str, int] = Field(default_factory=dict, description="idle stem cells per runtime (when up)")
    drained: bool = Field(False, description="placement gives it no new calls; its running calls finish")
    drained_since: float | None = None
    out_of_date: list[dict[str, Any]] = Field(default_factory=list, description="functions whose current "
                                              "version there is not the state's: {function, has, wants}")


class RuntimeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=NAME_MAX, pattern=f"^{NAME_PATTERN}$", examples=["py312"])
    image: str = Field(min_length=1, max_length=255, examples=["faasctl/rt-python:latest"])
    path: str = Field("/ws", max_length=4096)
    dependencies: str = Field("", max_length=4096)
    run: str = Field("", max_length=4096)
    handler: str = Field("", max_length=255)


class RuntimeOut(BaseModel):
    name: str
    image: str
    path: str
    dependencies: str
    run: str
    handler: str
    created_at: float
    stem_cells: int | None = None


class FunctionOut(BaseModel):
    name: str
    runtime_name: str
    version: int
    digest: str
    mode: str
    handler: str
    kind: str = Field("command", description="calling contract: command, native, lambda, openwhisk, openfaas, "
                      "openfaas-http (docs/functions.md)")
    policy: dict[str, Any]
    placement: str
    pinned: list[str]
    created_at: float
    updated_at: float
    nodes: list[str] = Field(default_factory=list)
    calls: int | None = None
    errors: int | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    warm: dict[str, int] | None = Field(None, description="warm containers per node (with ?live=true)")
    changed: bool | None = None


def policy_field(spec: Spec) -> tuple[Any, Any]:
    """One policy field as an optional API field: its type, choices and help from the model.

    Bounds are in the description and checked by the core (400), as for the CLI."""
    kind: Any = Literal[spec.choices] if spec.choices else list[str] if spec.kind is list else spec.kind
    return Optional[kind], Field(None, description=spec.describe())


if TYPE_CHECKING:  # built from the model at run time; mypy sees a plain model
    PolicyIn = BaseModel
else:
    PolicyIn = create_model(
        "PolicyIn", __config__=ConfigDict(extra="forbid"),
        __doc__="Options to change; those left out keep their value. `pin: []` unpins.",
        **{key: policy_field(SPECS[key]) for key in FUNCTION_KEYS})


class InvocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: Any = Field(default_factory=dict, examples=[{"roll": "4d6"}])
    node: str = Field("", max_length=NAME_MAX, description="Run on this node instead of the placement policy's pick.")


class CallOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    funcName: str
    params: Any = None
    callNum: int
    status: str
    result: str
    error: str
    node: str
    startKind: str
    queueMs: float | None = None
    startMs: float | None = None
    runMs: float | None = None
    version: int | None = None
    alias: str = Field("", description="the alias it was called through (`live` for a plain call when set)")
    is_async: bool = Field(False, alias="async")
    createdAt: float | None = None
    finishedAt: float | None = None


class VersionOut(BaseModel):
    version: int
    digest: str
    created_at: float
    runtime: str
    kind: str
    handler: str
    policy: dict[str, Any]
    env: list[str] = Field(description="names only")
    secrets: list[str]
    calls: int
    errors: int
    current: bool
    aliases: list[str]
    nodes: list[str] = Field(description="nodes holding it loaded")


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: int | None = Field(None, ge=1, le=2**31, description="the version (default: the one before the current)")


class RollbackOut(BaseModel):
    function: str
    version: int
    changed: bool
    nodes: dict[str, Any] = Field(default_factory=dict, description="per node: {reused: warm pool reused}")
    failed: dict[str, str] = Field(default_factory=dict, description="nodes left out of date, with why")


class AliasIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**31)
    weights: dict[str, float] = Field(default_factory=dict, examples=[{"3": 0.1}],
                                      description="at most one other version and its share of calls (0..1)")


class AliasOut(BaseModel):
    alias: str
    version: int
    canary_version: int | None = None
    canary_weight: float = 0.0


class LogsOut(BaseModel):
    callNum: int
    log: str
