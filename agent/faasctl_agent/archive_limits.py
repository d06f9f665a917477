"""Archive limits enforced while streaming, before tarfile or zipfile can hold much.

tarfile reads a whole PAX or GNU long-name header body into memory and keeps every
member it has seen; zipfile builds one object per central-directory entry. So a tar is
first walked here one 512-byte header at a time through its decompressor, and a zip's
directory is counted, and either is refused at the first header past a limit: a 1 GiB
PAX header or a millionth folder costs a few kilobytes read, never the whole stream.
"""

from __future__ import annotations

import io
import re
from typing import BinaryIO, Union

Stream = Union[io.BufferedIOBase, BinaryIO]

MAX_ARCHIVE_BYTES = 64 * 1024 * 1024  # packed, as sent
MAX_UNPACKED_BYTES = 256 * 1024 * 1024  # sum of file sizes
MAX_ENTRIES = 20_000  # files, folders and links
MAX_HEADER_BYTES = 64 * 1024  # one PAX or GNU long-name/long-link header body
MAX_HEADERS_TOTAL = 8 * 1024 * 1024  # all such bodies in one archive
MAX_CHAINED_HEADERS = 8  # extended headers in a row before a member
MAX_NAME_BYTES = 4096  # a path or a link target (PATH_MAX)

BLOCK = 512
_SKIP_CHUNK = 64 * 1024
_EXTENDED = {b"x", b"g", b"X", b"L", b"K"}  # PAX local, PAX global, Solaris, GNU long name, long link
# Types tarfile knows; it skips the data of regular members and of unknown types only.
_SUPPORTED = {b"0", b"\0", b"7", b"1", b"2", b"3", b"4", b"5", b"6", b"S", *_EXTENDED}
_REGULAR = {b"0", b"\0", b"7"}
_ZIP_DIRECTORY_SIG = b"PK\x01\x02"
_PAX_RECORD = re.compile(rb"(\d{1,20}) ([^=]+)=")
_HIGH_BYTES = bytes(range(128, 256))


class LimitError(ValueError):
    """An archive over a limit, or one whose headers cannot be walked safely."""


def open_decompressed(raw: BinaryIO) -> Stream:
    """The tar stream inside gzip, bzip2 or xz (or a plain tar), decompressed lazily."""
    raw.seek(0)
    magic = raw.read(6)
    raw.seek(0)
    if magic[:2] == b"\x1f\x8b":
        import gzip

        return gzip.GzipFile(fileobj=raw, mode="rb")
    if magic[:3] == b"BZh":
        import bz2

        return bz2.BZ2File(raw)
    if magic == b"\xfd7zXZ\x00":
        import lzma

        return lzma.LZMAFile(raw)
    return raw


def _number(field: bytes) -> int:
    """A tar numeric field as tarfile reads it: octal text, or base-256 binary."""
    if field[:1] in (b"\x80", b"\xff"):
        value = int.from_bytes(field[1:], "big")
        return value - (256 ** (len(field) - 1)) if field[:1] == b"\xff" else value
    text = field.split(b"\0", 1)[0].strip()
    try:
        return int(text or b"0", 8)
    except ValueError:
        raise LimitError("corrupt tar header (bad number field)") from None


def _valid_checksum(header: bytes) -> bool:
    try:
        stored = _number(header[148:156])
    except LimitError:
        return False
    blanked = header[:148] + b" " * 8 + header[156:]
    unsigned = sum(blanked)
    high = len(blanked) - len(blanked.translate(None, _HIGH_BYTES))
    return stored in (unsigned, unsigned - 256 * high)


def _read_exact(stream: Stream, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise LimitError("the tar stream ends in the middle of an entry")
    return data


def _skip(stream: Stream, size: int) -> None:
    while size > 0:
        size -= len(_read_exact(stream, min(size, _SKIP_CHUNK)))


def _check_pax(body: bytes) -> None:
    """Refuse PAX records that would move tarfile's idea of where the next header is.

    Records are walked by their length prefix, as tarfile walks them, and also line by
    line, so a record cannot hide from one reading inside another's value.
    """
    keys = [line.partition(b" ")[2].split(b"=", 1)[0] for line in body.split(b"\n")]
    position = 0
    for _ in range(len(body) + 1):
        match = _PAX_RECORD.match(body, position)
        if not match or int(match.group(1)) <= 0:
            break
        keys.append(match.group(2))
        position += int(match.group(1))
    for key in keys:
        if key == b"size" or key.startswith(b"GNU.sparse"):
            raise LimitError(f"PAX record {key.decode(errors='replace')!r} is not allowed")


def scan_tar(stream: Stream) -> int:
    """Walk the tar headers and refuse at the first limit crossed; returns the entry count.

    The walk skips data exactly as tarfile does, so the two see the same headers.
    """
    entries = chained = 0
    unpacked = extended_total = 0
    offset = 0
    for _ in range((MAX_ENTRIES + 1) * (MAX_CHAINED_HEADERS + 1) + 1):  # one header per round
        header = stream.read(BLOCK)
        if not header or header.count(0) == BLOCK:
            return entries  # end of archive, as tarfile sees it
        if len(header) != BLOCK or not _valid_checksum(header):
            where = "not a readable zip or tar.gz archive" if offset == 0 else f"corrupt tar header at byte {offset}"
            raise LimitError(where)
        kind, size = header[156:157], _number(header[124:136])
        if size < 0:
            raise LimitError(f"tar header at byte {offset} has a negative size")
        offset += BLOCK
        padded = -(-size // BLOCK) * BLOCK
        if kind in _EXTENDED:
            chained += 1
            extended_total += size
            if size > MAX_HEADER_BYTES:
                raise LimitError(f"an extended tar header of {size} bytes is over the limit of {MAX_HEADER_BYTES}")
            if chained > MAX_CHAINED_HEADERS or extended_total > MAX_HEADERS_TOTAL:
                raise LimitError("too many extended tar headers (PAX or GNU long names)")
            body = _read_exact(stream, padded)
            if kind in (b"x", b"g", b"X"):
                _check_pax(body[:size])
            offset += padded
            continue
        if kind == b"S":
            raise LimitError("sparse files are not allowed")
        chained = 0
        entries += 1
        if entries > MAX_ENTRIES:
            raise LimitError(f"archive has over {MAX_ENTRIES} entries, the limit")
        if kind in _REGULAR or kind not in _SUPPORTED:
            unpacked += size
            if unpacked > MAX_UNPACKED_BYTES:
                raise LimitError(f"archive unpacks to over {MAX_UNPACKED_BYTES} bytes, the limit")
            _skip(stream, padded)
            offset += padded
    raise LimitError(f"archive has over {MAX_ENTRIES} entries, the limit")


def check_zip_directory(data: bytes) -> None:
    """Refuse a zip with too many entries before zipfile builds an object for each.

    Every central-directory entry starts with its signature, so counting the signature
    is an upper bound on what zipfile would parse, however the end record lies.
    """
    if data.count(_ZIP_DIRECTORY_SIG) > MAX_ENTRIES:
        raise LimitError(f"archive has over {MAX_ENTRIES} entries, the limit")


def size_of(source: BinaryIO) -> int:
    position = source.tell()
    size = source.seek(0, io.SEEK_END)
    source.seek(position)
    return size
