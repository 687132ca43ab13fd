// The operator console (/operator/) in headless Chromium against a server
// wired to the KooKoo simulator: its charts draw the verifications the test
// made, a timeline opens, a block is lifted and a key made and revoked from
// the page, and without the operator token the page says it was refused.
// UPDATE_SCREENSHOTS=1 writes docs/console.png (else the test's temp dir).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT, makeTempDir, notePin, requireExecutable, runCli, teardown }
  from '../node/harness.mjs';
import { BIN, CHROMIUM, POLL_MS, SIM_BIN, WAIT_MS, pollUntil, request,
  simInbox, startServer, startSim, state } from './page.mjs';

// Numbers the simulator delivers to (E.164 digits); the last one's prefix
// (the first 7 digits) is blocked when its callee presses 9.
const N = { sms: '919812377001', key: '919812377002', fraud: '919874455003' };
const FRAUD_PREFIX = N.fraud.slice(0, 7);
const MASKED_RE = /^\+91\*+[0-9]{2}$/;

// Whether `secret` (a number or a PIN) shows in a page's text as a token of
// its own, the dates and times the page writes taken out first (a PIN may
// read like a year or an hour and minute).
function shows(text, secret) {
  const bare = text.replace(/\d{4}-\d\d-\d\d/g, ' ')
    .replace(/\d\d:\d\d(:\d\d)?/g, ' ');
  return new RegExp(`(^|[^0-9A-Za-z])${secret}([^0-9A-Za-z]|$)`).test(bare);
}

const cs = { server: null, db: null, cwd: null, token: null };

before(async () => {
  for (const [what, p] of [['kookooverify', BIN], ['kookoo-sim', SIM_BIN],
    ['chromium', CHROMIUM]])
    requireExecutable(what, p, 'build with make; apt-get install chromium');
  state.dir = makeTempDir('console');
  try {
    state.sim = await startSim();
    cs.server = await startServer('kv', { pin_expiry: '30',
      next_event_wait: '1', fraud_reports_block: '1' });
    cs.cwd = path.join(state.dir, 'kv');
    cs.db = path.join(cs.cwd, 'kv.db');
    cs.token = runCli(['operator-token', '--db', cs.db],
      { cwd: cs.cwd }).trim();
    assert.match(cs.token, /^kvop_[0-9a-f]{64}$/);
    state.browser = await chromium.launch({ executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu',
        '--disable-background-networking'] });
  } catch (e) {
    state.failed = true;
    throw e;
  }
});

after(async () => {
  const failures = [];
  if (state.browser)
    await state.browser.close().catch((e) => failures.push(e.message));
  await teardown(state.dir, 'console', { failures, keep: state.failed });
});

// ---- the data the charts must show ------------------------------------

function basic() {
  const s = cs.server.secret;
  return `Basic ${Buffer.from(`${s.api_key}:${s.api_secret}`)
    .toString('base64')}`;
}

async function vonage(endpoint, params) {
  const r = await request('POST', `${cs.server.origin}/verify${endpoint}/json`,
    { headers: { Authorization: basic(),
      'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString() });
  assert.equal(r.status, 200, r.text);
  return r.data;
}

async function startVerification(number, workflow) {
  const d = await vonage('', { number, brand: 'ConsoleTest',
    workflow_id: workflow });
  assert.equal(d.status, '0', JSON.stringify(d));
  return d.request_id;
}

async function waitStatus(rid, status) {
  await pollUntil(async () => {
    const d = await vonage('/search', { request_id: rid });
    return { value: d.status === status || undefined, last: d };
  }, WAIT_MS, `${rid} ${status}`, POLL_MS);
}

async function script(number, keys) {
  const r = await request('POST', `${state.sim.base}/sim/script`, {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ [number]: { keys } }) });
  assert.equal(r.status, 200, r.text);
}

// Verified by the SMS's code (after a wrong one), by pressing 2, and a
// callee who presses 9; returns their request ids and the PIN.
async function makeVerifications() {
  const sms = await startVerification(N.sms, '6');
  const box = await pollUntil(async () => {
    const b = await simInbox(N.sms);
    return { value: b.sms?.length ? b : undefined, last: b };
  }, WAIT_MS, 'the SMS', POLL_MS);
  const pin = /\b([0-9]{4,10})\b/.exec(box.sms[0].message)[1];
  notePin(pin);
  await vonage('/check', { request_id: sms, code: pin === '0000' ? '1111' :
    '0000' });
  await vonage('/check', { request_id: sms, code: pin });
  await waitStatus(sms, 'SUCCESS');
  await script(N.key, ['2']);
  const key = await startVerification(N.key, '7');
  await waitStatus(key, 'SUCCESS');
  await script(N.fraud, ['9']);
  const fraud = await startVerification(N.fraud, '7');
  await waitStatus(fraud, 'CANCELLED');
  return { sms, key, fraud, pin };
}

// ---- the page -----------------------------------------------------------

// A page on the console that records its errors and the console's data
// calls (URL and status); with `token`, the tab holds it already (as after
// the operator typed it, kept in sessionStorage), so no call goes without.
async function openConsole(token = null) {
  const context = await state.browser.newContext({
    viewport: { width: 1400, height: 1000 } });
  if (token) {
    await context.addInitScript((t) => sessionStorage.setItem(
      'kookooverify.operator.token', t), token);
  }
  const page = await context.newPage();
  const rec = { context, page, errors: [], calls: [] };
  page.on('pageerror', (e) => rec.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error')
      return;
    rec.errors.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  page.on('response', (r) => {
    if (r.url().includes('/operator/api/'))
      rec.calls.push({ url: r.url(), status: r.status() });
  });
  const res = await page.goto(`${cs.server.origin}/operator`);
  assert.equal(res?.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/operator/');
  const csp = res.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/, `CSP: ${csp}`);
  assert.doesNotMatch(csp, /unsafe-inline/);
  return rec;
}

async function signIn(rec, token) {
  await rec.page.locator('#token').fill(token);
  await rec.page.locator('#login button[type=submit]').click();
}

// Waits for a refresh that ended in `state` (ok, refused).
async function waitState(rec, wanted) {
  await rec.page.waitForFunction((s) =>
    document.getElementById('status').dataset.state === s, wanted,
  { timeout: WAIT_MS, polling: 100 });
}

// What a chart drew: {series: sum of its bars' values}.
function drawn(rec, id) {
  return rec.page.evaluate((sel) => {
    const out = {};
    for (const r of document.querySelectorAll(`${sel} rect[data-series]`))
      out[r.dataset.series] = (out[r.dataset.series] || 0) +
        Number(r.dataset.value);
    return out;
  }, `#${id}`);
}

test('the console draws the verifications the test made, opens a ' +
  'timeline, lifts a block, makes and revokes a key', async () => {
  const ids = await makeVerifications();
  const rec = await openConsole(cs.token);
  try {
    await waitState(rec, 'ok');
    await rec.page.waitForFunction(() =>
      document.querySelectorAll('#recent tbody tr[data-request-id]')
        .length >= 3, null, { timeout: WAIT_MS });

    const minutes = await drawn(rec, 'chart-minutes');
    assert.deepEqual(minutes, { verified: 2, cancelled: 1 },
      'per minute: two verified, one cancelled');
    assert.deepEqual(await drawn(rec, 'chart-funnel'), { requested: 3,
      sms_sent: 1, verified_by_sms: 1, call_placed: 2, answered: 2,
      confirmed_by_key: 1 });
    const ttv = await drawn(rec, 'chart-ttv');
    assert.equal(Object.values(ttv).reduce((a, b) => a + b, 0), 2,
      `time to verify: ${JSON.stringify(ttv)}`);
    // KooKoo's panel, drawn from /metrics with the operator token: the
    // flows above sent SMS and placed calls.
    const kookoo = await rec.page.evaluate(() => ({
      empty: document.getElementById('chart-latency').dataset.empty,
      apis: [...document.querySelectorAll('#chart-latency rect')]
        .map((r) => r.dataset.series) }));
    assert.equal(kookoo.empty, undefined, kookoo.empty);
    assert.deepEqual([...new Set(kookoo.apis)].sort(), ['call', 'sms']);
    const prefixes = await rec.page.locator('#prefixes tbody td:first-child')
      .allTextContents();
    assert.ok(prefixes.includes(FRAUD_PREFIX), prefixes.join());

    // The recent list: masked numbers only, newest first.
    const rows = rec.page.locator('#recent tbody tr[data-request-id]');
    assert.deepEqual(await rows.evaluateAll((trs) =>
      trs.slice(0, 3).map((t) => t.dataset.requestId)),
    [ids.fraud, ids.key, ids.sms]);
    for (const n of await rec.page.locator(
      '#recent tbody td:nth-child(2)').allTextContents())
      assert.match(n, MASKED_RE);
    const body = await rec.page.locator('main').textContent();
    for (const secret of [...Object.values(N), ids.pin])
      assert.ok(!shows(body, secret), `the page shows ${secret}`);

    // The SMS verification's timeline: the SMS, both checks, the end.
    await rec.page.locator(`#recent tr[data-request-id="${ids.sms}"]`)
      .click();
    await rec.page.locator('#timeline').waitFor({ state: 'visible',
      timeout: WAIT_MS });
    const lines = await rec.page.locator('#timeline-events li')
      .allTextContents();
    const text = lines.join('\n');
    assert.match(text, /sms accepted/);
    assert.match(text, /check: wrong code[\s\S]*check: right code/);
    assert.match(text, /ended: SUCCESS/);
    assert.ok(!shows(text, ids.pin), 'no PIN in the timeline');

    // The call's timeline names the key pressed.
    await rec.page.locator(`#recent tr[data-request-id="${ids.key}"]`)
      .click();
    await rec.page.waitForFunction(() => document.getElementById(
      'timeline-events').textContent.includes('key 2'), null,
    { timeout: WAIT_MS });

    const shot = process.env.UPDATE_SCREENSHOTS === '1' ?
      path.join(ROOT, 'docs', 'console.png') :
      path.join(state.dir, 'console.png');
    await rec.page.screenshot({ path: shot, fullPage: true });

    // Lifting the block from the page.
    const lift = rec.page.locator(`button[data-lift="${FRAUD_PREFIX}"]`);
    await lift.waitFor({ timeout: WAIT_MS });
    await lift.click();
    await lift.waitFor({ state: 'detached', timeout: WAIT_MS });
    const listed = runCli(['blocks', 'list', '--db', cs.db], { cwd: cs.cwd });
    assert.ok(!listed.includes(FRAUD_PREFIX), listed);

    // A key made on the page: its secret shown once, then revoked.
    await rec.page.locator('#key-create input[name=name]').fill('from-page');
    await rec.page.locator('#key-create button').click();
    await rec.page.locator('#key-new').waitFor({ state: 'visible',
      timeout: WAIT_MS });
    const made = (await rec.page.locator('#key-new-id').textContent()).trim();
    assert.match(made, /^[0-9a-f]{16}$/);
    assert.match(await rec.page.locator('#key-new-secret').textContent(),
      /^[0-9a-f]{32}$/);
    await rec.page.locator(`button[data-revoke="${made}"]`).click();
    await rec.page.locator(`button[data-revoke="${made}"]`)
      .waitFor({ state: 'detached', timeout: WAIT_MS });
    const keys = runCli(['keys', 'list', '--db', cs.db], { cwd: cs.cwd });
    assert.match(keys, new RegExp(`${made}\\s.*revoked`), keys);

    assert.ok(rec.calls.length > 0 && rec.calls.every((c) =>
      c.status === 200), JSON.stringify(rec.calls));
    assert.deepEqual(rec.errors, [], 'errors in the page');
  } finally {
    await rec.context.close();
  }
});

test('without the operator token, or with a tenant key, the data calls ' +
  'are refused and the page says so', async () => {
  // No token at all: the first refresh is refused.
  let rec = await openConsole();
  try {
    await waitState(rec, 'refused');
    assert.match(await rec.page.locator('#status').textContent(),
      /Refused: the operator token is required/);
    assert.ok(rec.calls.length > 0 && rec.calls.every((c) =>
      c.status === 401), JSON.stringify(rec.calls));
    assert.equal(await rec.page.locator('#recent tbody tr[data-request-id]')
      .count(), 0);
  } finally {
    await rec.context.close();
  }
  // A tenant's secret key typed as the token: refused the same way.
  rec = await openConsole();
  try {
    await waitState(rec, 'refused');
    const s = cs.server.secret;
    const tenant = `${s.api_key}:${s.api_secret}`;
    const refused = rec.page.waitForResponse((r) =>
      r.url().includes('/operator/api/') &&
      r.request().headers().authorization === `Bearer ${tenant}`,
    { timeout: WAIT_MS });
    await signIn(rec, tenant);
    assert.equal((await refused).status(), 401);
    await waitState(rec, 'refused');
    assert.ok(rec.calls.every((c) => c.status === 401),
      JSON.stringify(rec.calls));
  } finally {
    await rec.context.close();
  }
  // And the same key over HTTP Basic, or the publishable key, from outside.
  for (const headers of [{ Authorization: basic() },
    { Origin: cs.server.origin }]) {
    const url = `${cs.server.origin}/operator/api/summary` +
      (headers.Origin ? `?api_key=${cs.server.pk}` : '');
    const r = await request('GET', url, { headers });
    assert.equal(r.status, 401, r.text);
    assert.match(r.headers['www-authenticate'] ?? '', /^Bearer /);
  }
});
