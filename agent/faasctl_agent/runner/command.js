'use strict';
/*
 * Command mode for the Node.js runner (the seed's contract): the runtime's run command
 * once per call, params as JSON on stdin, stdout the result. Bounded as runner.py bounds
 * it: stdout kept up to RESULT_LIMIT (past that the command is killed), stderr up to
 * LOG_LIMIT (the rest read and dropped), and a failure named by its cause (the memory
 * limit, a signal, or its own exit status), in runner.py's words.
 */
const fs = require('fs');
const os = require('os');
const childProcess = require('child_process');

const LOG_LIMIT = 64 * 1024;
// The largest reply line (the result, JSON-encoded, with its log): the agent's framing
// (faasctl_agent/framing.py RESULT_LIMIT) and runner.py keep the same figure.
const RESULT_LIMIT = 32 * 1024 * 1024;
const MIB = 1024 * 1024;

function splitOnce(text, sep) {
  const at = text.indexOf(sep);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
}

function runCommand(command, cwd, params) {
  const oomBefore = oomKills();
  return new Promise((resolve) => {
    const child = childProcess.spawn('/bin/sh', ['-c', command], { cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const kept = { out: [], err: [] };
    const size = { out: 0, err: 0 };
    const limit = { out: RESULT_LIMIT, err: LOG_LIMIT };
    let over = false;
    const take = (name) => (chunk) => {
      const room = limit[name] - size[name];
      if (name === 'out' && chunk.length > room && !over) {
        over = true;
        try { process.kill(-child.pid, 'SIGKILL'); } catch (_) { /* already gone */ }
      }
      if (room > 0) kept[name].push(chunk.subarray(0, room));
      size[name] += chunk.length;
    };
    child.stdout.on('data', take('out'));
    child.stderr.on('data', take('err'));
    child.stdin.on('error', () => {}); // a command that does not read its stdin
    child.on('error', (err) => resolve({ ok: false, cause: 'exit', log: '', error: `command did not start: ${err.message}` }));
    child.on('close', (code, signal) => {
      const log = Buffer.concat(kept.err).toString('utf8');
      const result = Buffer.concat(kept.out).toString('utf8').replace(/\n+$/, '');
      if (over) {
        resolve({ ok: false, log, cause: 'output', error: `output over its limit: the function printed more than ${RESULT_LIMIT / MIB} MiB on stdout, the result's limit; it was stopped` });
        return;
      }
      const status = signal ? -(os.constants.signals[signal] || 0) : code;
      if (status !== 0) {
        resolve({ ok: false, log, result, ...exitCause(status, oomKills() > oomBefore) });
        return;
      }
      resolve({ ok: true, result, log });
    });
    child.stdin.end(JSON.stringify(params));
  });
}

function cgroupValue(v2Name, v1Path, key) {
  // A number from this container's cgroup (v2 first, then v1); null if unreadable.
  for (const file of ['/sys/fs/cgroup/' + v2Name, '/sys/fs/cgroup/memory/' + v1Path]) {
    let text;
    try { text = fs.readFileSync(file, 'utf8'); } catch (_) { continue; }
    if (!key) return /^\d+$/.test(text.trim()) ? Number(text.trim()) : null;
    for (const line of text.split('\n')) {
      const [name, value] = splitOnce(line, ' ');
      if (name === key && /^\d+$/.test(value.trim())) return Number(value);
    }
    return null;
  }
  return null;
}

function oomKills() {
  return cgroupValue('memory.events', 'memory.oom_control', 'oom_kill') || 0;
}

function exitCause(code, oom) {
  // Name why a command failed: the memory limit, a signal, or its own exit status.
  const signum = code < 0 ? -code : (code > 128 ? code - 128 : 0);
  const sig = os.constants.signals;
  if (oom) {
    const max = cgroupValue('memory.max', 'memory.limit_in_bytes');
    const where = max ? ` of ${Math.floor(max / MIB)} MiB` : '';
    return { cause: 'oom', error: `out of memory: the function passed its memory limit${where} and was killed (raise it with --memory)` };
  }
  if (code < 0 || [sig.SIGKILL, sig.SIGTERM, sig.SIGSEGV, sig.SIGABRT].includes(signum)) {
    const what = Object.keys(sig).find((name) => sig[name] === signum) || `signal ${signum}`;
    return { cause: 'signal', error: `command killed by ${what} (exit status ${code})` };
  }
  return { cause: 'exit', error: `command exited with status ${code}` };
}

module.exports = { runCommand, splitOnce, LOG_LIMIT, RESULT_LIMIT, MIB };
