// The demo page (/demo) end to end in headless Chromium (Debian's chromium
// driven by playwright-core): a person's path through the SDK's widget
// against a real kookooverify server that delivers through the KooKoo
// simulator, reading each PIN from the inbox panel of the page
// (page.mjs starts everything).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import http from 'node:http';
import { CODE_MISMATCH, DATETIME_RE, MISSED_DID, MISSED_PATH, NUMBERS,
  POLL_MS, REQUEST_ID_RE,
  SLOW_WAIT_MS,
  WAIT_MS, assertNoPageErrors, assertOnlyLocal, assertShowsError,
  closeDemo, e164, enterCode, openDemo, pageHandle, pinFromPanel, pkPost,
  pollUntil, request, searchStatus, simInbox, startVerification, state,
  statusText, tearDownBrowser, setUpBrowser, tokenCheck, waitInPage,
  wrongCode }
  from './page.mjs';

before(setUpBrowser);
after(tearDownBrowser);

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

test('demo: the widget offers a missed call, and the call verifies the ' +
  'number without a code', async () => {
  const server = state.kvMissed;
  const number = NUMBERS.missed;
  const rec = await openDemo(server);
  try {
    await startVerification(rec, number);
    const missed = rec.page.locator('[data-kv="missed"]');
    await missed.waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.match(await missed.textContent(),
      /Or give a missed call to 08040000001/);
    assert.equal(await rec.page.locator('[data-kv="missed-link"]')
      .getAttribute('href'), 'tel:+918040000001');
    // The person calls the DID; the simulator is KooKoo ringing our URL.
    const call = await request('POST', `${state.sim.base}/sim/inbound`, {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ cid: number, called_number: MISSED_DID,
        url: `${server.origin}/ivr/kookoo/inbound/${MISSED_PATH}` })
        .toString() });
    assert.equal(call.data?.hangup, true, `inbound call: ${call.text}`);
    await waitInPage(rec, 'the widget to learn of the missed call',
      () => document.querySelector('[data-kv="status"]')?.dataset.kind ===
        'ok');
    assert.equal(await statusText(rec), 'Your phone number is verified.');
    assert.equal(await missed.isHidden(), true);
    assertNoPageErrors(rec);
  } finally {
    await closeDemo(rec);
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
