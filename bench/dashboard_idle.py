"""Dashboard idle cost (issue 11): the agent's CPU with `faasctl dashboard` open and idle,
next to the same agent alone, in the same run.

A local node, the python runtime and the bench functions (benchlib.platform_up), a few
calls so every table has rows. Then alternating windows of `--seconds` each: the agent
alone (the baseline), and the agent while a dashboard runs in a real terminal (tmux,
100x30) and nobody touches it. Each window reads the agent's and the dashboard's CPU
seconds from /proc; the table gives the medians as CPU % of one core. Every loop is
bounded; the node and the tmux session are removed at the end, also on failure.

    .venv/bin/python bench/dashboard_idle.py [--seconds 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import CLI, HANDLER, WARM_FN, Row, bounded, cpu_seconds, log, machine, platform_up, sh, table

SESSION = "faasctl-bench-dashboard"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30).stdout


def dashboard_pid(env: dict[str, str]) -> int:
    """Start the dashboard in a detached tmux session and wait until it has drawn its tabs."""
    command = f"exec env FAASCTL_HOME={env['FAASCTL_HOME']} {CLI} dashboard"
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "100", "-y", "30", command],
                   check=True, timeout=30, env=env)
    for _ in bounded(300, 30):
        if "Nodes" in tmux("capture-pane", "-p", "-t", SESSION) and WARM_FN in _pane_all():
            return int(tmux("display-message", "-p", "-t", SESSION, "#{pane_pid}").strip())
        time.sleep(0.1)
    raise RuntimeError("the dashboard did not draw within 30 s:\n" + tmux("capture-pane", "-p", "-t", SESSION))


def _pane_all() -> str:
    """The Functions tab's text (switched to once, then back to the first tab)."""
    tmux("send-keys", "-t", SESSION, "2")
    time.sleep(0.5)
    text = tmux("capture-pane", "-p", "-t", SESSION)
    tmux("send-keys", "-t", SESSION, "1")
    return text


def window(pids: list[int], seconds: float) -> list[float]:
    """CPU % of one core of each pid over one window."""
    before, t0 = [cpu_seconds(p) for p in pids], time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    return [100 * (cpu_seconds(p) - b) / elapsed for p, b in zip(pids, before)]


def run(args: argparse.Namespace, home: str) -> list[Row]:
    fn_dir = Path(home) / "fn"
    fn_dir.mkdir()
    (fn_dir / "main.py").write_text(HANDLER)
    with platform_up(home, fn_dir, 4) as up:
        env, agent = up["env"], up["agent_pid"]
        for _ in range(5):
            sh([str(CLI), "invoke", WARM_FN], env)
        alone: list[float] = []
        with_dash: list[float] = []
        dash_own: list[float] = []
        try:
            for i in range(args.rounds):
                log(f"round {i + 1}/{args.rounds}: agent alone for {args.seconds:g} s")
                alone.append(window([agent], args.seconds)[0])
                dash = dashboard_pid(env)
                time.sleep(2)  # let its first refreshes settle
                log(f"round {i + 1}/{args.rounds}: agent with the dashboard open and idle")
                agent_pct, dash_pct = window([agent, dash], args.seconds)
                with_dash.append(agent_pct)
                dash_own.append(dash_pct)
                tmux("send-keys", "-t", SESSION, "q")
                for _ in bounded(100, 10):
                    if SESSION not in tmux("list-sessions"):
                        break
                    time.sleep(0.1)
        finally:
            tmux("kill-session", "-t", SESSION)
        status = json.loads(sh([str(CLI), "node", "status", "local", "--json"], env))
    base, loaded = statistics.median(alone), statistics.median(with_dash)
    note = f"median of {args.rounds} windows of {args.seconds:g} s"
    return [
        Row("agent CPU, alone (idle, one warm container)", base, "%", note=note),
        Row("agent CPU, dashboard open and idle", loaded, "%", baseline=base if base > 0 else None,
            note=f"{note}; each: {', '.join(f'{v:.2f}' for v in with_dash)} (alone: "
                 f"{', '.join(f'{v:.2f}' for v in alone)})"),
        Row("agent CPU added by the dashboard", loaded - base, "% of a core", note="with minus alone"),
        Row("the dashboard's own CPU (idle)", statistics.median(dash_own), "%", note=note),
        Row("agent uptime at the end", float(status.get("uptime_s", 0)), "s", note="the agent was not restarted"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured window")
    parser.add_argument("--rounds", type=int, default=3, help="alone/with-dashboard window pairs")
    args = parser.parse_args()
    if not shutil.which("tmux"):
        sys.exit("tmux is needed (the README's set-up installs it)")
    home = tempfile.mkdtemp(prefix="faasctl-bench-dash-")
    try:
        rows = run(args, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    info = machine()
    print(f"machine: {info['nproc']} CPUs ({info['cpu']}), docker {info['docker']}, python {info['python']}\n")
    print(table(rows))


if __name__ == "__main__":
    os.environ.setdefault("FAASCTL_PROGRESS", "plain")
    main()
