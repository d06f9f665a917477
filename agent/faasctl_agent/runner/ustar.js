'use strict';
/*
 * A small, strict tar reader for stem cells: Node has no tar module. It unpacks the
 * code and dependency tars the agent sends (already checked and normalised there) and
 * trusts nothing of them all the same: only files and folders, every path inside the
 * target, checksums checked. Links, devices, fifos and GNU extensions are refused;
 * pax headers are read for their long paths (Python's tarfile writes them).
 */
const fs = require('fs');
const path = require('path');

const BLOCK = 512;

function text(header, start, length) {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
}

function octal(header, start, length, what) {
  if (header[start] & 0x80) throw new Error(`tar: ${what} in base-256 is not supported`);
  const value = text(header, start, length).trim();
  if (!/^[0-7]*$/.test(value)) throw new Error(`tar: ${what} ${JSON.stringify(value)} is not octal`);
  return value ? parseInt(value, 8) : 0;
}

function checksum(header) {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += (i >= 148 && i < 156) ? 32 : header[i];
  return sum;
}

function paxRecords(data) {
  // "LEN key=value\n" records; LEN counts the whole record.
  const out = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = parseInt(data.subarray(at, space).toString('ascii'), 10);
    if (space < 0 || !(len > 0) || at + len > data.length) throw new Error('tar: a malformed pax header');
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}

function inside(root, name) {
  if (name.includes('\0') || name.includes('\\')) throw new Error(`tar: ${JSON.stringify(name)}: bad characters in a path`);
  if (name.startsWith('/')) throw new Error(`tar: ${name}: absolute paths are refused`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`tar: ${name}: '..' is refused`);
  const dest = path.resolve(root, ...parts);
  if (dest !== root && !dest.startsWith(root + path.sep)) throw new Error(`tar: ${name} leaves the target`);
  return dest;
}

function extractTar(buf, target) {
  const root = path.resolve(target);
  fs.mkdirSync(root, { recursive: true });
  let off = 0;
  let pax = {};
  while (off + BLOCK <= buf.length) {
    const header = buf.subarray(off, off + BLOCK);
    if (header.every((b) => b === 0)) return;
    if (checksum(header) !== octal(header, 148, 8, 'checksum')) throw new Error(`tar: bad header checksum at byte ${off}`);
    if (text(header, 257, 6).slice(0, 5) !== 'ustar') throw new Error('tar: not a ustar archive');
    const type = header[156] === 0 ? '0' : String.fromCharCode(header[156]);
    const size = pax.size !== undefined ? Number(pax.size) : octal(header, 124, 12, 'size');
    const start = off + BLOCK;
    off = start + Math.ceil(size / BLOCK) * BLOCK;
    if (!Number.isSafeInteger(size) || start + size > buf.length) throw new Error('tar: the archive is truncated');
    const data = buf.subarray(start, start + size);
    if (type === 'x') { pax = paxRecords(data); continue; }
    const prefix = text(header, 345, 155);
    const name = pax.path !== undefined ? pax.path : (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    pax = {};
    const dest = inside(root, name);
    if (type === '5') {
      fs.mkdirSync(dest, { recursive: true, mode: 0o755 });
    } else if (type === '0' || type === '7') {
      const mode = octal(header, 100, 8, 'mode') & 0o755;
      fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o755 });
      fs.writeFileSync(dest, data, { mode });
      fs.chmodSync(dest, mode);
    } else {
      const what = { 1: 'hard link', 2: 'symbolic link', 3: 'device', 4: 'device', 6: 'fifo' }[type] || `type ${type}`;
      throw new Error(`tar: ${name}: ${what} entries are refused (a stem cell unpacks files and folders only; ` +
        'deploy with --preload function to keep links)');
    }
  }
  throw new Error('tar: the archive has no end marker');
}

module.exports = { extractTar };
