"""Fan-out semantics (faasctl/core/fanout.py) with real threads and no sleeps: the bound on
parallel work holds, a failing node is reported without stopping the others, and the
outcomes come back in the input's order."""

from __future__ import annotations

import threading
from collections.abc import Callable

from faasctl.core import fanout
from faasctl.errors import NodeUnreachable


def test_bounded_and_failures_are_per_node() -> None:
    lock = threading.Lock()
    running, peak = [0], [0]
    gate = threading.Barrier(3, timeout=30)  # the first three must run at the same time

    def work(item: int, progress: Callable[[str], None]) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            if item < 3:
                gate.wait()
            progress("working")
            if item == 4:
                raise NodeUnreachable(f"node n{item}: cannot reach it", "start it")
            if item == 5:
                raise RuntimeError("a bug")
            return item * 10
        finally:
            with lock:
                running[0] -= 1

    outcomes = fanout.run(list(range(8)), lambda i: f"n{i}", work, parallel=3)
    assert peak[0] == 3
    assert [o.name for o in outcomes] == [f"n{i}" for i in range(8)]
    assert [o.ok for o in outcomes] == [True, True, True, True, False, False, True, True]
    assert outcomes[4].error == "node n4: cannot reach it" and outcomes[4].hint == "start it"
    assert outcomes[5].error == "RuntimeError: a bug"
    assert outcomes[7].value == 70
