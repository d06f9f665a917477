"""Archive bombs are refused at the first header past a limit, in bounded memory.

The bombs are built here, never stored: a huge body compresses to a few kilobytes by
repeating one fully flushed deflate block, so a 1 GiB PAX header costs ~1 MB to make.
Each test reads through a counting file, so "refused before reading everything" is a
byte count, and tracemalloc's peak shows that the header was never held in memory.
"""

from __future__ import annotations

import io
import struct
import tarfile
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from faasctl_agent import archive, archive_limits

GIB = 1024 ** 3
MEMORY_CEILING = 16 * 1024 * 1024  # far below any bomb, far above a gzip window


class CountingReader(io.BytesIO):
    """A seekable file that counts the bytes handed out, whoever reads them."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk

    def read1(self, size: int = -1, /) -> bytes:
        chunk = super().read1(size)
        self.consumed += len(chunk)
        return chunk

    def readinto(self, buffer: Any, /) -> int:
        count = super().readinto(buffer)
        self.consumed += count
        return count


def gzip_repeating(head: bytes, block: bytes, count: int, tail: bytes) -> bytes:
    """gzip of head + block * count + tail without compressing count blocks one by one."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    repeated = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)  # same bytes every time after a full flush
    last = comp.compress(tail) + comp.flush()
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + len(block) * count + len(tail)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + first + repeated * count + last + struct.pack("<II", crc, size & 0xFFFFFFFF)


def header(name: str, kind: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, size
    return info.tobuf(format=tarfile.USTAR_FORMAT) if kind not in (b"x", b"L") else _raw_header(name, kind, size)


def _raw_header(name: str, kind: bytes, size: int) -> bytes:
    """A header whose size field tarfile's writer would never produce for this type."""
    buf = bytearray(512)
    buf[0:len(name)] = name.encode()
    buf[100:108] = b"0000644\0"
    buf[124:136] = f"{size:011o}\0".encode()
    buf[136:148] = b"00000000000\0"
    buf[156:157] = kind
    buf[257:265] = b"ustar\x0000"
    buf[148:156] = b" " * 8
    buf[148:156] = f"{sum(buf):06o}\0 ".encode()
    return bytes(buf)


def huge_header_bomb(kind: bytes) -> bytes:
    """One ~1 MB tar.gz: an extended header (PAX or GNU long name) claiming a 1 GiB body."""
    mib = 1024 * 1024
    block = b"16 a=bcdefghijk\n" * (mib // 16) if kind == b"x" else b"a" * mib  # 16-byte PAX records
    tail = header("x.py", tarfile.REGTYPE, 0) + b"\0" * 1024
    return gzip_repeating(_raw_header("././@bomb", kind, GIB), block, GIB // mib, tail)


def folders_bomb(count: int) -> bytes:
    """A tar.gz of `count` folder entries, the whole archive a few hundred kilobytes."""
    per_block = 64
    return gzip_repeating(b"", header("d", tarfile.DIRTYPE, 0) * per_block, count // per_block, b"\0" * 1024)


def refused_within_bounds(data: bytes, match: str) -> tuple[CountingReader, int]:
    reader = CountingReader(data)
    tracemalloc.start()
    try:
        with pytest.raises(archive.ArchiveError, match=match):
            archive.read_entries(reader)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return reader, peak


@pytest.mark.parametrize("kind,what", [(b"x", "PAX"), (b"L", "GNU long name")])
def test_one_gib_extended_header_refused_at_its_header(kind: bytes, what: str) -> None:
    bomb = huge_header_bomb(kind)
    assert len(bomb) < 4 * 1024 * 1024, "the bomb itself stays small"
    reader, peak = refused_within_bounds(bomb, "extended tar header of 1073741824 bytes is over the limit")
    assert reader.consumed < 128 * 1024, f"{what}: read {reader.consumed} of {len(bomb)} bytes before refusing"
    assert peak < MEMORY_CEILING, f"{what}: peak memory {peak} bytes"


@pytest.mark.parametrize("count", [100_000, 1_000_000])
def test_many_folders_refused_at_the_limit_not_at_the_end(count: int) -> None:
    bomb = folders_bomb(count)
    reader, peak = refused_within_bounds(bomb, f"over {archive_limits.MAX_ENTRIES} entries")
    share = reader.consumed / len(bomb)
    assert share < 0.3, f"read {reader.consumed} of {len(bomb)} bytes ({share:.0%}) before refusing"
    assert peak < MEMORY_CEILING, f"peak memory {peak} bytes"


def test_zip_with_many_entries_refused_before_zipfile_reads_its_directory() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(archive_limits.MAX_ENTRIES * 3):
            zf.writestr(f"d{i}/", b"")
    data = buf.getvalue()
    tracemalloc.start()
    try:
        with pytest.raises(archive.ArchiveError, match="over 20000 entries"):
            archive.read_entries(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_CEILING, f"peak memory {peak} bytes for a {len(data)}-byte zip"


def test_zip_bomb_refused_before_inflating() -> None:
    """Sizes come from the central directory: one claiming 256 MiB + 1 stops it unread."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("small.py", b"x")
        zf.writestr("big.bin", b"\0" * 4096)
    data = bytearray(buf.getvalue())
    entry = data.rindex(b"PK\x01\x02")  # big.bin's directory entry; its size field is at +24
    data[entry + 24:entry + 28] = struct.pack("<I", archive_limits.MAX_UNPACKED_BYTES + 1)
    with pytest.raises(archive.ArchiveError, match="over the limit"):
        archive.read_entries(bytes(data))


def pax_archive(records: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("x.py")
        info.pax_headers = records
        info.size = 1
        tf.addfile(info, io.BytesIO(b"1"))
    return buf.getvalue()


@pytest.mark.parametrize("make,match", [
    (lambda: pax_archive({"GNU.sparse.map": "0,1"}), "GNU.sparse"),
    (lambda: pax_archive({"size": "1"}), "'size'"),
    (lambda: gzip_repeating(b"", _raw_header("x", b"x", 10) + b"10 a=bcde\n".ljust(512, b"\0"), 9, b"\0" * 1024),
     "too many extended"),
])
def test_headers_that_would_desynchronise_the_walk_are_refused(make: Callable[[], bytes], match: str) -> None:
    with pytest.raises(archive.ArchiveError, match=match):
        archive.read_entries(make())


def test_ordinary_pax_and_long_names_still_pass() -> None:
    long_name = "/".join(["folder"] * 40) + "/módulo.py"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as tf:
        info = tarfile.TarInfo(long_name)
        info.size = 2
        tf.addfile(info, io.BytesIO(b"ok"))
    entries = archive.read_entries(buf.getvalue())
    assert [e.data for e in entries if e.kind == "file"] == [b"ok"]
    packed = archive.pack(entries)  # PAX format, as stored
    assert archive.read_entries(packed)[0].data == b"ok"
