"""Shared pieces of the benchmarks: rows, percentiles, bounded loops, the table, the machine."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("faasctl")
WARM_FN, COLD_FN = "bench-warm", "bench-cold"
HANDLER = 'def handle(params):\n    """Trivial on purpose: the benchmark measures the platform."""\n    return "ok"\n'
# Line echo for the raw round trip: the same pipe a runner uses, with no work behind it.
ECHO = ("import sys\nr, w = sys.stdin.buffer, sys.stdout.buffer\nwhile True:\n"
        "    line = r.readline()\n    if not line:\n        break\n    w.write(line)\n    w.flush()\n")
# A line about the size of a runner call message.
PROBE = b'{"op":"call","id":"0123456789abcdef01234567","params":{}}\n'


@dataclass
class Row:
    """One line of the table; `baseline` is in the same unit as `figure`, so ratio = figure/baseline."""

    what: str
    figure: float
    unit: str
    baseline: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.figure / self.baseline if self.baseline else None


# helpers ------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 of 2000 is the 1980th value)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-int(p * len(ordered)) // 100) - 1))]


def sh(argv: list[str], env: dict[str, str] | None = None, timeout: float = 600) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}... failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return proc.stdout


def timed_runs(argv: list[str], n: int, env: dict[str, str] | None = None, warmup: int = 1) -> list[float]:
    """Wall seconds of `n` runs of a command, after `warmup` unmeasured ones (page cache)."""
    walls = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        sh(argv, env)
        if i >= warmup:
            walls.append(time.perf_counter() - t0)
    return walls


def bounded(n: int, seconds: float) -> Iterator[int]:
    """At most `n` iterations and at most `seconds` of them: every phase has both bounds."""
    deadline = time.monotonic() + seconds
    for i in range(n):
        if time.monotonic() > deadline:
            return
        yield i


def cpu_seconds(pid: int) -> float:
    """utime+stime of a process (from /proc), to see who burns the cores under load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes(agent_pid: int) -> dict[int, tuple[str, float]]:
    """Every process now as pid -> (group, CPU seconds). Groups: agent, bench, dockerd,
    containerd, containerd-shim, runners (children of a shim: the function containers'
    processes, also other sessions' if they share the engine), rest."""
    stats: dict[int, tuple[str, int, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        stats[int(entry.name)] = (comm, int(rest[1]), (int(rest[11]) + int(rest[12])) / tick)
    me, found = os.getpid(), {}
    for pid, (comm, ppid, cpu) in stats.items():
        parent = stats.get(ppid, ("", 0, 0.0))[0]
        if pid == agent_pid:
            group = "agent"
        elif me in (pid, ppid):
            group = "bench"
        elif comm.startswith("containerd-shim"):
            group = "containerd-shim"
        elif comm in ("dockerd", "containerd"):
            group = comm
        elif parent.startswith("containerd-shim"):
            group = "runners"
        else:
            group = f"rest:{comm}"
        found[pid] = (group, cpu)
    return found


def cpu_by_group(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per group between two snapshots, plus the three biggest processes in
    "rest" (to tell other work on the machine from ours); a process that ended meanwhile
    is missed."""
    groups: dict[str, float] = {}
    rest: dict[str, float] = {}
    for pid, (group, cpu) in after.items():
        used = cpu - before.get(pid, (group, 0.0))[1]
        if group.startswith("rest:"):
            rest[group[5:]] = rest.get(group[5:], 0.0) + used
            group = "rest"
        groups[group] = groups.get(group, 0.0) + used
    top = sorted(rest.items(), key=lambda kv: -kv[1])[:3]
    groups.update({f"  rest {name}": used for name, used in top})
    return groups


def host_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# raw baselines ----------------------------------------------------------------------

def machine() -> dict[str, Any]:
    def out(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            return "?"

    mem = out(["free", "-h"]).splitlines()
    return {"nproc": os.cpu_count(), "memory": mem[1].split()[1] if len(mem) > 1 else "?",
            "kernel": platform.release(), "docker": out(["docker", "version", "--format", "{{.Server.Version}}"]),
            "python": platform.python_version(), "cpu": _cpu_model()}


def report(rows: list[Row], what: str) -> None:
    """Print the machine (every figure is read beside it), `what` was run, and the table."""
    m = machine()
    print(f"machine: {m['nproc']} cpus ({m['cpu']}), {m['memory']} RAM, kernel {m['kernel']}, docker {m['docker']}, "
          f"python {m['python']}; {what}")
    print(table(rows))


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


def table(rows: list[Row]) -> str:
    def num(v: float | None, unit: str = "") -> str:
        if v is None:
            return ""
        text = f"{v:,.0f}" if v >= 100 else f"{v:.3g}" if v < 1 else f"{v:.1f}"
        return f"{text} {unit}".strip()

    lines = ["| what | figure | baseline | ratio | target | met? | notes |",
             "| --- | ---: | ---: | ---: | --- | --- | --- |"]
    for r in rows:
        met = "" if r.met is None else "yes" if r.met else "**no**"
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        lines.append(f"| {r.what} | {num(r.figure, r.unit)} | {num(r.baseline, r.unit)} | {ratio} | {r.target} "
                     f"| {met} | {r.note} |")
    return "\n".join(lines)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@contextmanager
def platform_up(home: str, fn_dir: Path, max_concurrency: int) -> Iterator[dict[str, Any]]:
    """A local node, the python runtime and the two bench functions; all gone afterwards."""
    env = {**os.environ, "FAASCTL_HOME": home}
    try:
        sh([str(CLI), "node", "add", "local"], env)
        sh([str(CLI), "runtime", "add", "python", "--from", str(ROOT / "runtimes" / "python")], env)
        image = next(r["image"] for r in json.loads(sh([str(CLI), "runtime", "list", "--json"], env))
                     if r["name"] == "python")
        sh([str(CLI), "fn", "deploy", WARM_FN, str(fn_dir), "--runtime", "python", "--handler", "main:handle",
            "--preload", "function", "--min-warm", "1", "--max-concurrency", str(max_concurrency),
            "--queue-limit", "256"], env)
        sh([str(CLI), "fn", "deploy", COLD_FN, str(fn_dir), "--runtime", "python", "--handler", "main:handle",
            "--preload", "none", "--max-concurrency", "4"], env)
        node_home = Path(home) / "nodes" / "local"
        # the supervisor writes agent.pid; the process that serves calls is its child
        pid_file = next(f for f in (node_home / "agent.child.pid", node_home / "agent.pid") if f.exists())
        pid = int(pid_file.read_text().split()[0])
        yield {"env": env, "image": image, "agent_pid": pid}
    finally:
        try:
            sh([str(CLI), "node", "rm", "local"], env, timeout=120)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"warning: node rm failed ({exc}); stopping the agent directly", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "faasctl_agent", "stop", "--purge", "--home",
                            str(Path(home) / "nodes" / "local")], capture_output=True, timeout=120)


def wait_no_containers(label: str, seconds: float = 10.0) -> None:
    """Cold calls return before their container is removed; let removal finish between
    calls so each cold call starts on an idle engine, as a raw `docker run` does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not sh(["docker", "ps", "-aq", "--filter", f"label={label}"]).strip():
            return
        time.sleep(0.05)
