"""Large results through the agent's reply reader, against the same bytes over a raw attach.

Issue 9, item 8: the old reader joined each attach frame onto a buffer and searched it
all again, so 10/25/50 MB took 2.3/4.8/31.6 s. This moves one reply of each size from a
process in a running container, once through `RunnerChannel` (the agent's reader) and
once through a bare attach stream that only counts frame bytes, in the same run.

    .venv/bin/python bench/large_result.py [--image faasctl/base:bookworm] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time

from benchlib import Row, log, table
from faasctl_agent.channel import RunnerChannel, docker_address
from faasctl_agent.executor import Executor

# Answers each line {"n": N} with a JSON reply line whose result is N bytes.
REPLIER = ("import json, sys\nsys.stdout.write(json.dumps({'op': 'ready'}) + '\\n'); sys.stdout.flush()\n"
           "for line in sys.stdin:\n    n = json.loads(line)['n']\n"
           "    sys.stdout.write('{\"ok\":true,\"result\":\"' + 'x' * n + '\"}\\n'); sys.stdout.flush()\n")
SIZES_MB = (1, 10, 25)  # 50 MB is past the 32 MiB result limit


class RawPipe:
    """A bare attach stream: writes a request, counts frame bytes up to the reply's newline."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def attach(cls, cid: str) -> RawPipe:
        kind, where = docker_address()
        assert kind == "unix", "the bench speaks to a local engine socket"
        reader, writer = await asyncio.open_unix_connection(str(where))
        writer.write((f"POST /containers/{cid}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                      "Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n").encode())
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        return cls(reader, writer)

    async def until_newline(self, limit: int) -> int:
        got = 0
        while got <= limit:  # bounded: the reply is at most `limit` bytes plus its envelope
            header = await self.reader.readexactly(8)
            payload = await self.reader.readexactly(int.from_bytes(header[4:8], "big"))
            got += len(payload)
            if payload.endswith(b"\n"):
                break
        return got

    async def round_trip(self, n: int) -> float:
        t0 = time.perf_counter()
        self.writer.write(b'{"n": %d}\n' % n)
        await self.until_newline(n + 1024)
        return time.perf_counter() - t0


async def main(image: str, repeat: int) -> list[Row]:
    ex = Executor(f"bench-large-{secrets.token_hex(3)}")
    cids = []
    for _ in range(2):
        cids.append(ex.api.create_container(
            image, command=["python3", "-u", "-c", REPLIER], stdin_open=True, labels={"faasctl.node": ex.node},
            host_config=ex.api.create_host_config(log_config={"Type": "none"}, network_mode="none"))["Id"])
    try:
        channel = await RunnerChannel.attach(cids[0])
        raw_pipe = await RawPipe.attach(cids[1])
        for cid in cids:
            ex.api.start(cid)
        await asyncio.wait_for(channel.ready, 30)
        await asyncio.wait_for(raw_pipe.until_newline(1024), 30)  # its ready line
        rows = []
        for mb in SIZES_MB:
            n = mb * 1_000_000
            agent, raw = [], []
            for _ in range(repeat):
                t0 = time.perf_counter()
                reply = await channel.request({"n": n}, 300)
                agent.append(time.perf_counter() - t0)
                assert len(reply["result"]) == n
                raw.append(await raw_pipe.round_trip(n))
            log(f"{mb} MB: agent {min(agent):.3f} s, raw {min(raw):.3f} s")
            rows.append(Row(f"{mb} MB result, agent reader (best of {repeat})", min(agent), "s", min(raw),
                            "linear in size", note="baseline: raw attach, bytes counted"))
        channel.close()
        raw_pipe.writer.close()
        return rows
    finally:
        for cid in cids:
            ex.remove(cid)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="faasctl/base:bookworm")
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    print(table(asyncio.run(main(opts.image, opts.repeat))))
