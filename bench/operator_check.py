"""What the agent's per-request key check costs (issue 15, operators), next to the read it
replaced, in one run.

A CURVE ROUTER with a ZAP allow-list (a thread authenticator, as the agent's) and a DEALER
in this process, over loopback. Each round, the DEALER queues N requests and the ROUTER
reads them all, timing only its own reads (what the agent's receive callback does per
request, without the wait for the network). The ways, alternated round by round since
the machine is shared and noisy:
- before: `recv_multipart()` (bytes), no check: the agent up to this change (the raw
  baseline);
- checked, multipart: `recv_multipart(copy=False)`, the payload's bytes, the last frame's
  `User-Id`, a set lookup (the first version of the check);
- checked, part by part: the routing id as bytes, then the payload as a Frame, its bytes,
  `User-Id`, a set lookup (what server.py does now).
A round trip (hello-sized request, one at a time) is measured beside them, for scale.

    PYTHONPATH=.:agent .venv/bin/python bench/operator_check.py [--rounds 6 --requests 20000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import zmq
from zmq.auth.thread import ThreadAuthenticator

MSG = b'{"v":1,"id":"abcd-1","op":"invoke","args":{"function":"bench-warm","params":null}}'
Read = Callable[["zmq.Socket[bytes]", frozenset[str]], bytes]


class Allow:
    def callback(self, domain: str, key: bytes) -> bool:
        return True


def before(sock: zmq.Socket[bytes], users: frozenset[str]) -> bytes:
    frames = sock.recv_multipart(zmq.NOBLOCK)
    return frames[-1]


def multipart(sock: zmq.Socket[bytes], users: frozenset[str]) -> bytes:
    frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
    last = frames[-1]
    assert str(last.get("User-Id")) in users
    return last.bytes


def by_part(sock: zmq.Socket[bytes], users: frozenset[str]) -> bytes:
    sock.recv(zmq.NOBLOCK)
    last = sock.recv(copy=False)
    while last.more:
        last = sock.recv(copy=False)
    assert str(last.get("User-Id")) in users
    return last.bytes


WAYS: dict[str, Read] = {"before: recv_multipart(), no check (raw baseline)": before,
                         "checked, recv_multipart(copy=False)": multipart,
                         "checked, part by part (server.py now)": by_part}


def read_all(router: zmq.Socket[bytes], dealer: zmq.Socket[bytes], read: Read, users: frozenset[str],
             n: int) -> float:
    """Seconds of reading per request, for n queued requests."""
    for _ in range(n):
        dealer.send(MSG)
    got, busy = 0, 0.0
    while got < n:
        router.poll(1000)
        while got < n:
            t0 = time.perf_counter()
            try:
                read(router, users)
            except zmq.Again:
                break
            busy += time.perf_counter() - t0
            got += 1
    return busy / n


def round_trip(router: zmq.Socket[bytes], dealer: zmq.Socket[bytes], n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        dealer.send(MSG)
        ident, payload = router.recv_multipart()
        router.send_multipart([ident, payload])
        dealer.recv()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rounds", type=int, default=6, help="rounds of each way, alternating")
    p.add_argument("--requests", type=int, default=20000, help="requests read per round")
    args = p.parse_args()
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve_callback("*", Allow())
    (spub, ssec), (cpub, csec) = zmq.curve_keypair(), zmq.curve_keypair()
    router = ctx.socket(zmq.ROUTER)
    router.curve_server, router.curve_publickey, router.curve_secretkey = True, spub, ssec
    router.setsockopt(zmq.RCVHWM, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = ctx.socket(zmq.DEALER)
    dealer.curve_serverkey, dealer.curve_publickey, dealer.curve_secretkey = spub, cpub, csec
    dealer.setsockopt(zmq.SNDHWM, 0)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    users = frozenset({cpub.decode()})
    found: dict[str, list[float]] = {name: [] for name in WAYS}
    trips = []
    try:
        read_all(router, dealer, before, users, 1000)  # handshake and warm-up
        for _ in range(args.rounds):
            for name, read in WAYS.items():
                found[name].append(read_all(router, dealer, read, users, args.requests))
            trips.append(round_trip(router, dealer, 2000))
    finally:
        dealer.close(linger=0)
        router.close(linger=0)
        auth.stop()
        ctx.term()
    load = Path("/proc/loadavg").read_text().split()[0]
    base = statistics.median(found[next(iter(WAYS))])
    print(f"{args.rounds} alternating rounds, {args.requests} requests read per way and round; load after {load}\n")
    print("| the agent's read of one request (CPU, queued) | median µs per request | ratio to before |")
    print("| --- | --- | --- |")
    for name, values in found.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1e6:.2f} | {median / base:.2f}x |")
    print(f"| (for scale) a round trip of the same request, p50 | {statistics.median(trips) * 1e6:.1f} | |")


if __name__ == "__main__":
    main()
