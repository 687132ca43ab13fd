// Process handling shared by the Node.js test suites (tests/vonage-sdk,
// tests/browser), as tests/integration/kvtest does it for Python: the
// child environment with the abuse limits off, the CLI, one Child class for
// every program started on 127.0.0.1 (server and simulator alike: stopped
// with a check of its stderr, a server's also scanned for PINs, numbers
// and secrets; killed when this process exits), temp dirs, and the
// constants and polling tests share.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { accessSync, constants, mkdtempSync, readFileSync, readdirSync,
  rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The repository's root directory. */
export const ROOT = path.resolve(HERE, '..', '..');

/** The server binary: $KOOKOOVERIFY_BIN, else bin/kookooverify. */
export const BIN = process.env.KOOKOOVERIFY_BIN ||
  path.join(ROOT, 'bin', 'kookooverify');

const READY_TIMEOUT_MS = 10000; // for a "listening on" line
const STOP_TIMEOUT_MS = 10000; // for a clean exit after SIGTERM
const CLI_TIMEOUT_MS = 20000; // migrate, keys create

/** Milliseconds every HTTP request a test makes may take. */
export const HTTP_TIMEOUT_MS = 5000;

/**
 * LIMITS_OFF of tests/integration/kvtest/config.py: the abuse limits have
 * their own tests, and these suites send more per key, number and address
 * than the default limits allow.
 */
export const LIMITS_OFF = {
  KOOKOOVERIFY_LIMIT_KEY_RPS: '0',
  KOOKOOVERIFY_LIMIT_NUMBER_MAX: '0',
  KOOKOOVERIFY_LIMIT_PREFIX_PER_HOUR: '0',
  KOOKOOVERIFY_LIMIT_IP_CHECKS_PER_MIN: '0',
  KOOKOOVERIFY_LIMIT_IP_AUTH_FAILURES_PER_MIN: '0',
  KOOKOOVERIFY_FRAUD_REPORTS_BLOCK: '0',
  KOOKOOVERIFY_FRAUD_MIN_VOLUME: '0',
};

/** What in a child's stderr means a sanitizer report. */
export const SANITIZER_MARKS = ['runtime error:', 'ERROR: AddressSanitizer',
  'LeakSanitizer'];

/** A request_id as the server makes them: 32 lowercase hex digits. */
export const REQUEST_ID_RE = /^[0-9a-f]{32}$/;

/** A date and time as Verify v1 replies carry them. */
export const DATETIME_RE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

/** The error_text of a check with a wrong code (status 16). */
export const CODE_MISMATCH =
  'The code provided does not match the expected value';

// Every Child started and not stopped yet.
const children = new Set();

// The log scan, as tests/integration/kvtest/logscan.py does it for Python:
// what tests note (PINs, secrets) and any full Indian mobile number must
// not be in a server's log; the scan runs when the server is stopped.
const notedPins = new Set();
const notedSecrets = new Set();
const FULL_NUMBER_RE = /(?<![0-9A-Za-z])(?:\+?91)?[6-9][0-9]{9}(?![0-9A-Za-z])/;
// A line's own time is left out (its digits are not a PIN).
const LINE_TIME_RE = /^(\{"time":"[^"]*"|\d{4}-\d\d-\d\dT[0-9:.]+Z)/;

// The numeric fields the server logs (LOG_INT, LOG_DOUBLE in its source):
// counters, ids and sizes, so a job numbered 1234 is not the PIN 1234.
function counterValueRe() {
  const names = new Set();
  for (const dir of ['src', 'ivr']) {
    for (const f of readdirSync(path.join(ROOT, dir))) {
      if (!f.endsWith('.c'))
        continue;
      const text = readFileSync(path.join(ROOT, dir, f), 'utf8');
      for (const m of text.matchAll(/LOG_(?:INT|DOUBLE)\(\s*"([a-z_]+)"/g))
        if (!/pin|code|otp/.test(m[1]))
          names.add(m[1]);
    }
  }
  const alt = [...names].sort().join('|') || '(?!)';
  return new RegExp(`(?<= )((?:${alt})=)-?[0-9.]+(?= |$)|` +
    `("(?:${alt})":)-?[0-9.]+(?=[,}])`, 'g');
}
let counterValues = null;

/**
 * A PIN a test read or sent: no server log line may hold it as a token.
 * @param {string} pin 4 to 10 digits (anything else is ignored)
 */
export function notePin(pin) {
  if (typeof pin === 'string' && /^[0-9]{4,10}$/.test(pin))
    notedPins.add(pin);
}

/**
 * A secret (API secret, operator token): no server log line may hold it.
 * @param {string} secret at least 8 characters (shorter ones are ignored)
 */
export function noteSecret(secret) {
  if (typeof secret === 'string' && secret.length >= 8)
    notedSecrets.add(secret);
}

/**
 * The first line of a server's log that holds a full number, a noted
 * PIN or a noted secret, and what it holds; null when there is none.
 * @param {string} log the server's stderr
 * @returns {string|null}
 */
export function logLeak(log) {
  for (const raw of log.split('\n')) {
    const line = raw.replace(LINE_TIME_RE, '');
    if (FULL_NUMBER_RE.test(line))
      return `a full phone number: ${raw}`;
    for (const s of notedSecrets)
      if (line.includes(s))
        return `a secret: ${raw}`;
    counterValues ??= counterValueRe();
    const scanned = line.replace(counterValues, '$1$2#');
    for (const tok of scanned.match(
      /(?<![0-9A-Za-z])[0-9]{4,10}(?![0-9A-Za-z])/g) ?? [])
      if (notedPins.has(tok))
        return `a PIN (${tok}): ${raw}`;
  }
  return null;
}

// No child outlives this process, whatever happens to the tests.
process.on('exit', () => {
  for (const c of children)
    c.kill();
});

/**
 * The environment for a child (server, CLI or simulator): this process's
 * without inherited KOOKOOVERIFY_* variables, plus LIMITS_OFF, the IVR
 * templates by path (children run in temp dirs) and `extra`.
 * @param {Object<string, string>} [extra] variables to add, full names
 * @returns {Object<string, string>} a new object
 */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('KOOKOOVERIFY_'))
      env[k] = v;
  }
  return Object.assign(env, LIMITS_OFF, {
    KOOKOOVERIFY_XML_TEMPLATES: path.join(ROOT, 'xml_templates'),
  }, extra);
}

/**
 * Fails with "WHAT not found at P (HINT)" unless `p` is an executable file.
 * @param {string} what what the file is, for the message
 * @param {string} p its path
 * @param {string} hint how to get it
 */
export function requireExecutable(what, p, hint) {
  try {
    accessSync(p, constants.X_OK);
  } catch {
    assert.fail(`${what} not found at ${p} (${hint})`);
  }
}

/**
 * Runs `kookooverify ARGS` (BIN) to its end.
 * @param {string[]} args its arguments
 * @param {{cwd?: string, env?: Object<string, string>}} [opts] where it
 *   runs and its environment (default cleanEnv())
 * @returns {string} its stdout; fails the test with its stdout and stderr
 *   when it exits non-zero or takes longer than 20 s
 */
export function runCli(args, { cwd, env = cleanEnv() } = {}) {
  try {
    const out = execFileSync(BIN, args, {
      env, cwd, encoding: 'utf8', timeout: CLI_TIMEOUT_MS,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const t of out.match(/kvop_[0-9a-f]{64}/g) ?? [])
      noteSecret(t);
    return out;
  } catch (e) {
    assert.fail(`kookooverify ${args.join(' ')} failed (${e.status ?? e}):` +
      `\nstdout:\n${e.stdout ?? ''}\nstderr:\n${e.stderr ?? ''}`);
  }
}

/**
 * The first JSON object line of a CLI's output (e.g. `keys create --json`).
 * @param {string} out the output
 * @param {string} what the command, for the message when there is none
 * @returns {Object} that line parsed
 */
export function jsonLine(out, what) {
  const line = out.split('\n').find((l) => l.trim().startsWith('{'));
  assert.ok(line, `${what} printed no JSON line:\n${out}`);
  const obj = JSON.parse(line);
  noteSecret(obj.api_secret);
  return obj;
}

/**
 * A new temp dir for one suite's run; teardown() removes it.
 * @param {string} label the suite, in the dir's name (kvtest-LABEL-XXXXXX)
 * @returns {string} its path
 */
export function makeTempDir(label) {
  return mkdtempSync(path.join(tmpdir(), `kvtest-${label}-`));
}

/**
 * One program under test on 127.0.0.1, server or simulator alike: the
 * Node.js twin of tests/integration/kvtest/process.py's Child. start()
 * waits for "listening on 127.0.0.1:PORT"; the child is killed when this
 * process exits, and stop() (called by teardown()) asserts its clean exit.
 */
export class Child {
  /**
   * @param {string} name the child, for messages (e.g. "server")
   * @param {string} bin the executable
   * @param {string[]} args its arguments (a --listen on 127.0.0.1)
   * @param {{cwd?: string, env?: Object<string, string>}} [opts] where it
   *   runs and its environment (default cleanEnv())
   */
  constructor(name, bin, args, { cwd, env = cleanEnv() } = {}) {
    this.name = name;
    this.bin = bin;
    this.args = args;
    this.cwd = cwd;
    this.env = env;
    /** @type {import('node:child_process').ChildProcess | null} */
    this.proc = null;
    /** The last 200000 characters it wrote to stderr. */
    this.stderr = '';
    this.port = 0;
  }

  /**
   * Starts it and waits for its "listening on" line.
   * @returns {Promise<number>} its port; rejects when it exits first or
   *   after 10 s (then killed)
   */
  start() {
    return new Promise((resolve, reject) => {
      const proc = spawn(this.bin, this.args, { env: this.env, cwd: this.cwd,
        stdio: ['ignore', 'pipe', 'pipe'] });
      this.proc = proc;
      children.add(this);
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (s) => {
        this.stderr = (this.stderr + s).slice(-200000);
      });
      const seen = [];
      let done = false;
      const finish = (err, port) => {
        if (done)
          return;
        done = true;
        clearTimeout(timer);
        if (err) {
          reject(err);
        } else {
          this.port = port;
          resolve(port);
        }
      };
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        finish(new Error(`${this.name} did not print "listening on ` +
          `127.0.0.1:PORT" within ${READY_TIMEOUT_MS} ms; stdout: ` +
          `${JSON.stringify(seen)}\nstderr:\n${this.stderr}`));
      }, READY_TIMEOUT_MS);
      createInterface({ input: proc.stdout }).on('line', (line) => {
        if (seen.length < 50)
          seen.push(line);
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(line);
        if (m)
          finish(null, Number(m[1]));
      });
      proc.on('error', (e) => finish(e));
      proc.on('exit', (code, sig) => finish(new Error(`${this.name} exited ` +
        `(${code ?? sig}) before listening; stdout: ${JSON.stringify(seen)}` +
        `\nstderr:\n${this.stderr}`)));
    });
  }

  /** @returns {boolean} whether it has not exited (yet) */
  running() {
    return this.proc !== null && this.proc.exitCode === null &&
      this.proc.signalCode === null;
  }

  /** SIGKILL, when this process exits with the child still running. */
  kill() {
    if (this.running())
      this.proc.kill('SIGKILL');
  }

  /**
   * SIGTERM, then a clean exit with status 0 and no sanitizer report.
   * @returns {Promise<string|null>} why not (after a SIGKILL when it did
   *   not exit in time), with its stderr; null when it stopped cleanly
   */
  async stop() {
    const { proc } = this;
    let failure = null;
    if (proc === null || proc.pid === undefined) {
      failure = `${this.name} never started`;
    } else if (this.running()) {
      const exited = new Promise((resolve) => proc.once('exit',
        (code, sig) => resolve({ code, sig })));
      proc.kill('SIGTERM');
      const timeout = new Promise((resolve) => setTimeout(
        () => resolve(null), STOP_TIMEOUT_MS).unref());
      const res = await Promise.race([exited, timeout]);
      if (res === null) {
        proc.kill('SIGKILL');
        failure = `${this.name} did not exit within ${STOP_TIMEOUT_MS} ms ` +
          'of SIGTERM; killed it';
      } else if (res.code !== 0) {
        failure = `${this.name} exited with ${res.code ?? res.sig} after ` +
          'SIGTERM, expected 0';
      }
    } else if (proc.exitCode !== 0) {
      failure = `${this.name} had exited with ` +
        `${proc.exitCode ?? proc.signalCode} before the end of the tests`;
    }
    if (!failure && SANITIZER_MARKS.some((m) => this.stderr.includes(m)))
      failure = `sanitizer report in ${this.name}'s stderr`;
    const leak = !failure && this.bin === BIN ? logLeak(this.stderr) : null;
    if (leak)
      failure = `${this.name} logged ${leak}`;
    children.delete(this);
    return failure ? `${failure}\nstderr:\n${this.stderr}` : null;
  }
}

/**
 * The end of a suite: stops every Child started (SIGTERM,
 * SIGKILL after 10 s), each of which must exit with 0 and no sanitizer
 * report; removes `dir` unless something failed, `keep` or
 * $KOOKOOVERIFY_KEEP_TMP (then says it kept it); then fails with every
 * failure, the given ones first.
 * @param {string|null} dir the suite's temp dir (makeTempDir), if any
 * @param {string} label the suite, for the "[LABEL] kept DIR" line
 * @param {{failures?: string[], keep?: boolean}} [opts] failures the suite
 *   had in its own teardown; keep the dir (e.g. the setup failed)
 */
export async function teardown(dir, label, { failures = [], keep = false }
  = {}) {
  const all = [...failures];
  for (const c of [...children]) {
    const f = await c.stop();
    if (f)
      all.push(f);
  }
  if (dir && (keep || all.length > 0 || process.env.KOOKOOVERIFY_KEEP_TMP))
    process.stderr.write(`[${label}] kept ${dir}\n`);
  else if (dir)
    rmSync(dir, { recursive: true, force: true });
  if (all.length)
    assert.fail(all.join('\n\n'));
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for a server that
 * must know its own URL before it starts.
 * @returns {Promise<number>} the port
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Calls fn until the value it resolves to is defined.
 * @param {() => Promise<{value: *, last: *}>} fn one try: value, or
 *   undefined to try again; last, what to show when time runs out
 * @param {number} ms how long to try
 * @param {string} what what is awaited, for the message
 * @param {number} [intervalMs] the pause between tries
 * @returns {Promise<*>} that value; fails the test after `ms` with `what`
 *   and the last `last`
 */
export async function pollUntil(fn, ms, what, intervalMs = 100) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await fn();
    if (r.value !== undefined)
      return r.value;
    if (Date.now() > deadline) {
      assert.fail(`waited ${ms} ms for ${what}; last seen: ` +
        JSON.stringify(r.last));
    }
    await new Promise((res) => setTimeout(res, intervalMs));
  }
}
