"""`fn deploy` of Node.js functions (issue 13): the handler in its platform's form, the runner the agent echoes."""

from __future__ import annotations

import pytest

from faasctl.core.functions import check_kind, check_runner_echo
from faasctl.core.runtimes import check_runner
from faasctl.errors import AgentError, InvalidInput

NODE = {"name": "node", "runner": "node", "handler": "", "run": "node index.js"}


def test_lambda_takes_lambdas_form_with_its_default() -> None:
    assert check_kind("lambda", "", NODE) == ("lambda", "index.handler")
    assert check_kind("lambda", "src/app.main", NODE) == ("lambda", "src/app.main")
    assert check_kind("native", "index:handle", NODE) == ("native", "index:handle")
    assert check_kind("", "", NODE) == ("command", "") and check_kind("", "index:handle", NODE)[0] == "native"


@pytest.mark.parametrize(("kind", "handler", "rt", "words"), [
    ("lambda", "index:handler", NODE, "does not fit kind lambda"),
    ("lambda", "index", NODE, "does not fit kind lambda"),
    ("native", "index.handle", NODE, "does not fit kind native"),
    ("openwhisk", "", NODE, "kind openwhisk is not served by the Node.js runner"),
    ("ruby", "", NODE, "kind 'ruby' is not one of"),
    ("command", "index:handle", NODE, "command mode takes no --handler"),
])
def test_a_handler_in_the_wrong_form_is_refused_with_a_hint(kind: str, handler: str, rt: dict[str, str],
                                                             words: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_kind(kind, handler, rt)
    assert words in refused.value.message and refused.value.hint


def test_a_runtime_names_a_runner_faasctl_has() -> None:
    assert check_runner("node") == "node"
    with pytest.raises(InvalidInput, match="runner 'ruby' is not one faasctl has"):
        check_runner("ruby")


def test_an_agent_older_than_runners_fails_a_node_deploy_with_upgrade() -> None:
    check_runner_echo("web1", "node", {"runner": "node"})
    check_runner_echo("web1", "python", {})  # an older agent with a Python runtime: as before
    with pytest.raises(AgentError) as refused:
        check_runner_echo("web1", "node", {"function": "f"})  # older agents echo no runner
    assert refused.value.message == "node web1's agent cannot start the node runner"
    assert refused.value.hint == "upgrade it: faasctl node upgrade web1"
