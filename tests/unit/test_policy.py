"""The one function-policy model and what is derived from it: checks, CLI options, API fields."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from faasctl_agent import policy
from faasctl_agent.config import AgentConfig
from faasctl_agent.protocol import AgentFailure

from faasctl.core.policy import check, with_options
from faasctl.errors import InvalidInput


def test_defaults_and_scopes() -> None:
    assert policy.Policy() == policy.Policy.of({})
    assert policy.NODE_DEFAULTS == {
        "preload": "function", "min_warm": 0, "max_concurrency": 8, "queue_limit": 64, "idle_timeout": 300.0,
        "timeout": 30.0, "memory_mb": 256, "cpus": 1.0, "pids": 128, "network": False, "stem_cells": 2}
    assert set(policy.FUNCTION_KEYS) == set(policy.SPECS) - {"stem_cells"}
    assert {"placement", "pin"}.isdisjoint(policy.AGENT_KEYS)  # kept by faasctl, never sent to a node


def test_values_are_converted_and_unset_ones_dropped() -> None:
    assert policy.parse({"timeout": "2", "preload": "none", "cpus": None, "min_warm": "3", "network": "false",
                         "pin": ("n1", "zone=a")}) == {
        "timeout": 2.0, "preload": "none", "min_warm": 3, "network": False, "pin": ["n1", "zone=a"]}
    typed = policy.Policy.of({"memory_mb": 64.0, "pin": ["n1"]})
    assert (typed.memory_mb, type(typed.memory_mb), typed.pin) == (64, int, ("n1",))


@pytest.mark.parametrize("raw,reason", [
    ({"preload": "always"}, "preload 'always' is not one of none, runtime, function"),
    ({"placement": "nearest"}, "is not one of round-robin"),
    ({"max_concurrency": 0}, "--max-concurrency 0 is outside 1..1024"),
    ({"memory_mb": 10}, "--memory 10 is outside 16..65536"),  # named by the CLI's flag
    ({"timeout": math.nan}, "outside"),
    ({"timeout": "soon"}, "not a number"),
    ({"min_warm": 1.5}, "not a whole number"),
    ({"network": "maybe"}, "not true or false"),
    ({"pin": "n1"}, "must be a list"),
    ({"pin": ["n1", ""]}, "empty"),
    ({"pin": ["n"] * (policy.PIN_LIMIT + 1)}, "at most"),
    ({"colour": "blue"}, "unknown policy option 'colour'"),
])
def test_refused_values_are_named(raw: dict[str, Any], reason: str) -> None:
    with pytest.raises(policy.PolicyError, match=reason):
        policy.parse(raw)
    with pytest.raises(InvalidInput, match=reason):  # this side's error, with an exit code
        check(raw)


def test_every_bound_is_inclusive_and_the_default_lies_within() -> None:
    for spec in policy.SPECS.values():
        if spec.low is None:
            continue
        assert spec.low <= spec.default <= spec.high, spec.name  # type: ignore[operator]
        assert policy.parse({spec.name: spec.low}) == {spec.name: spec.low}
        assert policy.parse({spec.name: spec.high}) == {spec.name: spec.high}
        assert f"{spec.low:g}..{spec.high:g}" in spec.describe()


def test_the_model_is_stdlib_only() -> None:
    """The agent installs on bare nodes: its model may import nothing beyond the stdlib."""
    tree = ast.parse(Path(policy.__file__).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_cli_options_come_from_the_model() -> None:
    import typer.main

    from faasctl.cli import fn

    command = typer.main.get_command(fn.app).commands["deploy"]  # type: ignore[attr-defined]
    options = {p.name: p for p in command.params}
    for key in policy.FUNCTION_KEYS:
        spec = policy.SPECS[key]
        assert options[key].help == spec.describe(), key
        assert spec.option in options[key].opts, key
    assert "--no-network" in options["network"].secondary_opts
    assert "--memory" in options["memory_mb"].opts


def test_api_fields_come_from_the_model() -> None:
    from fastapi import FastAPI

    from faasctl.api import v1
    from faasctl.api.models import PolicyIn

    schema = PolicyIn.model_json_schema()
    assert list(schema["properties"]) == list(policy.FUNCTION_KEYS)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["preload"]["anyOf"][0]["enum"] == list(policy.PRELOADS)
    app = FastAPI()
    app.include_router(v1.router)
    doc = app.openapi()
    form_ref = doc["paths"]["/v1/functions/{name}"]["put"]["requestBody"]["content"]["multipart/form-data"]
    form = doc["components"]["schemas"][form_ref["schema"]["$ref"].rsplit("/", 1)[-1]]["properties"]
    for key in policy.FUNCTION_KEYS:
        assert form[key]["description"] == policy.SPECS[key].describe(), key
    assert form["placement"]["anyOf"][0]["enum"] == list(policy.PLACEMENTS)


def test_with_options_collects_the_fields_into_one_dict() -> None:
    def make(spec: policy.Spec) -> tuple[Any, Any]:
        return spec.kind, None

    @with_options(make, keys=("timeout", "pin"))
    def sync(name: str, policy: dict[str, Any] | None = None) -> tuple[str, Any]:
        return name, policy

    @with_options(make, keys=("cpus",))
    async def later(name: str, policy: dict[str, Any] | None = None) -> tuple[str, Any]:
        return name, policy

    assert list(inspect.signature(sync).parameters) == ["name", "timeout", "pin"]
    assert sync(name="f", timeout=2, pin=None) == ("f", {"timeout": 2, "pin": None})
    assert inspect.iscoroutinefunction(later)
    assert asyncio.run(later(name="g", cpus=0.5)) == ("g", {"cpus": 0.5})


def _home(tmp_path: Path, defaults: dict[str, Any]) -> Path:
    (tmp_path / "agent.json").write_text(json.dumps({"name": "n1", "defaults": defaults}))
    return tmp_path


def test_agent_defaults_are_checked_through_the_model(tmp_path: Path) -> None:
    config = AgentConfig.load(_home(tmp_path, {"preload": "runtime", "stem_cells": "4"}))
    assert config.defaults == {**policy.NODE_DEFAULTS, "preload": "runtime", "stem_cells": 4}
    with pytest.raises(AgentFailure, match="agent.json defaults: --pids 1 is outside"):
        AgentConfig.load(_home(tmp_path, {"pids": 1}))
