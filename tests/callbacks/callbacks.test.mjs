// A key's backend receiving status callbacks from a real kookooverify
// server: every callback's Authorization JWT is checked with Vonage's own
// verifySignature (@vonage/jwt, pinned in package.json), its payload_hash
// against the body, and the events and summary of each verification must
// arrive in order, a Verify v2 start's client_ref in every one of them.
// docs/API.md's Node.js example of that check is run too, as printed
// there.  The server runs as tests/node/harness.mjs runs it; the receiver
// is on loopback, so callback_allow_private is on.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { verifySignature } from '@vonage/jwt';
import { BIN, Child, HTTP_TIMEOUT_MS, REQUEST_ID_RE, ROOT, cleanEnv,
  jsonLine, makeTempDir, pollUntil, requireExecutable, runCli, teardown }
  from '../node/harness.mjs';

const PINS = { '919999900011': '1234', '919999900012': '2345',
  '919999900013': '3456' };
const server = { dir: null, port: 0, key: null, secret: null };
const arrivals = [];
let receiver = null;
let callbackOk = null; // docs/API.md's example (docExample)

// The js block under "### Signature" in docs/API.md, as printed, imported
// from a file beside this one (so it finds @vonage/jwt) that exports its
// callbackOk; the file is removed at once.
async function docExample() {
  const lines = readFileSync(path.join(ROOT, 'docs', 'API.md'), 'utf8')
    .split('\n');
  const from = lines.indexOf('### Signature');
  assert.ok(from >= 0, 'no "### Signature" heading in docs/API.md');
  let code = null;
  for (const line of lines.slice(from + 1)) {
    if (code === null && /^#{1,3} /.test(line))
      break;
    if (code === null && line === '```js')
      code = [];
    else if (code !== null && line === '```')
      break;
    else if (code !== null)
      code.push(line);
  }
  assert.ok(code, 'no js block under "### Signature" in docs/API.md');
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)),
    `.api-example-${process.pid}.mjs`);
  writeFileSync(file, code.join('\n') + '\nexport { callbackOk };\n');
  try {
    return (await import(pathToFileURL(file).href)).callbackOk;
  } finally {
    rmSync(file, { force: true });
  }
}

// The same token with header {"alg":"none"} and no signature.
function algNone(authorization) {
  const payload = authorization.replace(/^Bearer /, '').split('.')[1];
  const header = Buffer.from('{"alg":"none","typ":"JWT"}')
    .toString('base64url');
  return `Bearer ${header}.${payload}.`;
}

// Records each callback and whether Vonage's verification accepts it.
function receive(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '',
      'base64url').toString() || '{}');
    arrivals.push({
      body: JSON.parse(raw.toString()),
      raw,
      auth,
      claims,
      signed: token !== '' && verifySignature(token, server.secret),
      forged: token !== '' && verifySignature(token, server.secret + 'x'),
      hashOk: claims.payload_hash ===
        crypto.createHash('sha256').update(raw).digest('hex'),
    });
    res.writeHead(200).end();
  });
}

async function api(pathname, params) {
  const q = new URLSearchParams({ api_key: server.key.api_key,
    api_secret: server.key.api_secret, ...params });
  const res = await fetch(`http://127.0.0.1:${server.port}${pathname}?${q}`,
    { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  return res.json();
}

// A Verify v2 call with the key's credentials (HTTP Basic).
async function v2(method, pathname, body) {
  const basic = Buffer.from(`${server.key.api_key}:${server.key.api_secret}`)
    .toString('base64');
  const url = `http://127.0.0.1:${server.port}/v2/verify${pathname}`;
  const res = await fetch(url,
    { method, headers: { authorization: `Basic ${basic}`,
      'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  return { status: res.status, body: await res.text() };
}

before(async () => {
  requireExecutable('kookooverify binary', BIN,
    'build it with make or set KOOKOOVERIFY_BIN');
  callbackOk = await docExample();
  receiver = http.createServer(receive);
  await new Promise((res) => receiver.listen(0, '127.0.0.1', res));
  server.dir = makeTempDir('callbacks');
  const opts = { cwd: server.dir, env: cleanEnv({
    KOOKOOVERIFY_TEST_NUMBERS: Object.entries(PINS)
      .map(([n, p]) => n + ':' + p).join(','),
    KOOKOOVERIFY_CANCEL_MIN_AGE: '0',
    KOOKOOVERIFY_CALLBACK_ALLOW_PRIVATE: 'on',
  }) };
  const db = path.join(server.dir, 'kv.db');
  runCli(['migrate', '--db', db], opts);
  server.key = jsonLine(runCli(['keys', 'create', '--db', db, '--json'],
    opts), 'keys create --json');
  const url = `http://127.0.0.1:${receiver.address().port}/vonage`;
  const cb = jsonLine(runCli(['keys', 'callback', server.key.api_key, url,
    '--db', db, '--json'], opts), 'keys callback --json');
  server.secret = cb.signature_secret;
  server.port = await new Child('server', BIN,
    ['serve', '--listen', '127.0.0.1:0', '--db', db], opts).start();
});

after(async () => {
  receiver?.close();
  await teardown(server.dir, 'callbacks');
});

// The callbacks of one verification once `count` have come.
async function callbacksOf(rid, count) {
  return pollUntil(async () => {
    const got = arrivals.filter((a) => a.body.request_id === rid);
    return { value: got.length >= count ? got : undefined, last: got };
  }, 15000, `${count} callbacks of ${rid}`, 50);
}

// docs/API.md's example accepts the callback as it came, and refuses it
// with a changed body, under a wrong secret and with alg none.
function assertDocExample(a) {
  const what = `${a.body.type} ${a.body.status}`;
  assert.equal(callbackOk(a.auth, a.raw, server.secret), true,
    `the example refuses the genuine ${what}`);
  const changed = Buffer.from(a.raw.toString().replace(a.body.request_id,
    a.body.request_id.replace(/.$/, (c) => (c === '0' ? '1' : '0'))));
  assert.notDeepEqual(changed, a.raw);
  assert.equal(callbackOk(a.auth, changed, server.secret), false,
    `the example accepts ${what} with a changed body`);
  assert.equal(callbackOk(a.auth, a.raw, server.secret + 'x'), false,
    `the example accepts ${what} under a wrong secret`);
  assert.equal(callbackOk(algNone(a.auth), a.raw, server.secret), false,
    `the example accepts ${what} with alg none`);
}

function assertSigned(got) {
  for (const a of got) {
    assert.ok(a.signed, `@vonage/jwt rejects ${JSON.stringify(a)}`);
    assert.ok(!a.forged, 'a wrong secret must not verify');
    assert.ok(a.hashOk, `payload_hash of ${JSON.stringify(a.body)}`);
    assert.match(a.claims.jti, /^[0-9a-f]{32}$/);
    assertDocExample(a);
  }
  assert.equal(new Set(got.map((a) => a.claims.jti)).size, got.length);
}

test('a wrong code, then the right one: events and summary, signed',
  async () => {
    const start = await api('/verify/json', { number: '919999900011',
      brand: 'MyApp' });
    assert.match(start.request_id, REQUEST_ID_RE);
    const rid = start.request_id;
    assert.equal((await api('/verify/check/json', { request_id: rid,
      code: '0000' })).status, '16');
    assert.equal((await api('/verify/check/json', { request_id: rid,
      code: PINS['919999900011'] })).status, '0');
    const got = await callbacksOf(rid, 3);
    assertSigned(got);
    assert.deepEqual(got.map((a) => [a.body.type, a.body.status]),
      [['event', 'code_wrong'], ['event', 'completed'],
        ['summary', 'completed']]);
    assert.ok(got[1].body.finalized_at);
    assert.deepEqual(got[2].body.workflow.map((w) => w.channel),
      ['sms', 'voice']);
    for (const a of got)
      assert.ok(!('client_ref' in a.body), 'v1 has no client_ref');
  });

test('Verify v2: its request_id (a UUID) and client_ref come back in the '
  + 'events and the summary',
  async () => {
    const start = await v2('POST', '', { brand: 'MyApp',
      client_ref: 'basket-1138',
      workflow: [{ channel: 'sms', to: '919999900013' }] });
    assert.equal(start.status, 202, start.body);
    const uuid = JSON.parse(start.body).request_id;
    assert.equal((await v2('POST', `/${uuid}`, { code: '0000' })).status, 400);
    const ok = await v2('POST', `/${uuid}`, { code: PINS['919999900013'] });
    assert.equal(ok.status, 200, ok.body);
    const got = await callbacksOf(uuid, 3);
    assertSigned(got);
    assert.deepEqual(got.map((a) => [a.body.type, a.body.status,
      a.body.client_ref]),
    [['event', 'code_wrong', 'basket-1138'],
      ['event', 'completed', 'basket-1138'],
      ['summary', 'completed', 'basket-1138']]);
  });

test('cancelled: the final event and the summary, signed', async () => {
  const start = await api('/verify/json', { number: '919999900012',
    brand: 'MyApp' });
  const rid = start.request_id;
  assert.equal((await api('/verify/control/json', { request_id: rid,
    cmd: 'cancel' })).status, '0');
  const got = await callbacksOf(rid, 2);
  assertSigned(got);
  assert.deepEqual(got.map((a) => [a.body.type, a.body.status]),
    [['event', 'cancelled'], ['summary', 'cancelled']]);
});
