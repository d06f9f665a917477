"""Property-based run of /openapi.json against a running `faasctl serve` (schemathesis CLI).

Bounded: a fixed number of examples per operation and a fixed seed (reproducible in CI;
set FAASCTL_FUZZ_SEED to explore), under a hard subprocess timeout. It asserts no 5xx
and that every response conforms to the document (status code, content type, headers,
body schema).

Excluded from fuzzing, on purpose:
- DELETE operations: they would remove the shared test platform's runtime, functions and node.
- POST /v1/nodes/{name}/drain: a drained `local` node would take no calls in later tests
  (covered by test_drain and test_dashboard_sources).
- POST /registerRuntime and POST /v1/runtimes: registering a runtime makes every node
  look for the image and pull it from a registry when it is missing, which is slow and
  reaches the network. Both are covered by test_api_seed, test_api_v1 and test_api_guards.

One worker: with several, hypothesis' ast.parse in threads trips a CPython 3.11 bug
("AST constructor recursion depth mismatch") inside schemathesis itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.apiserver import serve
from tests.support.platform import Platform

pytestmark = pytest.mark.integration

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "response_headers_conformance")
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


def test_openapi_fuzz_finds_no_server_error_or_schema_break(platform: Platform, tmp_path: Path) -> None:
    platform.cli("fn", "deploy", "fuzz-dice", "examples/dice", "--runtime", "python")  # something real to hit
    config = tmp_path / "schemathesis.toml"  # a real runtime, so uploads reach the archive checks
    config.write_text('[parameters]\n"path.runtime" = "python"\n')
    with serve(platform) as api:
        proc = subprocess.run(
            [SCHEMATHESIS, "--config-file", str(config), "run", f"{api.url}/openapi.json", "--checks", CHECKS,
             "--phases", "examples,coverage,fuzzing", "--max-examples", "25",
             "--seed", os.environ.get("FAASCTL_FUZZ_SEED", "20261127"),
             "--exclude-method", "DELETE", "--exclude-path", "/registerRuntime",
             "--exclude-operation-id", "create_runtime_v1_runtimes_post",
             "--exclude-operation-id", "drain_node_v1_nodes__name__drain_post",
             "--generation-database", "none", "--request-timeout", "60", "--workers", "1", "--no-color"],
            cwd=tmp_path, capture_output=True, text=True, timeout=900)
        server_log = api.log.read_text()
    out = proc.stdout + proc.stderr
    report = f"schemathesis found problems:\n{out[-20000:]}\n--- serve log ---\n{server_log[-5000:]}"
    assert proc.returncode == 0, report
    selected = re.search(r"Selected: (\d+)/(\d+)", out)
    # only the exclusions above (five DELETE routes and three operations)
    assert selected and int(selected[2]) - int(selected[1]) == 8, out[-3000:]
