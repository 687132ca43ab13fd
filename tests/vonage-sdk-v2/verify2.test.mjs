// Vonage's own Node.js client for Verify v2 (@vonage/verify2) pointed at a
// real kookooverify server: every request below is made by the SDK, once
// with HTTP Basic (api key and secret) and once with the JWT the SDK makes
// by default from an application id and its private key (RS256), the
// public half registered with `kookooverify applications add`.  Errors are
// asserted as the SDK surfaces them: a rejected promise whose response is
// the server's problem+json, or false from cancel() and nextWorkflow().

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Channels, Verify2 } from '@vonage/verify2';
import { BIN, Child, HTTP_TIMEOUT_MS, cleanEnv, jsonLine, makeTempDir,
  requireExecutable, runCli, teardown } from '../node/harness.mjs';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NEXMO = 'https://developer.nexmo.com/api-errors';
// sms_templates/en/pin.txt, as shipped, with Vonage's variables.
const EN_TEXT = '${brand} code: ${code}. Valid for ${time-limit} min.';
const EN_UNIT = '${brand} code: ${code}. Valid for ${time-limit} '
  + '${time-limit-unit}.';
const EN_DLT_ID = '1107000000000000001';

// Test numbers and their fixed PINs, handed out one per test.
const FIRST = 919999900001;
const NUMBERS = 24;
const pinOf = (n) => String(1000 + ((n - FIRST) * 7919 + 1234) % 9000);
let nextNumber = FIRST;
const newNumber = () => {
  assert.ok(nextNumber < FIRST + NUMBERS, 'out of test numbers');
  return String(nextNumber++);
};

const server = { dir: null, port: 0, key: null, appId: null,
  privateKey: null };

before(async () => {
  requireExecutable('kookooverify binary', BIN,
    'build it with make or set KOOKOOVERIFY_BIN');
  server.dir = makeTempDir('vonage-sdk-v2');
  const numbers = [];
  for (let n = FIRST; n < FIRST + NUMBERS; n++)
    numbers.push(n + ':' + pinOf(n));
  const opts = { cwd: server.dir, env: cleanEnv({
    KOOKOOVERIFY_TEST_NUMBERS: numbers.join(','),
    KOOKOOVERIFY_CANCEL_MIN_AGE: '0',
  }) };
  const db = path.join(server.dir, 'kv.db');
  runCli(['migrate', '--db', db], opts);
  server.key = jsonLine(runCli(['keys', 'create', '--name', 'sdk-v2',
    '--db', db, '--json'], opts), 'keys create --json');
  // The application: a key pair made here, its public half registered.
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pub = path.join(server.dir, 'app.pub.pem');
  writeFileSync(pub, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  server.privateKey = pair.privateKey.export({ type: 'pkcs8',
    format: 'pem' });
  server.appId = jsonLine(runCli(['applications', 'add', '--db', db,
    '--json', server.key.api_key, pub], opts),
  'applications add --json').application_id;
  server.port = await new Child('server', BIN,
    ['serve', '--listen', '127.0.0.1:0', '--db', db], opts).start();
});

after(() => teardown(server.dir, 'vonage-sdk-v2'));

// The SDK's Verify2 always signs a JWT; with key and secret only, an
// application sets the client's authentication type to Basic.
class BasicVerify2 extends Verify2 {
  authType = 'basic';
}

const config = () => ({ apiHost: `http://127.0.0.1:${server.port}`,
  timeout: HTTP_TIMEOUT_MS });

const clients = {
  basic: (secret) => new BasicVerify2({ apiKey: server.key.api_key,
    apiSecret: secret ?? server.key.api_secret }, config()),
  jwt: () => new Verify2({ applicationId: server.appId,
    privateKey: server.privateKey }, config()),
};

// What a rejected SDK call carries: the HTTP status and the problem.
async function problemOf(promise) {
  const err = await promise.then(() => null, (e) => e);
  assert.ok(err, 'the call was expected to fail');
  assert.ok(err.response, `no response on ${err}`);
  assert.equal(err.response.headers.get('content-type'),
    'application/problem+json');
  return { status: err.response.status, body: await err.response.json() };
}

const sms = (to) => ({ channel: Channels.SMS, to });
const voice = (to) => ({ channel: Channels.VOICE, to });

for (const [auth, make] of Object.entries(clients)) {
  describe(`Verify v2 through the SDK, ${auth} auth`, () => {
    test('newRequest, then checkCode with the right code: completed',
      async () => {
        const number = newNumber();
        const v = make();
        const res = await v.newRequest({ brand: 'MyApp',
          workflow: [sms(number), voice(number)], channelTimeout: 60,
          clientRef: 'order-42', codeLength: 4, locale: 'en-us' });
        assert.match(res.requestId, UUID_RE);
        assert.equal(res.checkUrl, undefined);
        assert.equal(await v.checkCode(res.requestId, pinOf(+number)),
          'completed');
        // Verified: the id is no longer one to check.
        const p = await problemOf(v.checkCode(res.requestId,
          pinOf(+number)));
        assert.equal(p.status, 404);
        assert.equal(p.body.type, NEXMO + '#not-found');
      });

    test('checkCode with wrong codes: 400, then 410 on the third',
      async () => {
        const number = newNumber();
        const v = make();
        const { requestId } = await v.newRequest({ brand: 'MyApp',
          workflow: [sms(number)] });
        for (let i = 0; i < 2; i++) {
          const p = await problemOf(v.checkCode(requestId, '0000'));
          assert.equal(p.status, 400);
          assert.equal(p.body.title, 'Invalid Code');
        }
        const p = await problemOf(v.checkCode(requestId, '0000'));
        assert.equal(p.status, 410);
        assert.equal(p.body.type, NEXMO + '#gone');
      });

    test('a second request to a live number: 409 naming the live one',
      async () => {
        const number = newNumber();
        const v = make();
        const { requestId } = await v.newRequest({ brand: 'MyApp',
          workflow: [sms(number)] });
        const p = await problemOf(v.newRequest({ brand: 'MyApp',
          workflow: [sms(number)] }));
        assert.equal(p.status, 409);
        assert.equal(p.body.title, 'Conflict');
        assert.equal(p.body.request_id, requestId);
      });

    test('cancel: true, then false; the code no longer checks', async () => {
      const number = newNumber();
      const v = make();
      const { requestId } = await v.newRequest({ brand: 'MyApp',
        workflow: [sms(number)] });
      assert.equal(await v.cancel(requestId), true);
      assert.equal(await v.cancel(requestId), false);
      const p = await problemOf(v.checkCode(requestId, pinOf(+number)));
      assert.equal(p.status, 404);
    });

    test('nextWorkflow: true with a step left, false after the last',
      async () => {
        const a = newNumber();
        const b = newNumber();
        const v = make();
        const two = await v.newRequest({ brand: 'MyApp',
          workflow: [sms(a), voice(a)] });
        assert.equal(await v.nextWorkflow(two.requestId), true);
        const one = await v.newRequest({ brand: 'MyApp',
          workflow: [sms(b)] });
        assert.equal(await v.nextWorkflow(one.requestId), false);
      });

    test('templates: the DLT set read only; the key\'s own through every '
      + 'method, an sms fragment held to a registered DLT text', async () => {
        const v = make();
        const all = async () => {
          const list = [];
          for await (const t of v.listAllTemplates({ pageSize: 1 }))
            list.push(t);
          return list;
        };
        const dlt = (await all()).find((t) => t.name === 'dlt');
        assert.ok(dlt, 'the built-in template is listed');
        assert.equal((await v.getTemplate(dlt.templateId)).name, 'dlt');
        const page = await v.getTemplateFragmentPage({
          templateId: dlt.templateId });
        const en = page.fragments.find((f) => f.locale === 'en-us');
        assert.equal(en.channel, 'sms');
        assert.equal(en.text, EN_TEXT);
        const one = await v.getTemplateFragment(dlt.templateId,
          en.templateFragmentId);
        assert.equal(one.text, en.text);
        let p = await problemOf(v.updateTemplate({
          templateId: dlt.templateId, name: 'mine' }));
        assert.equal(p.status, 403);

        // The key's own: create, rename and make default, list.
        const made = await v.createTemplate({ name: `mine-${auth}` });
        assert.match(made.templateId, UUID_RE);
        assert.equal((await v.getTemplate(made.templateId)).name,
          `mine-${auth}`);
        const upd = await v.updateTemplate({ templateId: made.templateId,
          name: `sdk-${auth}`, isDefault: true });
        assert.deepEqual([upd.name, upd.isDefault], [`sdk-${auth}`, true]);
        const listed = await all();
        assert.equal(listed.find((t) => t.name === 'dlt').isDefault, false);
        assert.ok(listed.some((t) => t.templateId === made.templateId));

        // Fragments: a registered text (the unit as a variable) gets its
        // DLT ids; any other text is refused naming `text`.
        const frag = await v.createTemplateFragment(made.templateId, {
          channel: 'sms', locale: 'en-us', text: EN_UNIT });
        assert.equal(frag.dltTemplateId, EN_DLT_ID);
        p = await problemOf(v.createTemplateFragment(made.templateId, {
          channel: 'sms', locale: 'en-gb', text: 'Code ${code}' }));
        assert.equal(p.status, 422);
        assert.deepEqual(p.body.invalid_parameters.map((x) => x.name),
          ['text']);
        const frags = [];
        for await (const f of v.listAllTemplateFragments({
          templateId: made.templateId }))
          frags.push(f);
        assert.deepEqual(frags.map((f) => f.templateFragmentId),
          [frag.templateFragmentId]);
        assert.equal((await v.getTemplateFragment(made.templateId,
          frag.templateFragmentId)).text, EN_UNIT);
        const changed = await v.updateTemplateFragment(made.templateId, {
          templateFragmentId: frag.templateFragmentId, text: EN_TEXT });
        assert.equal(changed.text, EN_TEXT);

        // A start names it (and with none, it is the key's default).
        const number = newNumber();
        const { requestId } = await v.newRequest({ brand: 'MyApp',
          workflow: [sms(number)], templateId: made.templateId });
        assert.equal(await v.checkCode(requestId, pinOf(+number)),
          'completed');

        // A template with fragments stays; without, it goes.
        p = await problemOf(v.deleteTemplate(made.templateId));
        assert.equal(p.status, 409);
        assert.equal(await v.deleteTemplateFragment(made.templateId,
          frag.templateFragmentId), true);
        assert.equal(await v.deleteTemplate(made.templateId), true);
        p = await problemOf(v.getTemplate(made.templateId));
        assert.equal(p.status, 404);
      });

    test('a channel this server lacks: 422 naming it', async () => {
      const v = make();
      const p = await problemOf(v.newRequest({ brand: 'MyApp',
        workflow: [{ channel: Channels.EMAIL, to: 'a@example.com' }] }));
      assert.equal(p.status, 422);
      assert.deepEqual(p.body.invalid_parameters.map((x) => x.name),
        ['channel']);
    });
  });
}

test('Basic auth with a wrong secret: 401', async () => {
  const p = await problemOf(clients.basic('0'.repeat(32)).newRequest({
    brand: 'MyApp', workflow: [sms(newNumber())] }));
  assert.equal(p.status, 401);
  assert.equal(p.body.type, NEXMO + '#unauthorized');
});

test('a JWT signed with another private key: 401', async () => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const v = new Verify2({ applicationId: server.appId,
    privateKey: other.privateKey.export({ type: 'pkcs8', format: 'pem' }) },
  config());
  const p = await problemOf(v.newRequest({ brand: 'MyApp',
    workflow: [sms(newNumber())] }));
  assert.equal(p.status, 401);
});
