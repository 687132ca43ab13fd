// The demo page (/demo) end to end in headless Chromium (Debian's chromium
// driven by playwright-core): a person's path through the SDK's widget
// against a real kookooverify server that delivers through the KooKoo
// simulator, reading each PIN from the inbox panel of the page.
//
// The test starts everything itself: the simulator on 127.0.0.1:0, then per
// server a temp dir, `migrate`, a secret key for the backend checks, a
// publishable key for the page's origin (a port picked before the start) and
// `serve --set demo=1`; and a small node http server for the foreign page.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { BIN, CODE_MISMATCH, Child, DATETIME_RE, HTTP_TIMEOUT_MS,
  REQUEST_ID_RE, ROOT, freePort, jsonLine, makeTempDir, pollUntil,
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
};
const e164 = (n) => '91' + n;

// ---- processes ----------------------------------------------------------

const state = {
  dir: null, // one temp dir for everything
  sim: null,
  kv: null, // demo server: normal timings, short resend cooldown
  kvExpiry: null, // demo server: short PIN expiry, the call after 1 s
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

before(async () => {
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
    state.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu',
        '--disable-background-networking'],
    });
  } catch (e) {
    state.failed = true;
    throw e;
  }
});

after(async () => {
  const failures = [];
  if (state.browser) {
    await state.browser.close().catch((e) => failures.push(
      `closing chromium: ${e.message}`));
  }
  await teardown(state.dir, 'browser', { failures, keep: state.failed });
});

// ---- the cases ------------------------------------------------------------

test('demo: a person verifies a number with the PIN from the inbox, and ' +
  'the backend accepts the token once', async () => {
  const server = state.kv;
  const number = NUMBERS.happy;
  const config = await request('GET', `${server.origin}/demo/config.json`);
  assert.equal(config.status, 200, config.text);
  assert.equal(config.data?.api_key, server.pk, config.text);
  assert.equal(config.data.base_url, '', config.text);
  assert.equal(config.data.inbox_url, state.sim.base, config.text);
  // A phone-sized screen: the layout must not scroll sideways.
  const rec = await openDemo(server, { width: 390, height: 844 });
  try {
    const rid = await startVerification(rec, number);
    await waitInPage(rec, 'the widget saying the code was sent',
      () => /sent a code/i.test(document.querySelector(
        '[data-kv="status"]')?.textContent || ''));
    const pin = await pinFromPanel(rec, number);

    const reply = await enterCode(rec, pin);
    assert.equal(reply.status, '0', `check: ${JSON.stringify(reply)}`);
    assert.equal(reply.request_id, rid);
    await waitInPage(rec, 'the verified state', () => {
      const s = document.querySelector('[data-kv="status"]');
      return s?.dataset.kind === 'ok' &&
        !document.getElementById('verified').hidden;
    });
    assert.match(await statusText(rec), /verified/i);

    // The token, as the widget's kookoo-verified event handed it over.
    const events = await rec.page.evaluate(() => window.__kv.verified);
    assert.equal(events.length, 1, `kookoo-verified events: ` +
      JSON.stringify(events));
    const { token, requestId, number: verifiedNumber } = events[0];
    assert.equal(token, reply.token, 'the event carries the check\'s token');
    assert.equal(requestId, rid);
    assert.equal(verifiedNumber, e164(number));
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);

    // The page shows it, with the claims decoded and marked unverified.
    assert.equal((await rec.page.locator('#token').textContent()).trim(),
      token);
    assert.match(await rec.page.locator('#verified').textContent(),
      /decoded, not verified/);
    assert.equal(await rec.page.locator('[data-claim="sub"]').textContent(),
      e164(number));
    assert.equal(await rec.page.locator('[data-claim="rid"]').textContent(),
      rid);
    assert.equal(await rec.page.locator('[data-claim="aud"]').textContent(),
      server.pk);

    // The signature checks with the server's published key.
    const [h64, p64, s64] = token.split('.');
    const header = JSON.parse(Buffer.from(h64, 'base64url'));
    const claims = JSON.parse(Buffer.from(p64, 'base64url'));
    assert.deepEqual(header, { alg: 'EdDSA', typ: 'JWT', kid: header.kid });
    assert.match(header.kid, /^[0-9a-f]{16}$/);
    assert.equal(claims.iss, 'kookooverify');
    assert.equal(claims.sub, e164(number));
    assert.equal(claims.aud, server.pk);
    assert.equal(claims.rid, rid);
    assert.equal(claims.exp - claims.iat, 600);
    assert.match(claims.jti, /^[0-9a-f]{32}$/);
    const jwks = await request('GET',
      `${server.origin}/.well-known/kookooverify/jwks.json`);
    const jwk = jwks.data?.keys?.find((k) => k.kid === header.kid);
    assert.ok(jwk, `no key ${header.kid} in ${jwks.text}`);
    const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv,
      x: jwk.x }, format: 'jwk' });
    assert.ok(verifySignature(null, Buffer.from(`${h64}.${p64}`), key,
      Buffer.from(s64, 'base64url')), 'the token\'s Ed25519 signature');

    // The backend checks it: valid, then single use once and only once.
    let r = await tokenCheck(server, { token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.data?.status, '0', r.text);
    assert.equal(r.data.number, e164(number));
    assert.equal(r.data.request_id, rid);
    assert.equal(r.data.api_key, server.pk);
    assert.match(r.data.verified_at, DATETIME_RE);
    r = await tokenCheck(server, { token, single_use: 'true' });
    assert.equal(r.data?.status, '0', `first single use: ${r.text}`);
    r = await tokenCheck(server, { token, single_use: 'true' });
    assert.equal(r.data?.status, '6', `second single use: ${r.text}`);
    assert.match(r.data.error_text, /already used/i, r.text);
    // A token that was tampered with is refused.
    const forged = Buffer.from(JSON.stringify({ ...claims,
      sub: '919999999999' })).toString('base64url');
    r = await tokenCheck(server, { token: `${h64}.${forged}.${s64}` });
    assert.equal(r.data?.status, '3', `forged token: ${r.text}`);

    // Search agrees, and the layout fits the phone's width.
    assert.equal(await searchStatus(server, rid, await pageHandle(rec)),
      'SUCCESS');
    // Without the handle, the page's verification is nobody's business.
    assert.equal(await searchStatus(server, rid), '101');
    const overflow = await rec.page.evaluate(() =>
      document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a ` +
      'phone\'s screen');
    assertOnlyLocal(rec);
    assertNoPageErrors(rec);
  } finally {
    await closeDemo(rec);
  }
});

test('demo: a wrong code shows the server\'s text and the third wrong ' +
  'code fails the verification', async () => {
  const server = state.kv;
  const number = NUMBERS.wrong;
  const rec = await openDemo(server);
  try {
    const rid = await startVerification(rec, number);
    const pin = await pinFromPanel(rec, number);
    const bad = wrongCode(pin);

    for (let i = 1; i <= 2; i++) {
      const reply = await enterCode(rec, bad);
      assert.equal(reply.status, '16', `wrong code ${i}: ` +
        JSON.stringify(reply));
      assert.equal(reply.error_text, CODE_MISMATCH);
      await assertShowsError(rec, reply.error_text);
      assert.equal(await rec.page.locator('[data-kv="code"]')
        .getAttribute('aria-invalid'), 'true');
      assert.ok(await rec.page.locator('[data-kv="code"]').isVisible(),
        'the code step stays for another try');
      // The next wrong try must show its own reply, not this one.
      await rec.page.evaluate(() => {
        document.querySelector('[data-kv="status"]').textContent = '';
      });
    }
    const third = await enterCode(rec, bad);
    assert.equal(third.status, '17', `third wrong code: ` +
      JSON.stringify(third));
    assert.ok(third.error_text, JSON.stringify(third));
    await assertShowsError(rec, third.error_text);
    // The verification is over: the widget asks for a number again.
    await rec.page.locator('[data-kv="phone"]').waitFor({ state: 'visible',
      timeout: WAIT_MS });
    assert.ok(!(await rec.page.locator('[data-kv="code"]').isVisible()));
    const handle = await pageHandle(rec);
    assert.equal(await searchStatus(server, rid, handle), 'FAILED');
    // Even the right code is refused now.
    const late = await pkPost(server, '/verify/check/json',
      { request_id: rid, code: pin, handle });
    assert.notEqual(late.data?.status, '0', late.text);
    assert.ok(!(await rec.page.locator('#verified').isVisible()));
    const errors = await rec.page.evaluate(() => window.__kv.errors);
    assert.deepEqual(errors.map((e) => e.status), ['16', '16', '17']);
    assertOnlyLocal(rec);
    assertNoPageErrors(rec);
  } finally {
    await closeDemo(rec);
  }
});

test('demo: resend is held back by a visible countdown, then a second SMS ' +
  'arrives and its PIN verifies', async () => {
  const server = state.kv; // resend_cooldown=2
  const number = NUMBERS.resend;
  const rec = await openDemo(server);
  try {
    await startVerification(rec, number);
    const first = await pinFromPanel(rec, number, 1);
    const resend = rec.page.locator('[data-kv="resend"]');
    await waitInPage(rec, 'the resend button to come back after the ' +
      'countdown', () => {
      const b = document.querySelector('[data-kv="resend"]');
      return b && !b.disabled && /^Resend code$/.test(b.textContent.trim());
    }, undefined, SLOW_WAIT_MS);

    // What the button went through since the start: a countdown, during
    // which it was disabled, then enabled again.
    const states = await rec.page.evaluate(() => window.__kv.resend);
    const counting = states.filter((s) => /\d+:\d\d/.test(s.text));
    assert.ok(counting.length > 0, `no countdown shown: ` +
      JSON.stringify(states));
    for (const s of counting) {
      assert.match(s.text, /^Resend code in \d+:\d\d$/);
      assert.equal(s.disabled, true, `enabled during the countdown: ` +
        JSON.stringify(states));
    }
    assert.equal(states[states.length - 1].disabled, false);

    const reply = rec.page.waitForResponse((r) =>
      r.url().endsWith('/verify/control/json') &&
      r.request().method() === 'POST', { timeout: WAIT_MS });
    await resend.click();
    const data = await (await reply).json();
    assert.equal(data.status, '0', `resend: ${JSON.stringify(data)}`);
    assert.equal(data.command, 'resend');
    // The first resend's backoff: 6 s shortened by at most 20 %.
    assert.ok(Number(data.resend_in) >= 5 && Number(data.resend_in) <= 6,
      `resend_in: ${JSON.stringify(data)}`);
    await waitInPage(rec, 'the widget saying the code was sent again',
      () => /sent the code again/i.test(document.querySelector(
        '[data-kv="status"]')?.textContent || ''));
    // A new countdown, with the button disabled.
    await waitInPage(rec, 'a countdown after the resend', () => {
      const seen = window.__kv.resend;
      const i = seen.findLastIndex((s) => s.text === 'Resend code' &&
        !s.disabled);
      return seen.slice(i + 1).some((s) => /\d+:\d\d/.test(s.text) &&
        s.disabled);
    });
    // It counts down from the server's wait (not the 2 s cooldown), and the
    // button comes back when it is over.
    const afterResend = await rec.page.evaluate(() => {
      const seen = window.__kv.resend;
      const i = seen.findLastIndex((s) => s.text === 'Resend code' &&
        !s.disabled);
      return seen.slice(i + 1);
    });
    assert.match(afterResend.find((s) => /\d+:\d\d/.test(s.text)).text,
      /in 0:0[56]$/, JSON.stringify(afterResend));
    await waitInPage(rec, 'the resend button back after the server\'s wait',
      () => {
        const b = document.querySelector('[data-kv="resend"]');
        return b && !b.disabled && b.textContent.trim() === 'Resend code';
      }, undefined, SLOW_WAIT_MS);

    const second = await pinFromPanel(rec, number, 2);
    assert.equal((await simInbox(number)).sms.length, 2);
    assert.equal(second, first, 'a resend repeats the live PIN');
    const check = await enterCode(rec, second);
    assert.equal(check.status, '0', JSON.stringify(check));
    await waitInPage(rec, 'the verified state', () =>
      document.querySelector('[data-kv="status"]')?.dataset.kind === 'ok');
    assertOnlyLocal(rec);
    assertNoPageErrors(rec);
  } finally {
    await closeDemo(rec);
  }
});

test('demo: the call\'s transcript shows in the inbox, and a code entered ' +
  'after the PIN expired is refused with the server\'s text',
async () => {
  const server = state.kvExpiry; // pin_expiry=10, next_event_wait=1
  const number = NUMBERS.expiry;
  const rec = await openDemo(server);
  try {
    const rid = await startVerification(rec, number);
    const handle = await pageHandle(rec);
    const pin = await pinFromPanel(rec, number);

    // Unverified after next_event_wait: the call reads the PIN aloud.
    await waitInPage(rec, 'an ended call with its transcript in the panel',
      () => document.querySelector('#inbox-calls > li[data-done="true"] ' +
        '.transcript > li') !== null);
    const spelled = pin.split('').join(' ');
    const transcript = await rec.page.locator('#inbox-calls > li ' +
      '.transcript').first().textContent();
    assert.ok(transcript.includes(spelled), `the call reads ${spelled}: ` +
      transcript);
    const call = (await simInbox(number)).calls[0];
    assert.ok(call, 'the simulator has the call');
    assert.equal(await rec.page.locator('#inbox-calls > li').first()
      .getAttribute('data-status'), call.status);

    await pollUntil(async () => {
      const s = await searchStatus(server, rid, handle);
      return { value: s === 'EXPIRED' ? s : undefined, last: s };
    }, SLOW_WAIT_MS, `request ${rid} to expire`, POLL_MS);

    const reply = await enterCode(rec, pin);
    assert.equal(reply.status, '6', `check after expiry: ` +
      JSON.stringify(reply));
    assert.ok(reply.error_text, JSON.stringify(reply));
    await assertShowsError(rec, reply.error_text);
    await rec.page.locator('[data-kv="phone"]').waitFor({ state: 'visible',
      timeout: WAIT_MS });
    assert.ok(!(await rec.page.locator('#verified').isVisible()));
    assertOnlyLocal(rec);
    assertNoPageErrors(rec);
  } finally {
    await closeDemo(rec);
  }
});

test('demo: a reload resumes the visitor\'s verification; another ' +
  'visitor of the same page is refused without its id and cannot see it',
async () => {
  const server = state.kv;
  const number = NUMBERS.reload;
  const rec = await openDemo(server);
  const other = await openDemo(server);
  try {
    const rid = await startVerification(rec, number);
    const handle = await pageHandle(rec);

    // Another visitor (its own browser context) types the same number.
    await other.page.locator('[data-kv="phone"]').fill(number);
    const refused = other.page.waitForResponse((r) =>
      r.url().endsWith('/verify/json') && r.request().method() === 'POST',
    { timeout: WAIT_MS });
    await other.page.locator('[data-kv="start"]').click();
    const data = await (await refused).json();
    assert.equal(data.status, '10', JSON.stringify(data));
    assert.equal(data.request_id, '', JSON.stringify(data));
    assert.ok(!JSON.stringify(data).includes(rid), JSON.stringify(data));
    await waitInPage(other, 'the widget saying the number is busy',
      () => /another browser/i.test(document.querySelector(
        '[data-kv="status"]')?.textContent || ''));
    assert.notEqual(await pageHandle(other), handle);
    assert.equal(await searchStatus(server, rid, await pageHandle(other)),
      '101');

    // The first visitor reloads the tab and asks again: resumed.
    await rec.page.reload();
    await rec.page.locator('[data-kv="phone"]').waitFor({ timeout: WAIT_MS });
    assert.equal(await pageHandle(rec), handle);
    await rec.page.locator('[data-kv="phone"]').fill(number);
    const resumed = rec.page.waitForResponse((r) =>
      r.url().endsWith('/verify/json') && r.request().method() === 'POST',
    { timeout: WAIT_MS });
    await rec.page.locator('[data-kv="start"]').click();
    const again = await (await resumed).json();
    assert.equal(again.status, '10', JSON.stringify(again));
    assert.equal(again.request_id, rid, JSON.stringify(again));
    await waitInPage(rec, 'the widget saying the code was already sent',
      () => /already sent to this number\. Enter/i.test(
        document.querySelector('[data-kv="status"]')?.textContent || ''));
    const pin = await pinFromPanel(rec, number);
    const reply = await enterCode(rec, pin);
    assert.equal(reply.status, '0', `check: ${JSON.stringify(reply)}`);
    assert.equal(reply.request_id, rid);
    assertOnlyLocal(rec);
  } finally {
    await closeDemo(rec);
    await closeDemo(other);
  }
});

test('a page of a foreign origin cannot use the demo\'s publishable key',
  async () => {
    const server = state.kv;
    const number = NUMBERS.foreign;
    const api = `${server.origin}/verify/json`;
    const params = { api_key: server.pk, number, brand: 'Foreign' };
    // The page tries what a script can: a JSON POST (preflighted), a form
    // POST and a GET (no preflight: they reach the server, which must
    // refuse them by their Origin).
    const html = `<!DOCTYPE html><meta charset="utf-8"><title>foreign</title>
<p id="out">running</p>
<script type="module">
const api = ${JSON.stringify(api)};
const params = ${JSON.stringify(params)};
const out = {};
try {
  const r = await fetch(api, { method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(params) });
  out.json = 'read HTTP ' + r.status + ': ' + await r.text();
} catch (e) {
  out.json = 'rejected ' + e.name;
}
try {
  const r = await fetch(api, { method: 'POST', mode: 'no-cors',
    body: new URLSearchParams(params) });
  out.form = 'sent ' + r.type;
} catch (e) {
  out.form = 'rejected ' + e.name;
}
try {
  const r = await fetch(api + '?' + new URLSearchParams(params),
    { mode: 'no-cors' });
  out.get = 'sent ' + r.type;
} catch (e) {
  out.get = 'rejected ' + e.name;
}
document.getElementById('out').textContent = JSON.stringify(out);
document.body.dataset.done = '1';
</script>`;
    const foreign = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(html);
    });
    await new Promise((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    const foreignOrigin = `http://127.0.0.1:${foreign.address().port}`;
    const context = await state.browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${foreignOrigin}/`);
      await page.waitForSelector('body[data-done="1"]', { timeout: WAIT_MS });
      const out = JSON.parse(await page.locator('#out').textContent());
      assert.equal(out.json, 'rejected TypeError',
        `the JSON POST from ${foreignOrigin}: ${JSON.stringify(out)}`);
      // no-cors requests resolve opaque whatever the server did.
      assert.equal(out.form, 'sent opaque', JSON.stringify(out));
      assert.equal(out.get, 'sent opaque', JSON.stringify(out));

      // The server's side of it, asked directly.
      const pre = await request('OPTIONS', api, { headers: {
        Origin: foreignOrigin, 'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type' } });
      assert.equal(pre.status, 403, `preflight: ${pre.status} ${pre.text}`);
      assert.equal(pre.headers['access-control-allow-origin'], undefined);
      const post = await pkPost(server, '/verify/json', { number,
        brand: 'Foreign' }, foreignOrigin);
      assert.equal(post.status, 403, post.text);
      assert.equal(post.data?.status, '4', post.text);
      assert.equal(post.headers['access-control-allow-origin'], undefined);
      const okPre = await request('OPTIONS', api, { headers: {
        Origin: server.origin, 'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type' } });
      assert.equal(okPre.status, 204, okPre.text);
      assert.equal(okPre.headers['access-control-allow-origin'],
        server.origin);

      // Nothing was created for the number: the first request from the
      // key's own origin starts a new verification (status 10 would
      // name one that a foreign request had started) and sends one SMS.
      const own = await pkPost(server, '/verify/json', { number,
        brand: 'Own' });
      assert.equal(own.data?.status, '0', `from the key's origin after ` +
        `the foreign page: ${own.text}`);
      const box = await pollUntil(async () => {
        const b = await simInbox(number);
        return { value: b.sms.length >= 1 ? b : undefined, last: b };
      }, WAIT_MS, 'the SMS of the own-origin request', POLL_MS);
      assert.deepEqual(box.sms.map((s) => s.message.split(' code:')[0]),
        ['Own'], 'only the own-origin request sent an SMS');
    } finally {
      await context.close();
      await new Promise((resolve) => foreign.close(resolve));
    }
  });

// ---- WebOTP -------------------------------------------------------------

// Replaces the browser's WebOTP before the page runs: mode 'sms' resolves
// with window.__otpCode once the test sets it (the SMS "arrives"), 'never'
// waits until aborted, 'absent' removes WebOTP. window.__otp records calls
// and whether the signal was aborted.
function stubWebOtp(mode) {
  window.__otp = { calls: 0, aborted: false, options: null };
  if (mode === 'absent') {
    delete window.OTPCredential;
  } else if (!('OTPCredential' in window)) {
    window.OTPCredential = function OTPCredential() {};
  }
  const get = (options) => new Promise((resolve, reject) => {
    window.__otp.calls++;
    window.__otp.options = JSON.stringify(options.otp);
    options.signal?.addEventListener('abort', () => {
      window.__otp.aborted = true;
      reject(new DOMException('aborted', 'AbortError'));
    });
    const poll = () => {
      if (options.signal?.aborted)
        return;
      if (window.__otpCode)
        resolve({ type: 'otp', id: '', code: window.__otpCode });
      else
        setTimeout(poll, 100);
    };
    if (mode === 'sms')
      poll();
  });
  if (navigator.credentials)
    navigator.credentials.get = get;
  else
    Object.defineProperty(navigator, 'credentials', { value: { get } });
}

async function simPin(number) {
  const box = await pollUntil(async () => {
    const b = await simInbox(number);
    return { value: b.sms?.length ? b : undefined, last: b };
  }, WAIT_MS, `an SMS to ${number}`, POLL_MS);
  const pin = /\b([0-9]{4,10})\b/.exec(box.sms[0].message)?.[1];
  assert.ok(pin, `a PIN in ${JSON.stringify(box.sms[0])}`);
  return pin;
}

test('webotp: the code the browser reads from the SMS verifies the number ' +
  'with no typing', async () => {
  const number = NUMBERS.webotp;
  const rec = await openDemo(state.kv, undefined, stubWebOtp, 'sms');
  try {
    const input = rec.page.locator('[data-kv="code"]');
    await startVerification(rec, number);
    assert.equal(await input.getAttribute('autocomplete'), 'one-time-code');
    assert.equal(await input.getAttribute('inputmode'), 'numeric');
    const pin = await simPin(number);
    await rec.page.evaluate((p) => { window.__otpCode = p; }, pin);
    await waitInPage(rec, 'the verified state', () =>
      document.querySelector('[data-kv="status"]')?.dataset.kind === 'ok');
    const otp = await rec.page.evaluate(() => window.__otp);
    assert.equal(otp.calls, 1);
    assert.equal(otp.options, JSON.stringify({ transport: ['sms'] }));
    assert.equal(await input.inputValue(), pin);
    assertNoPageErrors(rec);
  } finally {
    await closeDemo(rec);
  }
});

test('webotp: typing in the field abandons the browser\'s request',
  async () => {
    const number = NUMBERS.webotpTyped;
    const rec = await openDemo(state.kv, undefined, stubWebOtp, 'never');
    try {
      await startVerification(rec, number);
      await waitInPage(rec, 'the WebOTP request', () =>
        window.__otp.calls === 1);
      assert.equal(await rec.page.evaluate(() => window.__otp.aborted),
        false);
      const pin = await simPin(number);
      await rec.page.locator('[data-kv="code"]').pressSequentially(pin[0]);
      await waitInPage(rec, 'the WebOTP signal aborted', () =>
        window.__otp.aborted === true);
      const check = await enterCode(rec, pin);
      assert.equal(check.status, '0', JSON.stringify(check));
      assertNoPageErrors(rec);
    } finally {
      await closeDemo(rec);
    }
  });

test('webotp: without it the widget works by typing', async () => {
  const number = NUMBERS.webotpAbsent;
  const rec = await openDemo(state.kv, undefined, stubWebOtp, 'absent');
  try {
    await startVerification(rec, number);
    const check = await enterCode(rec, await simPin(number));
    assert.equal(check.status, '0', JSON.stringify(check));
    await waitInPage(rec, 'the verified state', () =>
      document.querySelector('[data-kv="status"]')?.dataset.kind === 'ok');
    assert.equal(await rec.page.evaluate(() => window.__otp.calls), 0);
    assertNoPageErrors(rec);
  } finally {
    await closeDemo(rec);
  }
});
