// Vonage's own Node.js client for Verify v1 (@vonage/verify, the "legacy
// verify" class the @vonage/server-sdk bundle exposes as vonage.verify),
// pointed at a real kookooverify server: every request below is made by the
// SDK, and every assertion is on what the SDK hands back to an application.
//
// The server runs as tests/integration/harness.py runs it (the process
// handling is tests/node/harness.mjs): a temp dir, `migrate`, `keys create
// --json`, `serve --listen 127.0.0.1:0` with fixed PINs for the test
// numbers and the abuse limits off.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  CheckStatus,
  Command,
  SearchCheckStatus,
  SearchStatus,
  Verify,
  VerifyLanguages,
  VerifyWorkflows,
} from '@vonage/verify';
import { BIN, CODE_MISMATCH, Child, DATETIME_RE, HTTP_TIMEOUT_MS,
  REQUEST_ID_RE, cleanEnv, jsonLine, makeTempDir, notePin, pollUntil,
  requireExecutable, runCli, teardown } from '../node/harness.mjs';

// Test numbers and their fixed PINs; each test takes its own number.
const PINS = {
  '919999900001': '1234',
  '919999900002': '2345',
  '919999900003': '3456',
  '919999900004': '4567',
  '919999900005': '5678',
  '919999900006': '6789',
  '919999900007': '7890',
  '919999900008': '8901',
  '919999900009': '9012',
};
for (const pin of Object.values(PINS))
  notePin(pin);

const BAD_CREDENTIALS = 'Invalid credentials were provided';
const NOT_FOUND = (rid) => 'The Vonage platform was unable to process ' +
  'this message for the following reason: Request \'' + rid +
  '\' was not found or it has been verified already.';

const server = { dir: null, port: 0, key: null };

// The server's environment (tests/node/harness.mjs cleanEnv): the test
// numbers with their PINs, and a verification may be cancelled at once.
function serverEnv() {
  return cleanEnv({
    KOOKOOVERIFY_TEST_NUMBERS: Object.entries(PINS)
      .map(([n, p]) => n + ':' + p).join(','),
    KOOKOOVERIFY_CANCEL_MIN_AGE: '0',
  });
}

before(async () => {
  requireExecutable('kookooverify binary', BIN,
    'build it with make or set KOOKOOVERIFY_BIN');
  server.dir = makeTempDir('vonage-sdk');
  const opts = { cwd: server.dir, env: serverEnv() };
  const db = path.join(server.dir, 'kv.db');
  runCli(['migrate', '--db', db], opts);
  server.key = jsonLine(runCli(['keys', 'create', '--name', 'sdk', '--db',
    db, '--json'], opts), 'keys create --json');
  server.port = await new Child('server', BIN,
    ['serve', '--listen', '127.0.0.1:0', '--db', db], opts).start();
});

after(() => teardown(server.dir, 'vonage-sdk'));

// An SDK client for this server, with the real key or the given secret.
function client(secret) {
  return new Verify({
    apiKey: server.key.api_key,
    apiSecret: secret ?? server.key.api_secret,
  }, { apiHost: `http://127.0.0.1:${server.port}`,
    timeout: HTTP_TIMEOUT_MS });
}

// Starts a verification through the SDK and asserts it was accepted.
async function startOk(params) {
  const res = await client().start({ brand: 'MyApp', ...params });
  assert.equal(res.status, CheckStatus.SUCCESS, JSON.stringify(res));
  assert.match(res.requestId, REQUEST_ID_RE);
  return res.requestId;
}

async function searchStatus(rid) {
  const res = await client().search(rid);
  return res.status;
}

test('start: status 0 and a 32-hex requestId, nothing else', async () => {
  const res = await client().start({ number: '919999900001',
    brand: 'MyApp' });
  assert.match(res.requestId, REQUEST_ID_RE);
  assert.deepEqual(res, {
    request_id: res.requestId,
    status: CheckStatus.SUCCESS,
    requestId: res.requestId,
  });
});

test('start again for a live number: status 10 with the live requestId',
  async () => {
    const rid = await startOk({ number: '919999900002' });
    const res = await client().start({ number: '919999900002',
      brand: 'MyApp' });
    const text = 'Concurrent verifications to the same number are not ' +
      'allowed.';
    assert.deepEqual(res, {
      request_id: rid,
      status: CheckStatus.CONCURRENT_VERIFICATIONS,
      error_text: text,
      requestId: rid,
      errorText: text,
    });
  });

test('check: wrong code 16, right code 0, then 6; search shows both checks',
  async () => {
    const number = '919999900003';
    const rid = await startOk({ number });
    const v = client();

    const wrong = await v.check(rid, '0000');
    assert.deepEqual(wrong, {
      request_id: rid,
      status: CheckStatus.CODE_MISMATCH,
      error_text: CODE_MISMATCH,
      requestId: rid,
      errorText: CODE_MISMATCH,
    });

    const right = await v.check(rid, PINS[number]);
    const eventId = rid.slice(0, 16).toUpperCase();
    assert.deepEqual(right, {
      request_id: rid,
      event_id: eventId,
      status: CheckStatus.SUCCESS,
      price: '0.00000000',
      currency: 'EUR',
      requestId: rid,
      eventId,
    });

    const again = await v.check(rid, PINS[number]);
    assert.deepEqual(again, {
      request_id: rid,
      status: CheckStatus.FAILED_TO_PROCESS,
      error_text: NOT_FOUND(rid),
      requestId: rid,
      errorText: NOT_FOUND(rid),
    });

    const s = await v.search(rid);
    assert.equal(s.status, SearchStatus.SUCCESS);
    assert.equal(s.requestId, rid);
    assert.equal(s.accountId, server.key.api_key);
    assert.equal(s.number, number);
    assert.equal(s.senderId, 'verify');
    assert.match(s.dateSubmitted, DATETIME_RE);
    assert.match(s.dateFinalized, DATETIME_RE);
    assert.ok(s.dateFinalized >= s.dateSubmitted, JSON.stringify(s));
    assert.equal(s.firstEventDate, '');
    assert.equal(s.lastEventDate, '');
    assert.equal(s.price, '0.00000000');
    assert.equal(s.currency, 'EUR');
    assert.equal(s.estimatedPriceMessagesSent, '0.00000000');
    assert.deepEqual(s.events, []);
    assert.equal(s.checks.length, 2, JSON.stringify(s.checks));
    const [c1, c2] = s.checks;
    for (const c of s.checks) {
      assert.match(c.dateReceived, DATETIME_RE);
      assert.equal(c.date_received, c.dateReceived);
      assert.equal(c.ipAddress, '127.0.0.1');
      assert.equal(c.ip_address, '127.0.0.1');
    }
    assert.equal(c1.code, '0000');
    assert.equal(c1.status, SearchCheckStatus.INVALID);
    assert.equal(c2.code, PINS[number]);
    assert.equal(c2.status, SearchCheckStatus.VALID);
    // Every member the server sent, under both the wire name the SDK keeps
    // and the camelCase name it adds; nothing else.
    assert.deepEqual(Object.keys(s).sort(), [
      'accountId', 'account_id', 'checks', 'currency', 'dateFinalized',
      'dateSubmitted', 'date_finalized', 'date_submitted',
      'estimatedPriceMessagesSent', 'estimated_price_messages_sent',
      'events', 'firstEventDate', 'first_event_date', 'lastEventDate',
      'last_event_date', 'number', 'price', 'requestId', 'request_id',
      'senderId', 'sender_id', 'status',
    ]);
    assert.deepEqual(Object.keys(c1).sort(), ['code', 'dateReceived',
      'date_received', 'ipAddress', 'ip_address', 'status']);
  });

test('check: the third wrong code and any check after it are 17',
  async () => {
    const number = '919999900004';
    const rid = await startOk({ number });
    const v = client();
    for (let i = 0; i < 2; i++)
      assert.equal((await v.check(rid, '0000')).status,
        CheckStatus.CODE_MISMATCH);
    const text = 'The wrong code was provided too many times';
    for (const code of ['0000', PINS[number]]) {
      assert.deepEqual(await v.check(rid, code), {
        request_id: rid,
        status: CheckStatus.INVALID_CODE,
        error_text: text,
        requestId: rid,
        errorText: text,
      });
    }
    assert.equal(await searchStatus(rid), SearchStatus.FAILED);
  });

test('start with every option the SDK types; trigger moves to the next ' +
  'step and the PIN still works', async () => {
  const rid = await startOk({
    number: '9999900005',
    country: 'IN',
    workflowId: VerifyWorkflows.SMS_TTS_TTS,
    codeLength: 6,
    lg: VerifyLanguages.HINDI,
    senderId: 'ACME',
    pinExpiry: 240,
    nextEventWait: 120,
  });
  const v = client();
  const s = await v.search(rid);
  assert.equal(s.status, SearchStatus.IN_PROGRESS);
  assert.equal(s.number, '919999900005');
  assert.equal(s.senderId, 'ACME');
  assert.equal(s.dateFinalized, '');
  assert.deepEqual(s.checks, []);

  assert.deepEqual(await v.trigger(rid), {
    status: CheckStatus.SUCCESS,
    command: Command.TRIGGER_NEXT_EVENT,
  });
  assert.equal(await searchStatus(rid), SearchStatus.IN_PROGRESS);
  // A test number's PIN is the fixed one, whatever codeLength says.
  assert.equal((await v.check(rid, PINS['919999900005'])).status,
    CheckStatus.SUCCESS);
});

test('trigger with no step left (workflow 6, one SMS): status 19',
  async () => {
    const rid = await startOk({ number: '919999900006',
      workflowId: VerifyWorkflows.SMS });
    const v = client();
    const text = 'No more events are left to execute for the request ' +
      `['${rid}']`;
    // Until the worker has run the one step a trigger may still start it.
    const res = await pollUntil(async () => {
      const reply = await v.trigger(rid);
      assert.ok([CheckStatus.SUCCESS, CheckStatus.DELIVERY_FAILED]
        .includes(reply.status), JSON.stringify(reply));
      return { last: reply, value: reply.status ===
        CheckStatus.DELIVERY_FAILED ? reply : undefined };
    }, 5000, 'trigger to answer 19');
    assert.deepEqual(res, {
      status: CheckStatus.DELIVERY_FAILED,
      error_text: text,
      errorText: text,
    });
    assert.equal(await searchStatus(rid), SearchStatus.IN_PROGRESS);
  });

test('cancel: status 0, search CANCELLED, then check and cancel are 6',
  async () => {
    const number = '919999900007';
    const rid = await startOk({ number });
    const v = client();
    assert.deepEqual(await v.cancel(rid), {
      status: CheckStatus.SUCCESS,
      command: Command.CANCEL,
    });
    const s = await v.search(rid);
    assert.equal(s.status, SearchStatus.CANCELLED);
    assert.match(s.dateFinalized, DATETIME_RE);

    assert.equal((await v.check(rid, PINS[number])).status,
      CheckStatus.FAILED_TO_PROCESS);
    assert.deepEqual(await v.cancel(rid), {
      status: CheckStatus.FAILED_TO_PROCESS,
      error_text: NOT_FOUND(rid),
      errorText: NOT_FOUND(rid),
    });
    // The number is free again.
    const rid2 = await startOk({ number });
    assert.notEqual(rid2, rid);
  });

test('search of an unknown id: status 101', async () => {
  assert.deepEqual(await client().search('0'.repeat(32)), {
    status: '101',
    error_text: 'No response found',
    errorText: 'No response found',
  });
});

// Verify.search() takes one id.  Several ids (request_ids repeated) go
// through the same SDK client's own transport: its Basic auth, its fetch
// and its JSON decoding.
test('search of several ids through the SDK client transport', async () => {
  const a = await startOk({ number: '919999900008' });
  const b = await startOk({ number: '919999900009' });
  const v = client();
  assert.equal((await v.check(a, PINS['919999900008'])).status,
    CheckStatus.SUCCESS);
  const url = new URL('/verify/search/json', v.config.apiHost);
  for (const id of [a, '0'.repeat(32), b])
    url.searchParams.append('request_ids', id);
  const resp = await v.sendGetRequest(url.toString());
  assert.equal(resp.status, 200);
  assert.deepEqual(Object.keys(resp.data), ['verification_requests']);
  const list = resp.data.verification_requests;
  assert.ok(Array.isArray(list), JSON.stringify(resp.data));
  // The found ones, in the order given; the unknown id is left out.
  assert.deepEqual(list.map((r) => [r.request_id, r.number, r.status]), [
    [a, '919999900008', SearchStatus.SUCCESS],
    [b, '919999900009', SearchStatus.IN_PROGRESS],
  ]);
  assert.deepEqual(list[0].checks.map((c) => [c.code, c.status]),
    [[PINS['919999900008'], SearchCheckStatus.VALID]]);
});

test('a wrong secret: status 4 from every call', async () => {
  const bad = client('f'.repeat(32));
  const rid = 'a'.repeat(32);
  assert.deepEqual(await bad.start({ number: '919999900001',
    brand: 'MyApp' }), {
    request_id: '',
    status: CheckStatus.INVALID_CREDENTIALS,
    error_text: BAD_CREDENTIALS,
    requestId: '',
    errorText: BAD_CREDENTIALS,
  });
  assert.deepEqual(await bad.check(rid, '1234'), {
    request_id: rid,
    status: CheckStatus.INVALID_CREDENTIALS,
    error_text: BAD_CREDENTIALS,
    requestId: rid,
    errorText: BAD_CREDENTIALS,
  });
  const plain = {
    status: CheckStatus.INVALID_CREDENTIALS,
    error_text: BAD_CREDENTIALS,
    errorText: BAD_CREDENTIALS,
  };
  assert.deepEqual(await bad.search(rid), plain);
  assert.deepEqual(await bad.cancel(rid), plain);
  assert.deepEqual(await bad.trigger(rid), plain);
});

test('an invalid parameter: status 3 naming it', async () => {
  const text = 'Invalid value for parameter `brand`';
  assert.deepEqual(await client().start({ number: '919999900001',
    brand: 'B'.repeat(19) }), {
    request_id: '',
    status: CheckStatus.INVALID_PARAM,
    error_text: text,
    requestId: '',
    errorText: text,
  });
});
