"""Where a warm call's time goes: each piece of the path measured apart, in one run.

Issue 12 asks for a warm invoke within 2x of the raw attach round trip and says to
measure before believing estimates. This bench times, on the same engine and in
interleaved rounds (the machine is noisy; only side-by-side figures compare): the raw
attach round trip (bench/invoke.py's baseline), the real runner over attach with no
agent (blocking client, then the agent's own asyncio RunnerChannel), the real runner over
its Unix socket (blocking, asyncio streams, and the agent's own SocketChannel), an echo
over a Unix socket in a mounted folder (no dockerd; blocking and asyncio), ZeroMQ DEALER to
ROUTER with and without CURVE, the agent's `hello` and its warm invoke. Ratios are
per round, to that round's raw round trip; the table gives their medians. `--profile`
adds py-spy's view of the agent's CPU under a closed loop of warm calls.

    .venv/bin/python bench/warm_path.py [--rounds 5] [--calls 400] [--profile [--profile-concurrency 16]]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from benchlib import ECHO, HANDLER, PROBE, WARM_FN, Row, bounded, log, pct, platform_up, report, sh
from measure import _threaded, agent_caller, channel_kinds, hello_caller
from raw_baselines import _container
from warm_parts import runner_attach, runner_channel, runner_sockchannel, runner_unix, unix_echo
from warm_zmq import json_costs, zmq_echo

Trip = Callable[[], object]


def timings(trip: Trip, n: int, seconds: float) -> list[float]:
    for _ in range(20):
        trip()
    out = []
    for _ in bounded(n, seconds):
        t0 = time.perf_counter()
        trip()
        out.append(time.perf_counter() - t0)
    return out


def profile(pid: int, call: Trip, seconds: float, out: Path, home: str = "",
            concurrency: int = 1) -> list[tuple[str, float]]:
    """py-spy over the agent while this process makes warm calls (one caller, or
    `concurrency` closed-loop caller threads); the top self-time frames."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if concurrency > 1:  # let the pool grow to the callers first
        _threaded(agent_caller, home, WARM_FN, concurrency, 2.0)
    proc = subprocess.Popen([spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "500", "-f", "raw",
                             "-o", str(out), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if concurrency > 1:
        _threaded(agent_caller, home, WARM_FN, concurrency, seconds + 1)
    deadline = time.monotonic() + seconds + 2
    while proc.poll() is None and time.monotonic() < deadline + 10:
        call()
    proc.wait(30)
    own: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.strip().rpartition(" ")
        if not count.isdigit():
            continue
        leaf = stack.split(";")[-1]
        own[leaf.split(" (")[0] + " (" + leaf.split("/")[-1] if "/" in leaf else leaf] += int(count)
        total += int(count)
    return [(name, 100 * c / total) for name, c in own.most_common(15)]


def run(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    tmp = Path(tempfile.mkdtemp(prefix="faasctl-warm-"))
    home, fn_dir = str(tmp / "home"), tmp / "fn"
    fn_dir.mkdir()
    (fn_dir / "main.py").write_text(HANDLER)
    cleanup: list[str] = []
    closers: list[Callable[[], None]] = []
    extra: list[str] = []
    try:
        with platform_up(home, fn_dir, max(1, args.profile_concurrency)) as up:
            image = up["image"]
            call = agent_caller(home, WARM_FN)
            call()
            agent_cid = sh(["docker", "ps", "-q", "--filter", f"label=faasctl.function={WARM_FN}"]).split()[0]
            echo = _container(image, ECHO, cleanup)
            closers.append(echo.close)
            pieces: dict[str, Trip] = {"raw attach round trip (echo loop; the baseline)": lambda: echo.roundtrip(PROBE)}
            for label, make in (("runner alone over attach, blocking client",
                                 lambda: runner_attach(agent_cid, cleanup)),
                                ("runner alone over attach, agent's asyncio RunnerChannel",
                                 lambda: runner_channel(agent_cid, cleanup)),
                                ("runner alone over its Unix socket (no dockerd), blocking client",
                                 lambda: runner_unix(agent_cid, cleanup, False)),
                                ("runner alone over its Unix socket (no dockerd), asyncio streams client",
                                 lambda: runner_unix(agent_cid, cleanup, True)),
                                ("runner alone over its Unix socket, the agent's SocketChannel",
                                 lambda: runner_sockchannel(agent_cid, cleanup)),
                                ("echo over a Unix socket in a mounted folder, blocking client",
                                 lambda: unix_echo(image, cleanup, False)),
                                ("echo over a Unix socket in a mounted folder, asyncio client",
                                 lambda: unix_echo(image, cleanup, True)),
                                ("ZeroMQ DEALER/ROUTER echo, plain", lambda: zmq_echo(False)),
                                ("ZeroMQ DEALER/ROUTER echo, CURVE", lambda: zmq_echo(True)),
                                ("ZeroMQ echo, CURVE, served as the agent serves (asyncio, add_reader, a task each)",
                                 lambda: zmq_echo(True, True))):
                trip, close = make()
                pieces[label] = trip
                closers.append(close)
            pieces["agent `hello` (ZeroMQ+CURVE+agent loop, no container)"] = hello_caller(home)
            kinds = channel_kinds(up["env"])
            pieces[f"agent warm invoke (agent client; runner channel: {kinds})"] = call
            per_round: dict[str, list[float]] = {k: [] for k in pieces}
            ratios: dict[str, list[float]] = {k: [] for k in pieces}
            for r in range(args.rounds):
                log(f"round {r + 1}/{args.rounds}")
                order = list(pieces) if r % 2 == 0 else list(reversed(pieces))
                got = {k: pct(timings(pieces[k], args.calls, args.phase_seconds), 50) for k in order}
                base = got[next(iter(pieces))]
                for k, v in got.items():
                    per_round[k].append(v)
                    ratios[k].append(v / base)
            rows = []
            for k in pieces:
                med = statistics.median(per_round[k])
                spread = ", ".join(f"{v * 1e3:.3f}" for v in per_round[k])
                row = Row(k, med * 1e3, "ms", note=f"p50 per round (ms): {spread}; ratio median "
                          f"{statistics.median(ratios[k]):.2f}x (min {min(ratios[k]):.2f}, max {max(ratios[k]):.2f})")
                row.baseline = med * 1e3 / statistics.median(ratios[k])  # so the table's ratio is the median ratio
                rows.append(row)
            rows[0].baseline = None
            for what, us in json_costs().items():
                rows.append(Row(f"JSON: {what} (in-process)", us / 1e3, "ms"))
            if args.profile:
                log(f"py-spy over the agent for {args.profile_seconds:g} s of warm calls")
                for name, share in profile(up["agent_pid"], call, args.profile_seconds, tmp / "agent.txt", home,
                                           args.profile_concurrency):
                    extra.append(f"| {share:.1f} % | `{name}` |")
    finally:
        for close in closers:
            try:
                close()
            except Exception as exc:  # keep cleaning up
                print(f"warning: close failed: {exc!r}", file=sys.stderr)
        for name in cleanup:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in Path(tempfile.gettempdir()).glob("faasctl-bench-sock-*"):
            shutil.rmtree(folder, ignore_errors=True)
    return rows, extra


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (ratios are per round)")
    p.add_argument("--calls", type=int, default=400, help="round trips per piece per round, after 20 unmeasured")
    p.add_argument("--phase-seconds", type=float, default=10.0, help="time bound of each piece's loop")
    p.add_argument("--profile", action="store_true", help="also sample the agent with py-spy under warm calls")
    p.add_argument("--profile-seconds", type=float, default=5.0)
    p.add_argument("--profile-concurrency", type=int, default=1,
                   help="caller threads during --profile (the function's pool may grow to as many)")
    args = p.parse_args()
    started, load = time.time(), Path("/proc/loadavg").read_text().split()[0]
    rows, extra = run(args)
    report(rows, f"load before {load}; {args.rounds} rounds x {args.calls} calls; {time.time() - started:.0f} s")
    if extra:
        print("\nagent self time under warm calls (py-spy, share of samples):\n\n| share | frame |\n| ---: | --- |")
        print("\n".join(extra))


if __name__ == "__main__":
    main()
