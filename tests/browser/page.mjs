// What the browser tests share (demo.test.mjs, webotp.test.mjs, and the
// process helpers console.test.mjs uses): the
// KooKoo simulator and kookooverify servers with the demo on, Chromium
// (Debian's, driven by playwright-core), and a recorded page on the demo
// with the steps a person takes in the SDK's widget.
//
// The test starts everything itself: the simulator on 127.0.0.1:0, then per
// server a temp dir, `migrate`, a secret key for the backend checks, a
// publishable key for the page's origin (a port picked before the start) and
// `serve --set demo=1`; and a small node http server for the foreign page.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { BIN, CODE_MISMATCH, Child, DATETIME_RE, HTTP_TIMEOUT_MS,
  REQUEST_ID_RE, ROOT, freePort, jsonLine, makeTempDir, notePin, pollUntil,
  requireExecutable, runCli, teardown } from '../node/harness.mjs';

// The simulator next to the server binary (-san beside a -san server),
// as tests/integration/harness.py picks it.
const SIM_BIN = process.env.KOOKOO_SIM_BIN || [
  BIN.endsWith('-san') ? path.join(path.dirname(BIN), 'kookoo-sim-san') : '',
  path.join(path.dirname(BIN), 'kookoo-sim'),
  path.join(ROOT, 'bin', 'kookoo-sim'),
].find((p) => p && existsSync(p)) || path.join(ROOT, 'bin', 'kookoo-sim');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

const WAIT_MS = 20000; // what a person would see, at the latest
const SLOW_WAIT_MS = 60000; // a countdown or an expiry to run out
const POLL_MS = 200; // between two polls of the server or the simulator

const BRAND = 'KookooVerify demo'; // what demo/demo.js sends

// Each test verifies its own number (10 digits, as a person types it; the
// server makes it 91 + the 10 digits).
const NUMBERS = {
  happy: '9812300001',
  wrong: '9812300002',
  resend: '9812300003',
  expiry: '9812300004',
  foreign: '9812300005',
  reload: '9812300006',
  webotp: '9812300007',
  webotpTyped: '9812300008',
  webotpAbsent: '9812300009',
  missed: '9812300010',
};
// The demo server with missed calls: its DID and inbound path.
const MISSED_DID = '08040000001';
const MISSED_PATH = 'browser-inbound-secret-01';
const e164 = (n) => '91' + n;

// ---- processes ----------------------------------------------------------

const state = {
  dir: null, // one temp dir for everything
  sim: null,
  kv: null, // demo server: normal timings, short resend cooldown
  kvExpiry: null, // demo server: short PIN expiry, the call after 1 s
  kvMissed: null, // demo server whose publishable key enables missed calls
  browser: null,
  failed: false,
};

async function startSim() {
  const dir = path.join(state.dir, 'sim');
  mkdirSync(dir);
  const child = new Child('kookoo-sim', SIM_BIN,
    ['--listen', '127.0.0.1:0', '--quiet'], { cwd: dir });
  const port = await child.start();
  return { child, port, base: `http://127.0.0.1:${port}` };
}

// A kookooverify server with the demo on, wired to the simulator. Returns
// { child, port, origin, pk, secret }.
async function startServer(name, settings) {
  const dir = path.join(state.dir, name);
  mkdirSync(dir);
  const db = path.join(dir, 'kv.db');
  runCli(['migrate', '--db', db], { cwd: dir });
  const secret = jsonLine(runCli(['keys', 'create', '--name', 'backend',
    '--db', db, '--json'], { cwd: dir }), 'keys create --json');
  assert.ok(secret.api_key && secret.api_secret,
    `keys create --json: ${JSON.stringify(secret)}`);

  // The port is only known free until someone else takes it: try again
  // with a new port (and a key for its origin) when the start fails.
  let lastError = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const pk = jsonLine(runCli(['keys', 'create', '--publishable',
      '--owner', secret.api_key, '--origin', origin, '--db', db, '--json'],
    { cwd: dir }),
    'keys create --publishable --json');
    assert.match(pk.api_key ?? '', /^pk_/,
      `publishable key: ${JSON.stringify(pk)}`);
    assert.equal(pk.api_secret, undefined,
      `a publishable key has no secret: ${JSON.stringify(pk)}`);
    const all = {
      demo: '1',
      demo_root: ROOT,
      demo_key: pk.api_key,
      demo_inbox_url: state.sim.base,
      kookoo_base_url: `${state.sim.base}/outbound`,
      kookoo_api_key: 'test',
      public_base_url: origin,
      call_window: '00:00-00:00', // calls at any hour
      retry_base_ms: '100',
      retry_max_ms: '400',
      kookoo_timeout_ms: '2000',
      ...settings,
    };
    const args = ['serve', '--listen', `127.0.0.1:${port}`, '--db', db];
    for (const [k, v] of Object.entries(all))
      args.push('--set', `${k}=${v}`);
    try {
      const child = new Child(`kookooverify (${name})`, BIN, args,
        { cwd: dir });
      await child.start();
      return { child, port, origin, pk: pk.api_key, secret };
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

// ---- HTTP from the test (a backend, or a page's request replayed) ----

// One request; resolves { status, headers, text, data } (data: parsed JSON
// or null).
function request(method, url, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers,
      timeout: HTTP_TIMEOUT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s) => { text += s; });
      res.on('end', () => {
        let data = null;
        try {
          data = JSON.parse(text);
        } catch { /* not JSON: data stays null */ }
        resolve({ status: res.statusCode, headers: res.headers, text, data });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no ` +
      `reply within ${HTTP_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    if (body !== undefined)
      req.write(body);
    req.end();
  });
}

// The Verify API as a page of `origin` calls it with the publishable key.
function pkPost(server, apiPath, params, origin = server.origin) {
  return request('POST', `${server.origin}${apiPath}`, {
    headers: { 'Content-Type': 'application/json', Origin: origin },
    body: JSON.stringify({ api_key: server.pk, ...params }),
  });
}

// The backend's token check: secret key over HTTP Basic, form body.
function tokenCheck(server, params) {
  const basic = Buffer.from(`${server.secret.api_key}:` +
    `${server.secret.api_secret}`).toString('base64');
  return request('POST', `${server.origin}/verify/token/json`, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${basic}` },
    body: new URLSearchParams(params).toString(),
  });
}

async function simInbox(number) {
  const r = await request('GET', `${state.sim.base}/sim/inbox?phone_no=` +
    encodeURIComponent(number));
  assert.equal(r.status, 200, `sim inbox: ${r.text}`);
  return r.data;
}

// A search as the page that started the verification makes it: with the
// visitor's handle, which the server requires.
async function searchStatus(server, requestId, handle) {
  const r = await pkPost(server, '/verify/search/json',
    { request_id: requestId, handle });
  return r.data?.status;
}

// The visitor's handle, where the widget keeps it (the tab's
// sessionStorage, so that a reload resumes).
function pageHandle(rec) {
  return rec.page.evaluate((k) =>
    sessionStorage.getItem(`kookooverify.handle.${k}`), rec.server.pk);
}

// ---- the page -------------------------------------------------------------

// A page on the demo with everything it does recorded: the requests it
// makes, its errors, the widget's events and every state the resend button
// went through (a MutationObserver, so a short countdown is not missed).
async function openDemo(server, viewport = { width: 1280, height: 900 },
  initScript = null, initArg = undefined) {
  const context = await state.browser.newContext({ viewport });
  if (initScript)
    await context.addInitScript(initScript, initArg);
  const page = await context.newPage();
  const rec = { requests: [], errors: [], context, page, server };
  page.on('request', (r) => rec.requests.push(r.url()));
  page.on('response', (r) => {
    if (r.status() >= 400)
      rec.errors.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  page.on('pageerror', (e) => rec.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error')
      rec.errors.push(`console.error: ${m.text()}`);
  });
  await context.addInitScript(() => {
    window.__kv = { verified: [], started: [], errors: [], resend: [] };
    const lists = { 'kookoo-verified': 'verified',
      'kookoo-started': 'started', 'kookoo-error': 'errors' };
    for (const [type, key] of Object.entries(lists)) {
      window.addEventListener(type, (e) => {
        const d = e.detail || {};
        window.__kv[key].push(type === 'kookoo-error' ?
          { action: d.action, status: d.status, errorText: d.errorText } :
          d);
      }, true);
    }
    const seen = (b) => {
      const s = { text: b.textContent.trim(), disabled: b.disabled,
        hidden: b.hidden };
      const last = window.__kv.resend[window.__kv.resend.length - 1];
      if (!last || last.text !== s.text || last.disabled !== s.disabled ||
          last.hidden !== s.hidden)
        window.__kv.resend.push(s);
    };
    new MutationObserver(() => {
      const b = document.querySelector('[data-kv="resend"]');
      if (b)
        seen(b);
    }).observe(document, { subtree: true, childList: true,
      characterData: true, attributes: true,
      attributeFilter: ['disabled', 'hidden'] });
  });
  // Without the slash: the server redirects to /demo/.
  const res = await page.goto(`${server.origin}/demo`);
  assert.equal(res?.status(), 200, `GET /demo -> ${res?.status()}`);
  assert.equal(new URL(page.url()).pathname, '/demo/',
    `GET /demo ends on ${page.url()}`);
  await page.locator('[data-kv="phone"]').waitFor({ timeout: WAIT_MS });
  return rec;
}

async function closeDemo(rec) {
  await rec.context.close();
}

// Fails with what the page shows when `fn` (run in the page with `arg`)
// does not become true in time.
async function waitInPage(rec, what, fn, arg, ms = WAIT_MS) {
  try {
    await rec.page.waitForFunction(fn, arg, { timeout: ms, polling: 100 });
  } catch (e) {
    const shown = await rec.page.evaluate(() => ({
      status: document.querySelector('[data-kv="status"]')?.textContent,
      inbox: document.getElementById('inbox-state')?.textContent,
      setup: document.getElementById('setup-error')?.textContent,
    })).catch(() => ({}));
    assert.fail(`waited ${ms} ms for ${what}: ${e.message.split('\n')[0]}` +
      `\npage shows: ${JSON.stringify(shown)}\npage errors: ` +
      `${JSON.stringify(rec.errors)}\nserver stderr (end):\n` +
      rec.server.child.stderr.slice(-3000));
  }
}

function statusText(rec) {
  return rec.page.locator('[data-kv="status"]').textContent();
}

// Types the number, presses the start button, waits for the code step.
async function startVerification(rec, number) {
  const { page } = rec;
  await page.locator('[data-kv="phone"]').fill(number);
  const reply = page.waitForResponse((r) =>
    r.url().endsWith('/verify/json') && r.request().method() === 'POST',
  { timeout: WAIT_MS });
  await page.locator('[data-kv="start"]').click();
  const data = await (await reply).json();
  assert.equal(data.status, '0', `start: ${JSON.stringify(data)}`);
  assert.match(data.request_id, REQUEST_ID_RE);
  assert.match(data.handle ?? '', /^[0-9a-f]{32}$/,
    `start gives the visitor's handle: ${JSON.stringify(data)}`);
  assert.equal(await pageHandle(rec), data.handle,
    'the widget keeps the handle in sessionStorage');
  await page.locator('[data-kv="code"]').waitFor({ state: 'visible',
    timeout: WAIT_MS });
  return data.request_id;
}

// The PIN of the nth SMS (1-based) the inbox panel shows, as a person
// reads it there; also checks the panel shows the simulator's message.
async function pinFromPanel(rec, number, nth = 1) {
  await waitInPage(rec, `SMS number ${nth} in the inbox panel`,
    (n) => document.querySelectorAll('#inbox-sms > li').length >= n, nth);
  const item = rec.page.locator(`#inbox-sms > li:nth-child(${nth})`);
  const text = (await item.locator('.msg-text').textContent()).trim();
  const pin = await item.locator('mark[data-pin]').textContent();
  assert.match(pin, /^[0-9]{4,10}$/, `PIN shown: ${pin} in "${text}"`);
  notePin(pin);
  assert.ok(text.includes(BRAND) && text.includes(pin),
    `the SMS as the panel shows it: "${text}"`);
  const box = await simInbox(number);
  assert.equal(box.sms[nth - 1]?.message, text,
    `the panel shows SMS ${nth} as the simulator has it: ` +
    JSON.stringify(box.sms));
  assert.match(await item.locator('time').getAttribute('datetime'),
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, 'the SMS has a time');
  return pin;
}

// Types a code and presses the check button; returns the server's reply.
async function enterCode(rec, code) {
  const { page } = rec;
  await page.locator('[data-kv="code"]').fill(code);
  const reply = page.waitForResponse((r) =>
    r.url().endsWith('/verify/check/json') &&
    r.request().method() === 'POST', { timeout: WAIT_MS });
  await page.locator('[data-kv="check"]').click();
  return (await reply).json();
}

// The page shows the server's error text as an error.
async function assertShowsError(rec, errorText) {
  await waitInPage(rec, `the status line to show "${errorText}"`,
    (t) => {
      const s = document.querySelector('[data-kv="status"]');
      return s && s.textContent.includes(t) && s.dataset.kind === 'error';
    }, errorText);
}

function wrongCode(pin) {
  return pin.slice(0, -1) + String((Number(pin.slice(-1)) + 1) % 10);
}

// Every request of the page went to the server or the simulator.
function assertOnlyLocal(rec) {
  const allowed = new Set([rec.server.origin, state.sim.base]);
  const others = rec.requests.filter((u) => !u.startsWith('data:') &&
    !allowed.has(new URL(u).origin));
  assert.deepEqual(others, [], 'requests outside the server and simulator');
}

function assertNoPageErrors(rec) {
  assert.deepEqual(rec.errors, [], 'errors in the page');
}

// ---- setup and teardown -------------------------------------------------

export async function setUpBrowser() {
  for (const [what, p] of [['kookooverify', BIN], ['kookoo-sim', SIM_BIN],
    ['chromium', CHROMIUM]]) {
    requireExecutable(what, p, 'build with make; chromium is Debian\'s ' +
      'package: apt-get install chromium, or set KOOKOOVERIFY_BIN, ' +
      'KOOKOO_SIM_BIN, CHROMIUM_BIN');
  }
  state.dir = makeTempDir('browser');
  try {
    state.sim = await startSim();
    // A resend's backoff (3 s x 2^n) outlasts the cooldown: the widget's
    // countdown must follow the server's wait, not its own default.
    state.kv = await startServer('kv', { resend_cooldown: '2',
      resend_backoff_base: '3' });
    state.kvExpiry = await startServer('kv-expiry', {
      pin_expiry: '10', next_event_wait: '1' });
    state.kvMissed = await startServer('kv-missed', {
      missed_call_dids: MISSED_DID, missed_call_path: MISSED_PATH });
    runCli(['keys', 'missed-call', state.kvMissed.pk, 'on', '--db',
      path.join(state.dir, 'kv-missed', 'kv.db')],
    { cwd: path.join(state.dir, 'kv-missed') });
    state.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu',
        '--disable-background-networking'],
    });
  } catch (e) {
    state.failed = true;
    throw e;
  }
}

export async function tearDownBrowser() {
  const failures = [];
  if (state.browser) {
    await state.browser.close().catch((e) => failures.push(
      `closing chromium: ${e.message}`));
  }
  await teardown(state.dir, 'browser', { failures, keep: state.failed });
}

export { BIN, CHROMIUM, CODE_MISMATCH, DATETIME_RE, REQUEST_ID_RE, SIM_BIN,
  pollUntil };
// For console.test.mjs, which starts a server of its own.
export { startServer, startSim };
export { BRAND, MISSED_DID, MISSED_PATH, NUMBERS, POLL_MS, SLOW_WAIT_MS,
  WAIT_MS, e164, state };
export { assertNoPageErrors, assertOnlyLocal, assertShowsError, closeDemo,
  enterCode, openDemo, pageHandle, pinFromPanel, pkPost, request,
  searchStatus, simInbox, startVerification, statusText, tokenCheck,
  waitInPage, wrongCode };
