'use strict';
/*
 * faasctl in-container runner for Node.js: runner.py's twin, for images without python3.
 *
 * Node's standard library only (any node >= 16). It speaks the same newline-delimited
 * JSON with the agent over stdin and stdout, one message at a time, and stays up between
 * calls, so a warm call costs a pipe round trip:
 *
 * in:  {"op": "init", "mode": "handler"|"command", "path", "handler", "run", "kind",
 *       "function": {"name", "version", "memory_mb", "timeout"}}
 *      (optional "env": {NAME: value}, set before the function loads; "secrets":
 *       {name: base64 value}, written as root under SECRETS_DIR before the drop; a stem
 *       cell's init also carries "code"/"deps": base64 tars unpacked as root,
 *       root-owned, before the runner drops to "user" for good)
 *      {"op": "call", "id", "params", "deadline"?, "http"?} (http: serve's /function/NAME)
 * out: {"op": "ready"} once, then one reply per message in, with "id" and "ms".
 * The lines go over the agent's Unix socket when the agent mounted one (FAASCTL_SOCKET),
 * else over stdin and stdout (Docker's attach stream), as runner.py does.
 */
const fs = require('fs');
const net = require('net');
const path = require('path');
const { StringDecoder } = require('string_decoder');
const { pathToFileURL } = require('url');
const { runCommand, splitOnce, LOG_LIMIT, RESULT_LIMIT, MIB } = require('./command.js');
const lambda = require('./lambda.js');
const { extractTar } = require('./ustar.js');

const SECRETS_DIR = '/var/run/secrets/faasctl'; // a tmpfs (faasctl_agent.fnconfig keeps the same path)

// The protocol owns the real stdout; what a function prints is captured during its call
// (bounded) and goes to stderr otherwise.
const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
let protocol = write.out; // the agent's socket's write once connected
let capture = null;

class BoundedLog {
  constructor() { this.parts = []; this.size = 0; }
  add(text) {
    const room = LOG_LIMIT - this.size;
    if (room > 0) {
      const kept = text.slice(0, room);
      this.parts.push(kept);
      this.size += kept.length;
    }
  }
  value() { return this.parts.join(''); }
}

function redirect(stream) {
  stream.write = function (chunk, encoding, cb) {
    if (typeof encoding === 'function') { cb = encoding; }
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (capture) capture.add(text); else write.err(text);
    if (typeof cb === 'function') process.nextTick(cb);
    return true;
  };
}

function send(msg) {
  let line = JSON.stringify(msg);
  const size = Buffer.byteLength(line);
  if (size > RESULT_LIMIT) {
    line = JSON.stringify({
      id: msg.id, ms: msg.ms, ok: false, cause: 'result', log: String(msg.log || '').slice(0, LOG_LIMIT),
      error: `result over its limit: the reply is ${size} bytes, the limit is ${RESULT_LIMIT / MIB} MiB`,
    });
  }
  protocol(line + '\n');
}

function agentSocket() {
  // The agent's socket in its read-only folder, connected before any privilege is dropped;
  // null when there is none or it cannot be reached within 10 s.
  const where = process.env.FAASCTL_SOCKET;
  if (!where) return Promise.resolve(null);
  return new Promise((resolve) => {
    const sock = net.createConnection(where);
    const timer = setTimeout(() => { sock.destroy(); resolve(null); }, 10000);
    sock.once('connect', () => { clearTimeout(timer); sock.removeAllListeners('error'); resolve(sock); });
    sock.once('error', () => { clearTimeout(timer); sock.destroy(); resolve(null); });
  });
}

function errorText(err) {
  return (err && err.stack) ? String(err.stack) : String(err);
}

function asResult(value) {
  return typeof value === 'string' ? value : JSON.stringify(value === undefined ? null : value);
}

async function loadModule(root, name) {
  const base = path.resolve(root, name);
  if (!base.startsWith(path.resolve(root) + path.sep)) throw new Error(`handler module ${name} is outside the code`);
  if (fs.existsSync(base + '.mjs')) return import(pathToFileURL(base + '.mjs').href);
  try {
    return require(base);
  } catch (err) {
    if (err && err.code === 'ERR_REQUIRE_ESM') return import(pathToFileURL(require.resolve(base)).href);
    throw err;
  }
}

class Runner {
  constructor() {
    this.mode = null; this.kind = 'native'; this.path = '.'; this.run = ''; this.fn = null; this.init_ = {};
    this.failCall = null; // rejects the call in progress (an uncaught error of the function)
  }

  async init(msg) {
    if (process.getuid && process.getuid() === 0) unpackAndDrop(msg);
    else if (msg.secrets && Object.keys(msg.secrets).length) {
      throw new Error('secrets need a container started as root to place them; redeploy the function');
    }
    Object.assign(process.env, msg.env || {}); // before the handler module is loaded
    this.init_ = msg;
    this.mode = msg.mode || 'command';
    this.kind = msg.kind || 'native';
    this.path = msg.path || '.';
    this.run = msg.run || '';
    process.chdir(this.path);
    if (this.mode !== 'handler') return { ok: true };
    if (this.kind === 'lambda') {
      const [moduleName, names] = lambda.splitHandler(msg.handler || 'index.handler');
      lambda.setEnv(msg, this.path);
      this.fn = lambda.pick(await loadModule(this.path, moduleName), names, msg.handler || 'index.handler');
    } else if (this.kind === 'native') {
      const [moduleName, attr] = splitOnce(msg.handler || 'index:handle', ':');
      const mod = await loadModule(this.path, moduleName);
      this.fn = mod[attr || 'handle'] || (mod.default && mod.default[attr || 'handle']);
      if (typeof this.fn !== 'function') {
        throw new Error(`${moduleName} exports no function named ${attr || 'handle'} (module.exports.${attr || 'handle'} = async (params) => ...)`);
      }
    } else {
      throw new Error(`kind ${this.kind} is not served by the Node.js runner (native or lambda)`);
    }
    return { ok: true };
  }

  call(msg) {
    const params = msg.params === undefined ? null : msg.params;
    if (this.mode !== 'handler') return runCommand(this.run, this.path, params);
    return this.kind === 'lambda' ? this.callLambda(msg) : this.callHandler(params);
  }

  async callHandler(params) {
    const log = new BoundedLog();
    capture = log;
    try {
      const value = await this.guarded(() => this.fn(params));
      return { ok: true, result: asResult(value), log: log.value() };
    } catch (err) {
      return { ok: false, error: errorText(err), log: log.value() };
    } finally {
      capture = null;
    }
  }

  async callLambda(msg) {
    const log = new BoundedLog();
    capture = log;
    try {
      const value = await this.guarded(() => lambda.invoke(this.fn, lambda.event(msg), lambda.context(this.init_, msg)));
      return { ok: true, result: JSON.stringify(value === undefined ? null : value), log: log.value() };
    } catch (err) {
      return { ok: false, error: JSON.stringify(lambda.errorShape(err, msg.id)), log: log.value() };
    } finally {
      capture = null;
    }
  }

  guarded(start) {
    return new Promise((resolve, reject) => {
      this.failCall = reject;
      Promise.resolve().then(start).then(resolve, reject);
    }).finally(() => { this.failCall = null; });
  }
}

function unpackAndDrop(msg) {
  // Stem cell: place code and deps (root-owned, so read-only to the function), then become
  // the unprivileged user; from here on no capability is left.
  for (const [key, target] of [['code', msg.path || '.'], ['deps', '/deps']]) {
    if (msg[key]) extractTar(Buffer.from(msg[key], 'base64'), target);
  }
  const [uid, gid] = splitOnce(String(msg.user || '65534:65534'), ':');
  process.setgroups([]);
  process.setgid(Number(gid || uid));
  placeSecrets(msg.secrets || {}); // still root, already in the function's group
  process.setuid(Number(uid));
}

function placeSecrets(secrets) {
  // Each secret as SECRETS_DIR/NAME, owned by root and the function's group, mode 0440:
  // the function can read it but neither change, chmod nor remove it (a 0750 tmpfs).
  const c = fs.constants;
  for (const [name, value] of Object.entries(secrets)) {
    if (!name || name.includes('/') || name.startsWith('.')) throw new Error(`bad secret name ${JSON.stringify(name)}`);
    const fd = fs.openSync(path.join(SECRETS_DIR, name), c.O_WRONLY | c.O_CREAT | c.O_EXCL | c.O_NOFOLLOW, 0o440);
    try {
      fs.fchmodSync(fd, 0o440); // whatever the umask
      fs.writeSync(fd, Buffer.from(String(value), 'base64'));
    } finally {
      fs.closeSync(fd);
    }
  }
}

async function main() {
  const sock = await agentSocket();
  const input = sock || process.stdin;
  if (sock) {
    protocol = sock.write.bind(sock);
    sock.on('error', () => process.exit(0)); // the agent is gone: so is the reason to run
  }
  redirect(process.stdout);
  redirect(process.stderr);
  const runner = new Runner();
  // A function's stray error (a throw in a timer, a rejected promise nobody awaits) fails
  // the call in progress, as it would on Lambda, instead of ending the runner.
  const stray = (err) => {
    if (runner.failCall) runner.failCall(err); else write.err(`faasctl runner: ${errorText(err)}\n`);
  };
  process.on('uncaughtException', stray);
  process.on('unhandledRejection', stray);
  send({ op: 'ready', pid: process.pid, node: process.versions.node });

  const decoder = new StringDecoder('utf8');
  const lines = [];
  let buffered = '';
  let busy = false;
  let ended = false;

  async function handle(line) {
    const started = process.hrtime.bigint();
    let msg = {};
    let reply;
    try {
      msg = JSON.parse(line);
      const op = msg && msg.op;
      if (op === 'call') reply = await runner.call(msg);
      else if (op === 'init') reply = await runner.init(msg);
      else reply = { ok: false, error: `unknown op ${JSON.stringify(op === undefined ? null : op)}` };
    } catch (err) {
      reply = { ok: false, error: errorText(err) };
    }
    reply.id = (msg && typeof msg === 'object' && msg.id !== undefined) ? msg.id : null;
    reply.ms = Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3;
    send(reply);
  }

  async function pump() {
    if (busy) return;
    busy = true;
    while (lines.length) await handle(lines.shift());
    busy = false;
    if (ended) process.exit(0);
  }

  input.on('data', (chunk) => {
    let from = buffered.length;
    buffered += decoder.write(chunk);
    let at;
    while ((at = buffered.indexOf('\n', from)) >= 0) {
      lines.push(buffered.slice(0, at));
      buffered = buffered.slice(at + 1);
      from = 0;
    }
    pump();
  });
  input.on('end', () => { ended = true; if (!busy) process.exit(0); });
}

main();
