// Tests of the browser client (src/index.js) against a scripted fake fetch:
// request shapes, reply parsing, error mapping, retries and timeouts.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';

import {
  KookooVerify, KookooVerifyError, NetworkError, TimeoutError, Status,
  decodeToken, parseRetryAfter,
} from '../src/index.js';

const BASE = 'https://verify.example.com';
const RID = '11d4a548deedbb923af356fead0afc87';
const KEY = 'pk_0123456789abcdef';
const HANDLE = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

// Browsers and Node 19+ have globalThis.crypto, where the client draws the
// visitor's handle; Node 18 (Debian 12's) has it only in node:crypto.  These
// tests are of the browser client, so Node 18 gets what a browser has.
globalThis.crypto ??= webcrypto;

/**
 * A fetch that answers from `script`, one step per call. A step is a reply
 * `{body, http, headers}` (body an object, or a string sent as is), an Error
 * to reject with, 'hang' to wait until the request is aborted, or a
 * function (url, init) returning one of these.
 *
 * @returns {typeof fetch & {calls: object[]}}
 */
function fakeFetch(...script) {
  const calls = [];
  const fn = async (url, init = {}) => {
    calls.push({
      url,
      method: init.method,
      headers: init.headers,
      body: init.body === undefined ? undefined : JSON.parse(init.body),
      rawBody: init.body,
      init,
    });
    let step = script.shift();
    if (step === undefined)
      throw new Error(`fake fetch: no reply scripted for call ${calls.length}`);
    if (typeof step === 'function')
      step = await step(url, init);
    if (step instanceof Error)
      throw step;
    if (step === 'hang')
      return hang(init.signal);
    const text = typeof step.body === 'string' ? step.body
      : JSON.stringify(step.body);
    return new Response(text, {
      status: step.http ?? 200,
      headers: { 'Content-Type': 'application/json', ...step.headers },
    });
  };
  fn.calls = calls;
  return fn;
}

/** Never settles until `signal` aborts, then rejects like fetch does. */
function hang(signal) {
  return new Promise((resolve, reject) => {
    const fail = () => reject(new DOMException('This operation was aborted',
      'AbortError'));
    if (signal?.aborted)
      fail();
    signal?.addEventListener('abort', fail, { once: true });
  });
}

/** What fetch rejects with when the connection fails. */
function networkFailure() {
  return new TypeError('fetch failed');
}

/** A client whose handle is HANDLE (as if drawn at random). */
function client(fetch, extra = {}) {
  const kv = new KookooVerify({ apiKey: KEY, baseUrl: BASE, fetch,
    retryDelayMs: 1, brand: 'MyApp', ...extra });
  kv.handle = HANDLE;
  return kv;
}

async function started(fetch, extra) {
  const kv = client(fetch, extra);
  kv.requestId = RID;
  return kv;
}

/** Asserts `promise` rejects with a KookooVerifyError having `fields`. */
async function rejectsWith(promise, fields, Class = KookooVerifyError) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof Class, `expected ${Class.name}, got ${err}`);
    for (const [k, v] of Object.entries(fields)) {
      if (v instanceof RegExp)
        assert.match(err[k], v, `err.${k}`);
      else
        assert.deepEqual(err[k], v, `err.${k}`);
    }
    return true;
  });
}

/** Every request an SDK sends: POST, JSON, publishable key, no secret. */
function assertPublishableJson(call) {
  assert.equal(call.method, 'POST');
  assert.equal(call.headers['Content-Type'], 'application/json');
  assert.equal(call.body.api_key, KEY);
  assert.ok(!('api_secret' in call.body), 'api_secret must never be sent');
  assert.ok(!/secret/i.test(call.rawBody));
  assert.ok(!Object.keys(call.headers).some((h) => /authorization/i.test(h)));
  assert.equal(call.init.credentials, 'omit');
}

describe('constructor refuses secrets and bad options', () => {
  const f = fakeFetch();
  test('a secret key (16 hex) is refused', () => {
    assert.throws(() => new KookooVerify({ apiKey: '0123456789abcdef',
      fetch: f }), { code: 'CONFIG', message: /publishable key/ });
  });
  test('an apiSecret option is refused even with a pk_ key', () => {
    for (const name of ['apiSecret', 'api_secret', 'secret']) {
      assert.throws(() => new KookooVerify({ apiKey: KEY, [name]: 'x',
        fetch: f }), { code: 'CONFIG', message: /secret/ });
    }
  });
  test('KEY:SECRET pasted as the key is refused', () => {
    assert.throws(() => new KookooVerify({ apiKey: `${KEY}:abcd`, fetch: f }),
      { code: 'CONFIG' });
  });
  test('a missing key is refused', () => {
    assert.throws(() => new KookooVerify({ fetch: f }), { code: 'CONFIG' });
  });
  test('a baseUrl with credentials or another scheme is refused', () => {
    assert.throws(() => new KookooVerify({ apiKey: KEY, fetch: f,
      baseUrl: 'https://k:s@verify.example.com' }), { code: 'CONFIG' });
    assert.throws(() => new KookooVerify({ apiKey: KEY, fetch: f,
      baseUrl: 'ftp://verify.example.com' }), { code: 'CONFIG' });
  });
  test('bad numbers are refused', () => {
    assert.throws(() => new KookooVerify({ apiKey: KEY, fetch: f,
      timeoutMs: 0 }), { code: 'CONFIG' });
    assert.throws(() => new KookooVerify({ apiKey: KEY, fetch: f,
      retries: -1 }), { code: 'CONFIG' });
  });
  test('baseUrl: trailing slashes dropped, empty = same origin', async () => {
    const fetch = fakeFetch({ body: { request_id: RID, status: '0' } },
      { body: { request_id: RID, status: '0' } });
    await new KookooVerify({ apiKey: KEY, fetch, baseUrl: `${BASE}//` })
      .start('9876543210', { brand: 'B' });
    await new KookooVerify({ apiKey: KEY, fetch })
      .start('9876543210', { brand: 'B' });
    assert.equal(fetch.calls[0].url, `${BASE}/verify/json`);
    assert.equal(fetch.calls[1].url, '/verify/json');
  });
});

describe('start()', () => {
  test('posts number, brand, lg, country and keeps the request id',
    async () => {
      const fetch = fakeFetch({ body: { request_id: RID, status: '0' } });
      const kv = client(fetch);
      const r = await kv.start('+91 98765 43210',
        { brand: 'Shop', lg: 'HI-IN', country: 'in' });
      assert.deepEqual(r, { requestId: RID, resumed: false, missedCall: null });
      assert.equal(kv.requestId, RID);
      const [call] = fetch.calls;
      assert.equal(call.url, `${BASE}/verify/json`);
      assertPublishableJson(call);
      assert.deepEqual(call.body, { api_key: KEY, number: '+91 98765 43210',
        brand: 'Shop', handle: HANDLE, lg: 'hi-in', country: 'IN' });
    });

  test('a missed-call number in the reply is returned', async () => {
    const fetch = fakeFetch({ body: { request_id: RID, status: '0',
      missed_call_number: '+918040000001', missed_call_expires_in: '300' } });
    const r = await client(fetch).start('9876543210');
    assert.deepEqual(r.missedCall, { number: '+918040000001',
      expiresIn: 300 });
  });

  test('uses the constructor brand and sends no absent options', async () => {
    const fetch = fakeFetch({ body: { request_id: RID, status: '0' } });
    await client(fetch).start('9876543210');
    assert.deepEqual(fetch.calls[0].body,
      { api_key: KEY, number: '9876543210', brand: 'MyApp',
        handle: HANDLE });
  });

  test('status "10" with a request_id resumes the live verification',
    async () => {
      const fetch = fakeFetch({ body: { request_id: RID, status: '10',
        error_text: 'Concurrent verifications to the same number are not ' +
          'allowed.' } });
      const kv = client(fetch);
      assert.deepEqual(await kv.start('9876543210'),
        { requestId: RID, resumed: true, missedCall: null });
      assert.equal(kv.requestId, RID);
    });

  test('status "10" without a request_id is an error', async () => {
    const fetch = fakeFetch({ body: { request_id: '', status: '10',
      error_text: 'Concurrent' } });
    await rejectsWith(client(fetch).start('9876543210'), { status: '10' });
  });

  test('an invalid number: status "3" with the server text', async () => {
    const text = 'Invalid value for parameter `number`';
    const fetch = fakeFetch({ body: { request_id: '', status: '3',
      error_text: text } });
    const kv = client(fetch);
    await rejectsWith(kv.start('12345'), { code: 'SERVER', status: '3',
      errorText: text, message: text, httpStatus: 200, retryAfter: null });
    assert.equal(kv.requestId, null);
  });

  test('origin refused (HTTP 403, status "4") is not retried', async () => {
    const fetch = fakeFetch({ http: 403, body: { status: '4',
      error_text: 'Origin not allowed for this key' } });
    await rejectsWith(client(fetch).start('9876543210'), { status: '4',
      httpStatus: 403, errorText: 'Origin not allowed for this key' });
    assert.equal(fetch.calls.length, 1);
  });

  test('throttled with HTTP 429 and Retry-After: not retried, retryAfter set',
    async () => {
      const fetch = fakeFetch({ http: 429, headers: { 'Retry-After': '12' },
        body: { status: '1', error_text: 'Throttled' } });
      await rejectsWith(client(fetch).start('9876543210'), { status: '1',
        httpStatus: 429, retryAfter: 12, errorText: 'Throttled' });
      assert.equal(fetch.calls.length, 1);
    });

  test('throttled Vonage style (HTTP 200) is an error too', async () => {
    const fetch = fakeFetch({ body: { status: '1', error_text: 'Throttled' } });
    await rejectsWith(client(fetch).start('9876543210'),
      { status: Status.THROTTLED, httpStatus: 200 });
  });

  test('input validation happens before any request', async () => {
    const fetch = fakeFetch();
    const kv = client(fetch);
    for (const phone of ['', '   ', undefined, 919876543210, 'tel:123',
      '98765abc10', '+', '1'.repeat(33)]) {
      await rejectsWith(kv.start(phone), { code: 'INVALID_INPUT' });
    }
    const noBrand = client(fetch, { brand: undefined });
    await rejectsWith(noBrand.start('9876543210'),
      { code: 'INVALID_INPUT', message: /brand/ });
    await rejectsWith(kv.start('9876543210', { brand: 'x'.repeat(19) }),
      { code: 'INVALID_INPUT' });
    await rejectsWith(kv.start('9876543210', { lg: 'english' }),
      { code: 'INVALID_INPUT' });
    await rejectsWith(kv.start('9876543210', { country: 'IND' }),
      { code: 'INVALID_INPUT' });
    assert.equal(fetch.calls.length, 0);
  });

  test('a brand of 18 code points (not bytes) is accepted', async () => {
    const fetch = fakeFetch({ body: { request_id: RID, status: '0' } });
    await client(fetch).start('9876543210', { brand: 'é'.repeat(18) });
    assert.equal(fetch.calls[0].body.brand, 'é'.repeat(18));
  });
});

describe('check()', () => {
  const token = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiI5MTk4NzY1NDMyMTAifQ.c2ln';

  test('posts request_id and code; returns verified with the token',
    async () => {
      const fetch = fakeFetch({ body: { request_id: RID,
        event_id: '11D4A548DEEDBB92', status: '0', price: '0.00000000',
        currency: 'EUR', token } });
      const kv = await started(fetch);
      const r = await kv.check(' 0123 ');
      assert.deepEqual(r, { verified: true, requestId: RID, token,
        eventId: '11D4A548DEEDBB92' });
      const [call] = fetch.calls;
      assert.equal(call.url, `${BASE}/verify/check/json`);
      assertPublishableJson(call);
      assert.deepEqual(call.body, { api_key: KEY, request_id: RID,
        code: '0123', handle: HANDLE });
      assert.equal(typeof call.body.code, 'string');
    });

  test('wrong code: status "16" with the server text and request id',
    async () => {
      const text = 'The code provided does not match the expected value';
      const fetch = fakeFetch({ body: { request_id: RID, status: '16',
        error_text: text } });
      await rejectsWith((await started(fetch)).check('9999'),
        { status: Status.WRONG_CODE, errorText: text, requestId: RID });
    });

  test('third wrong code: status "17"; expired: status "6"', async () => {
    const fetch = fakeFetch(
      { body: { request_id: RID, status: '17',
        error_text: 'The wrong code was provided too many times' } },
      { body: { request_id: RID, status: '6', error_text: 'not found' } });
    const kv = await started(fetch);
    await rejectsWith(kv.check('9999'), { status: '17' });
    await rejectsWith(kv.check('1234'), { status: '6' });
  });

  test('a code is 4 to 10 ASCII digits, as a string', async () => {
    const fetch = fakeFetch();
    const kv = await started(fetch);
    for (const code of ['', '123', '12345678901', '12a4', '١٢٣٤', 1234,
      null, '12 34']) {
      await rejectsWith(kv.check(code), { code: 'INVALID_INPUT' });
    }
    assert.equal(fetch.calls.length, 0);
  });

  test('before start(): NO_REQUEST for check, status, cancel, resend',
    async () => {
      const fetch = fakeFetch();
      const kv = client(fetch);
      await rejectsWith(kv.check('1234'), { code: 'NO_REQUEST' });
      await rejectsWith(kv.status(), { code: 'NO_REQUEST' });
      await rejectsWith(kv.cancel(), { code: 'NO_REQUEST' });
      await rejectsWith(kv.resend(), { code: 'NO_REQUEST' });
      assert.equal(fetch.calls.length, 0);
    });

  test('a timeout is not retried (the attempt may have been counted)',
    async () => {
      const fetch = fakeFetch('hang', { body: { status: '0' } });
      const kv = await started(fetch, { timeoutMs: 20 });
      await rejectsWith(kv.check('1234'), { code: 'TIMEOUT' }, TimeoutError);
      assert.equal(fetch.calls.length, 1);
    });

  test('a connection failure is retried', async () => {
    const fetch = fakeFetch(networkFailure(),
      { body: { request_id: RID, status: '0', token } });
    const r = await (await started(fetch)).check('1234');
    assert.equal(r.token, token);
    assert.equal(fetch.calls.length, 2);
  });

  test('a success without a token gives token null', async () => {
    const fetch = fakeFetch({ body: { request_id: RID, status: '0' } });
    assert.equal((await (await started(fetch)).check('1234')).token, null);
  });
});

describe('status()', () => {
  const search = {
    request_id: RID, account_id: 'pk_0123456789abcdef',
    number: '919876543210', sender_id: 'verify',
    date_submitted: '2026-11-25 17:52:09', date_finalized: '',
    first_event_date: '', last_event_date: '', price: '0.00000000',
    currency: 'EUR', estimated_price_messages_sent: '0.00000000',
    status: 'IN PROGRESS',
    checks: [{ date_received: '2026-11-25 17:52:10', code: '9999',
      status: 'INVALID', ip_address: '127.0.0.1' }],
    events: [{ type: 'sms', id: 'abc' }],
  };

  test('a verified search carries its token', async () => {
    const fetch = fakeFetch({ body: { ...search, status: 'SUCCESS',
      token: 'a.b.c' } });
    const s = await (await started(fetch)).status();
    assert.equal(s.state, 'verified');
    assert.equal(s.token, 'a.b.c');
  });

  test('posts request_id to search and normalises the reply', async () => {
    const fetch = fakeFetch({ body: search });
    const s = await (await started(fetch)).status();
    assert.equal(fetch.calls[0].url, `${BASE}/verify/search/json`);
    assertPublishableJson(fetch.calls[0]);
    assert.deepEqual(fetch.calls[0].body, { api_key: KEY, request_id: RID,
      handle: HANDLE });
    assert.equal(s.state, 'pending');
    assert.equal(s.requestId, RID);
    assert.equal(s.number, '919876543210');
    assert.equal(s.dateSubmitted, '2026-11-25 17:52:09');
    assert.equal(s.dateFinalized, null);
    assert.deepEqual(s.checks, search.checks);
    assert.deepEqual(s.events, search.events);
    assert.deepEqual(s.raw, search);
  });

  test('every search status maps to a state', async () => {
    const map = { 'IN PROGRESS': 'pending', SUCCESS: 'verified',
      FAILED: 'failed', EXPIRED: 'expired', CANCELLED: 'cancelled' };
    for (const [status, state] of Object.entries(map)) {
      const fetch = fakeFetch({ body: { ...search, status } });
      assert.equal((await (await started(fetch)).status()).state, state);
    }
  });

  test('"101 No response found" is an error', async () => {
    const fetch = fakeFetch({ body: { status: '101',
      error_text: 'No response found' } });
    await rejectsWith((await started(fetch)).status(),
      { status: '101', errorText: 'No response found', requestId: RID });
  });
});

describe('cancel() and resend()', () => {
  test('post cmd to control', async () => {
    const fetch = fakeFetch({ body: { status: '0', command: 'resend' } },
      { body: { status: '0', command: 'cancel' } });
    const kv = await started(fetch);
    assert.deepEqual(await kv.resend(), { command: 'resend', resendIn: null });
    assert.deepEqual(await kv.cancel(), { command: 'cancel' });
    for (const call of fetch.calls) {
      assert.equal(call.url, `${BASE}/verify/control/json`);
      assertPublishableJson(call);
    }
    assert.deepEqual(fetch.calls.map((c) => c.body), [
      { api_key: KEY, request_id: RID, cmd: 'resend', handle: HANDLE },
      { api_key: KEY, request_id: RID, cmd: 'cancel', handle: HANDLE }]);
  });

  test('resend too soon: status "1" with Retry-After', async () => {
    const fetch = fakeFetch({ headers: { 'Retry-After': '25' },
      body: { status: '1', error_text: 'Throttled: resent too recently' } });
    await rejectsWith((await started(fetch)).resend(), { status: '1',
      retryAfter: 25, errorText: 'Throttled: resent too recently' });
    assert.equal(fetch.calls.length, 1);
  });

  test('retry_after in the body is used when the header is unreadable',
    async () => {
      const fetch = fakeFetch({ body: { status: '1', retry_after: '7',
        error_text: 'Throttled: resent too recently' } });
      await rejectsWith((await started(fetch)).resend(), { retryAfter: 7 });
    });

  test('the server\'s resend_in: the refusal\'s wait and the next one\'s',
    async () => {
      const refused = fakeFetch({ body: { status: '1', resend_in: '42',
        error_text: 'Throttled: resent too recently' } });
      await rejectsWith((await started(refused)).resend(),
        { retryAfter: 42 });
      const ok = fakeFetch({ body: { status: '0', command: 'resend',
        resend_in: '120' } });
      assert.deepEqual(await (await started(ok)).resend(),
        { command: 'resend', resendIn: 120 });
      const none = fakeFetch({ body: { status: '0', command: 'resend' } });
      assert.deepEqual(await (await started(none)).resend(),
        { command: 'resend', resendIn: null });
    });

  test('cancel too early: status "19"', async () => {
    const text = `Verification request ['${RID}'] can't be cancelled ` +
      'within the first 30 seconds.';
    const fetch = fakeFetch({ body: { status: '19', error_text: text } });
    await rejectsWith((await started(fetch)).cancel(),
      { status: Status.CANNOT_CANCEL, errorText: text });
  });

  test('reset() forgets the request id', async () => {
    const kv = await started(fakeFetch());
    kv.reset();
    assert.equal(kv.requestId, null);
  });
});

describe('the visitor\'s handle', () => {
  /** A Storage stand-in; `fail` makes every call throw. */
  function memoryStorage(fail = false) {
    const items = new Map();
    return {
      items,
      getItem(k) {
        if (fail) throw new Error('denied');
        return items.has(k) ? items.get(k) : null;
      },
      setItem(k, v) {
        if (fail) throw new Error('denied');
        items.set(k, String(v));
      },
    };
  }

  test('drawn at random, 128 bits, one per client', () => {
    const a = new KookooVerify({ apiKey: KEY, fetch: fakeFetch() });
    const b = new KookooVerify({ apiKey: KEY, fetch: fakeFetch() });
    assert.match(a.handle, /^[0-9a-f]{32}$/);
    assert.notEqual(a.handle, b.handle);
  });

  test('sent on start, check, status, resend and cancel', async () => {
    const fetch = fakeFetch({ body: { request_id: RID, status: '0',
      handle: HANDLE } }, { body: { status: '16', error_text: 'no' } },
    { body: { request_id: RID, status: 'IN PROGRESS' } },
    { body: { status: '0', command: 'resend' } },
    { body: { status: '0', command: 'cancel' } });
    const kv = client(fetch);
    await kv.start('9876543210');
    await assert.rejects(kv.check('1234'));
    await kv.status();
    await kv.resend();
    await kv.cancel();
    assert.equal(fetch.calls.length, 5);
    for (const call of fetch.calls)
      assert.equal(call.body.handle, HANDLE, call.url);
  });

  test('the server\'s handle is adopted when it bound another', async () => {
    const other = 'a'.repeat(32);
    const fetch = fakeFetch({ body: { request_id: RID, status: '0',
      handle: other } }, { body: { request_id: RID, status: 'IN PROGRESS' } });
    const kv = client(fetch);
    await kv.start('9876543210');
    assert.equal(kv.handle, other);
    await kv.status();
    assert.equal(fetch.calls[1].body.handle, other);
  });

  test('another visitor\'s live verification: status "10", no id, thrown',
    async () => {
      const fetch = fakeFetch({ body: { request_id: '', status: '10',
        error_text: 'Concurrent verifications to the same number are not ' +
          'allowed.' } });
      const kv = client(fetch);
      await rejectsWith(kv.start('9876543210'), { status: '10' });
      assert.equal(kv.requestId, null);
    });

  test('with storage, a reloaded page keeps its handle and resumes',
    async () => {
      const storage = memoryStorage();
      const fetch = fakeFetch({ body: { request_id: RID, status: '0' } },
        { body: { request_id: RID, status: '10', error_text: 'Concurrent' } });
      const first = new KookooVerify({ apiKey: KEY, baseUrl: BASE, fetch,
        brand: 'MyApp', storage });
      await first.start('9876543210');
      assert.equal(storage.items.get(`kookooverify.handle.${KEY}`),
        first.handle);
      const reloaded = new KookooVerify({ apiKey: KEY, baseUrl: BASE, fetch,
        brand: 'MyApp', storage });
      assert.equal(reloaded.handle, first.handle);
      assert.deepEqual(await reloaded.start('9876543210'),
        { requestId: RID, resumed: true, missedCall: null });
      assert.equal(fetch.calls[1].body.handle, first.handle);
    });

  test('without storage nothing is kept; a failing storage is ignored',
    async () => {
      const broken = memoryStorage(true);
      const fetch = fakeFetch({ body: { request_id: RID, status: '0' } });
      const kv = new KookooVerify({ apiKey: KEY, baseUrl: BASE, fetch,
        brand: 'MyApp', storage: broken });
      assert.match(kv.handle, /^[0-9a-f]{32}$/);
      await kv.start('9876543210');
      const junk = memoryStorage();
      junk.items.set(`kookooverify.handle.${KEY}`, 'not-a-handle');
      const fresh = new KookooVerify({ apiKey: KEY, fetch, storage: junk });
      assert.match(fresh.handle, /^[0-9a-f]{32}$/);
    });
});

describe('network failures, timeouts and retries', () => {
  test('a network error is retried, then succeeds', async () => {
    const fetch = fakeFetch(networkFailure(), networkFailure(),
      { body: { request_id: RID, status: '0' } });
    assert.equal((await client(fetch).start('9876543210')).requestId, RID);
    assert.equal(fetch.calls.length, 3);
    assert.deepEqual(fetch.calls[2].body, fetch.calls[0].body);
  });

  test('after `retries` extra tries, a NetworkError with the cause',
    async () => {
      const cause = networkFailure();
      const fetch = fakeFetch(cause, cause, cause);
      await rejectsWith(client(fetch).start('9876543210'),
        { code: 'NETWORK', cause }, NetworkError);
      assert.equal(fetch.calls.length, 3);
    });

  test('retries: 0 means one try', async () => {
    const fetch = fakeFetch(networkFailure());
    await rejectsWith(client(fetch, { retries: 0 }).start('9876543210'),
      { code: 'NETWORK' });
    assert.equal(fetch.calls.length, 1);
  });

  test('a hung request times out with a TimeoutError (a NetworkError)',
    async () => {
      const fetch = fakeFetch('hang');
      const t0 = Date.now();
      await rejectsWith(client(fetch, { timeoutMs: 30, retries: 0 })
        .start('9876543210'), { code: 'TIMEOUT' }, TimeoutError);
      assert.ok(Date.now() - t0 < 2000);
      assert.ok(fetch.calls[0].init.signal.aborted, 'the fetch was aborted');
    });

  test('a stalled body counts as a timeout too', async () => {
    // Headers arrive, the body never ends; like real fetch, the abort
    // signal errors the body stream.
    const stalled = async (url, init) => {
      const body = new ReadableStream({ start(controller) {
        init.signal.addEventListener('abort', () => controller.error(
          new DOMException('aborted', 'AbortError')));
      } });
      return new Response(body, { status: 200 });
    };
    await rejectsWith(client(stalled, { timeoutMs: 30, retries: 0 })
      .start('9876543210'), { code: 'TIMEOUT' }, TimeoutError);
  });

  test('start() retries a timeout, then succeeds', async () => {
    const fetch = fakeFetch('hang', { body: { request_id: RID,
      status: '10', error_text: 'Concurrent' } });
    const r = await client(fetch, { timeoutMs: 30 }).start('9876543210');
    assert.deepEqual(r, { requestId: RID, resumed: true, missedCall: null });
    assert.equal(fetch.calls.length, 2);
  });

  test('a server reply is never retried, whatever its status', async () => {
    for (const status of ['1', '2', '3', '4', '6', '16', '17', '19']) {
      const fetch = fakeFetch({ http: status === '4' ? 403 : 200,
        body: { status, error_text: 'x' } });
      await assert.rejects((await started(fetch)).check('1234'));
      assert.equal(fetch.calls.length, 1, `status ${status}`);
    }
  });

  test('status "5" (nothing was changed) is retried once', async () => {
    const fetch = fakeFetch(
      { http: 500, body: { status: 5, error_text: 'Internal Error' } },
      { body: { request_id: RID, status: '0' } });
    assert.equal((await client(fetch).start('9876543210')).requestId, RID);
    assert.equal(fetch.calls.length, 2);

    const twice = fakeFetch(
      { http: 500, body: { status: 5, error_text: 'Internal Error' } },
      { http: 500, body: { status: 5, error_text: 'Internal Error' } });
    await rejectsWith(client(twice).start('9876543210'),
      { status: '5', httpStatus: 500, errorText: 'Internal Error' });
    assert.equal(twice.calls.length, 2);
  });

  test('a non-JSON reply is BAD_RESPONSE, not retried', async () => {
    const fetch = fakeFetch({ http: 414, body: '<html>too long</html>' });
    await rejectsWith(client(fetch).start('9876543210'),
      { code: 'BAD_RESPONSE', httpStatus: 414, status: null });
    assert.equal(fetch.calls.length, 1);
  });

  test('a gateway\'s 502 page is retried like a network error', async () => {
    const fetch = fakeFetch({ http: 502, body: 'Bad Gateway' },
      { body: { request_id: RID, status: '0' } });
    assert.equal((await client(fetch).start('9876543210')).requestId, RID);
  });

  test('numeric status from the 404/405 replies is read as a string',
    async () => {
      const fetch = fakeFetch({ http: 404,
        body: { status: 404, error_text: 'Not found' } });
      await rejectsWith(client(fetch).start('9876543210'),
        { status: '404', httpStatus: 404 });
    });

  test('the caller\'s AbortSignal stops at once, without retry', async () => {
    const fetch = fakeFetch('hang', 'hang');
    const ac = new AbortController();
    const p = client(fetch).start('9876543210', { signal: ac.signal });
    setTimeout(() => ac.abort(), 10);
    await rejectsWith(p, { code: 'ABORTED' });
    assert.equal(fetch.calls.length, 1);
    await rejectsWith(client(fetch).status({ signal: ac.signal }),
      { code: 'NO_REQUEST' });
  });

  test('each try has its own timeout', async () => {
    const fetch = fakeFetch('hang', 'hang',
      { body: { request_id: RID, status: '0' } });
    const r = await client(fetch, { timeoutMs: 25 }).start('9876543210');
    assert.equal(r.requestId, RID);
    assert.equal(fetch.calls.length, 3);
    assert.notEqual(fetch.calls[0].init.signal, fetch.calls[1].init.signal);
  });
});

describe('errors', () => {
  test('the class hierarchy', () => {
    const t = new TimeoutError('t');
    assert.ok(t instanceof NetworkError);
    assert.ok(t instanceof KookooVerifyError);
    assert.ok(t instanceof Error);
    assert.equal(t.name, 'TimeoutError');
    assert.equal(t.code, 'TIMEOUT');
    assert.equal(new NetworkError('n').code, 'NETWORK');
    const e = new KookooVerifyError('m', { status: '16' });
    assert.equal(e.code, 'SERVER');
    assert.equal(e.retryAfter, null);
  });
});

describe('parseRetryAfter()', () => {
  test('seconds, dates, garbage', () => {
    assert.equal(parseRetryAfter('30'), 30);
    assert.equal(parseRetryAfter(' 0 '), 0);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:42 GMT', now), 42);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon'), null);
    assert.equal(parseRetryAfter('-5'), null);
    assert.equal(parseRetryAfter(null), null);
    assert.equal(parseRetryAfter(''), null);
  });
});

describe('decodeToken()', () => {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

  test('returns the payload without verifying', () => {
    const payload = { iss: 'kookooverify', sub: '919876543210', aud: KEY,
      rid: RID, iat: 1, exp: 601, jti: 'x', name: 'Zoë' };
    const token = `${enc({ alg: 'EdDSA' })}.${enc(payload)}.not-checked`;
    assert.deepEqual(decodeToken(token), payload);
  });

  test('refuses what is not a JWT', () => {
    for (const bad of [undefined, '', 'a.b', 'a.b.c.d', `x.${'%%'}.y`,
      `x.${Buffer.from('[1]').toString('base64url')}.y`,
      `x.${Buffer.from('nope').toString('base64url')}.y`]) {
      assert.throws(() => decodeToken(bad), { code: 'BAD_TOKEN' });
    }
  });
});
