// Tests of the backend helpers (src/server.js): tokens signed here with a
// fresh Ed25519 key pair are verified, and every way of being wrong is
// refused with its own TokenError code; JWKS fetching and the online check
// run against a fake fetch.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, createHmac } from 'node:crypto';

import {
  verifyToken, fetchJwks, createTokenVerifier, verifyTokenOnline, TokenError,
} from '../src/server.js';

const KID = '0123456789abcdef';
const AUD = 'pk_0123456789abcdef';
const NOW = 1_800_000_000;

function keyPair(kid = KID) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const { x } = publicKey.export({ format: 'jwk' });
  return { privateKey, jwk: { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA',
    use: 'sig', kid, x } };
}

const enc = (v) => Buffer.from(typeof v === 'string' ? v
  : JSON.stringify(v)).toString('base64url');

function claims(over = {}) {
  return { iss: 'kookooverify', sub: '919876543210', aud: AUD,
    rid: '11d4a548deedbb923af356fead0afc87', iat: NOW - 10,
    exp: NOW - 10 + 600, jti: 'a'.repeat(32), ...over };
}

function signToken(privateKey, payload = claims(), header = {}) {
  const input = `${enc({ alg: 'EdDSA', typ: 'JWT', kid: KID, ...header })}.` +
    enc(payload);
  return `${input}.${sign(null, Buffer.from(input), privateKey)
    .toString('base64url')}`;
}

const main = keyPair();
const other = keyPair('fedcba9876543210');
const jwks = { keys: [other.jwk, main.jwk] };

function refused(token, code, opts = {}) {
  assert.throws(() => verifyToken(token, { jwks, audience: AUD, now: NOW,
    ...opts }), (err) => {
    assert.ok(err instanceof TokenError, `expected TokenError, got ${err}`);
    assert.equal(err.code, code);
    return true;
  });
}

describe('verifyToken()', () => {
  test('a valid token gives its claims', () => {
    const token = signToken(main.privateKey);
    assert.deepEqual(verifyToken(token, { jwks, audience: AUD, now: NOW }),
      claims());
  });

  test('one public key as a JWK, with or without kid', () => {
    const token = signToken(main.privateKey);
    assert.equal(verifyToken(token, { publicKeyJwk: main.jwk, audience: AUD,
      now: NOW }).sub, '919876543210');
    const { kid, ...noKid } = main.jwk;
    assert.equal(kid, KID);
    assert.equal(verifyToken(token, { publicKeyJwk: noKid, audience: AUD,
      now: NOW }).rid, '11d4a548deedbb923af356fead0afc87');
    refused(token, 'UNKNOWN_KID', { jwks: undefined,
      publicKeyJwk: other.jwk });
  });

  test('audience may list several keys; now may be a Date', () => {
    const token = signToken(main.privateKey);
    assert.ok(verifyToken(token, { jwks, audience: ['pk_other', AUD],
      now: new Date(NOW * 1000) }));
  });

  test('a bad signature is refused', () => {
    const token = signToken(main.privateKey);
    const [h, p, s] = token.split('.');
    const flipped = Buffer.from(s, 'base64url');
    flipped[0] ^= 1;
    refused(`${h}.${p}.${flipped.toString('base64url')}`, 'BAD_SIGNATURE');
    // Another key's signature under this kid.
    refused(signToken(other.privateKey), 'BAD_SIGNATURE');
    // The payload changed after signing.
    refused(`${h}.${enc(claims({ sub: '910000000000' }))}.${s}`,
      'BAD_SIGNATURE');
    // A truncated signature.
    refused(`${h}.${p}.${s.slice(0, 40)}`, 'BAD_SIGNATURE');
  });

  test('an expired token is refused (with 30 s of clock tolerance)', () => {
    const token = signToken(main.privateKey,
      claims({ iat: NOW - 700, exp: NOW - 100 }));
    refused(token, 'EXPIRED');
    const justNow = signToken(main.privateKey,
      claims({ iat: NOW - 610, exp: NOW - 10 }));
    assert.ok(verifyToken(justNow, { jwks, audience: AUD, now: NOW }));
    refused(justNow, 'EXPIRED', { clockToleranceSec: 0 });
  });

  test('a token from the future is refused', () => {
    refused(signToken(main.privateKey, claims({ iat: NOW + 300,
      exp: NOW + 900 })), 'NOT_YET_VALID');
  });

  test('the wrong audience or issuer is refused', () => {
    refused(signToken(main.privateKey, claims({ aud: 'pk_someone_else' })),
      'BAD_AUDIENCE');
    refused(signToken(main.privateKey, claims({ iss: 'evil' })),
      'BAD_ISSUER');
    assert.ok(verifyToken(signToken(main.privateKey,
      claims({ iss: 'staging' })), { jwks, audience: AUD, now: NOW,
      issuer: 'staging' }));
  });

  test('any alg but EdDSA is refused, even with a valid-looking MAC', () => {
    refused(signToken(main.privateKey, claims(), { alg: 'none' }), 'BAD_ALG');
    refused(signToken(main.privateKey, claims(), { alg: 'ES256' }),
      'BAD_ALG');
    // HS256 keyed with the public key: the classic confusion attack.
    const input = `${enc({ alg: 'HS256', typ: 'JWT', kid: KID })}.` +
      enc(claims());
    const mac = createHmac('sha256', main.jwk.x).update(input)
      .digest('base64url');
    refused(`${input}.${mac}`, 'BAD_ALG');
    refused(`${enc({ alg: 'none', kid: KID })}.${enc(claims())}.`,
      'MALFORMED');
  });

  test('an unknown or missing kid is refused', () => {
    refused(signToken(main.privateKey, claims(), { kid: 'ffffffffffffffff' }),
      'UNKNOWN_KID');
    refused(signToken(main.privateKey, claims(), { kid: undefined }),
      'UNKNOWN_KID');
    refused(signToken(main.privateKey), 'UNKNOWN_KID',
      { jwks: { keys: [{ ...main.jwk, crv: 'X25519' }] } });
  });

  test('malformed tokens are refused', () => {
    const good = signToken(main.privateKey);
    const [h, p, s] = good.split('.');
    for (const bad of ['', 'abc', `${h}.${p}`, `${good}.x`, `${h}.${p}.${s}=`,
      `${h}!.${p}.${s}`, `${enc('not json')}.${p}.${s}`,
      `${enc([1, 2])}.${p}.${s}`, `${h}.${enc('null')}.${s}`,
      'x'.repeat(5000), 42, null]) {
      refused(bad, 'MALFORMED');
    }
    refused(signToken(main.privateKey, claims(), { typ: 'at+jwt' }),
      'MALFORMED');
    refused(signToken(main.privateKey, claims(), { crit: ['exp'] }),
      'MALFORMED');
  });

  test('claims must be complete', () => {
    const { exp, ...noExp } = claims();
    assert.ok(exp);
    refused(signToken(main.privateKey, noExp), 'BAD_CLAIMS');
    refused(signToken(main.privateKey, claims({ iat: '1' })), 'BAD_CLAIMS');
    refused(signToken(main.privateKey, claims({ sub: '' })), 'BAD_CLAIMS');
    refused(signToken(main.privateKey, claims({ rid: undefined })),
      'BAD_CLAIMS');
  });

  test('audience and a key are required arguments', () => {
    const token = signToken(main.privateKey);
    assert.throws(() => verifyToken(token, { jwks }), TypeError);
    assert.throws(() => verifyToken(token, { jwks, audience: [] }),
      TypeError);
    assert.throws(() => verifyToken(token, { audience: AUD }), TypeError);
  });

  test('a private JWK given as the key is used only for its public part',
    () => {
      const priv = main.privateKey.export({ format: 'jwk' });
      const token = signToken(main.privateKey);
      assert.ok(verifyToken(token, { publicKeyJwk: { ...priv, kid: KID },
        audience: AUD, now: NOW }));
    });
});

function jsonFetch(...replies) {
  const calls = [];
  const fn = async (url, init = {}) => {
    calls.push({ url, init });
    const r = replies.shift();
    if (r instanceof Error)
      throw r;
    return new Response(JSON.stringify(r.body), { status: r.http ?? 200,
      headers: { 'Content-Type': 'application/json' } });
  };
  fn.calls = calls;
  return fn;
}

describe('fetchJwks() and createTokenVerifier()', () => {
  test('fetchJwks reads the well-known path', async () => {
    const fetch = jsonFetch({ body: jwks });
    assert.deepEqual(await fetchJwks('https://v.example/', { fetch }), jwks);
    assert.equal(fetch.calls[0].url,
      'https://v.example/.well-known/kookooverify/jwks.json');
  });

  test('fetchJwks refuses a reply that is not a JWKS', async () => {
    await assert.rejects(fetchJwks('https://v.example',
      { fetch: jsonFetch({ http: 404, body: { status: 404 } }) }),
    { code: 'MALFORMED' });
    await assert.rejects(fetchJwks('https://v.example',
      { fetch: jsonFetch(new TypeError('fetch failed')) }),
    { code: 'NETWORK' });
  });

  test('the verifier caches the JWKS and refetches for a new kid',
    async () => {
      const rotated = keyPair('1111222233334444');
      const fetch = jsonFetch({ body: { keys: [main.jwk] } },
        { body: { keys: [main.jwk, rotated.jwk] } });
      const v = createTokenVerifier({ baseUrl: 'https://v.example',
        audience: AUD, fetch, minRefetchMs: 0 });
      const t1 = signToken(main.privateKey);
      assert.equal((await v.verify(t1, { now: NOW })).aud, AUD);
      assert.equal((await v.verify(t1, { now: NOW })).aud, AUD);
      assert.equal(fetch.calls.length, 1, 'cached');
      const t2 = signToken(rotated.privateKey, claims(),
        { kid: '1111222233334444' });
      assert.equal((await v.verify(t2, { now: NOW })).sub, '919876543210');
      assert.equal(fetch.calls.length, 2, 'refetched for the new kid');
    });

  test('an unknown kid does not refetch more often than minRefetchMs',
    async () => {
      const fetch = jsonFetch({ body: { keys: [main.jwk] } });
      const v = createTokenVerifier({ baseUrl: 'https://v.example',
        audience: AUD, fetch, minRefetchMs: 60000 });
      const stray = signToken(other.privateKey, claims(),
        { kid: 'fedcba9876543210' });
      await assert.rejects(v.verify(stray, { now: NOW }),
        { code: 'UNKNOWN_KID' });
      await assert.rejects(v.verify(stray, { now: NOW }),
        { code: 'UNKNOWN_KID' });
      assert.equal(fetch.calls.length, 1);
    });
});

describe('verifyTokenOnline()', () => {
  test('posts the token with HTTP Basic and single_use', async () => {
    const reply = { status: '0', number: '919876543210',
      request_id: '11d4a548deedbb923af356fead0afc87', api_key: AUD,
      verified_at: '2027-01-15 08:00:00', expires_at: '2027-01-15 08:10:00' };
    const fetch = jsonFetch({ body: reply });
    const r = await verifyTokenOnline('https://v.example/', {
      apiKey: 'abcdef0123456789', apiSecret: 's3cret', token: 't.o.k',
      audience: AUD, fetch });
    assert.deepEqual(r, reply);
    const [call] = fetch.calls;
    assert.equal(call.url, 'https://v.example/verify/token/json');
    assert.equal(call.init.method, 'POST');
    assert.equal(call.init.headers.Authorization,
      `Basic ${Buffer.from('abcdef0123456789:s3cret').toString('base64')}`);
    assert.deepEqual(JSON.parse(call.init.body),
      { token: 't.o.k', single_use: true });
  });

  test('a reused token: status "6" as a TokenError', async () => {
    const fetch = jsonFetch({ body: { status: '6',
      error_text: 'The token was already used' } });
    await assert.rejects(verifyTokenOnline('https://v.example', {
      apiKey: 'k', apiSecret: 's', token: 't', singleUse: false,
      audience: AUD, fetch }),
    { code: 'SERVER', status: '6', errorText: 'The token was already used' });
    assert.equal(JSON.parse(fetch.calls[0].init.body).single_use, false);
  });

  test('a token of another publishable key is refused', async () => {
    const reply = { status: '0', number: '919876543210',
      request_id: '11d4a548deedbb923af356fead0afc87',
      api_key: 'pk_ffffffffffffffff' };
    await assert.rejects(verifyTokenOnline('https://v.example', {
      apiKey: 'k', apiSecret: 's', token: 't', audience: AUD,
      fetch: jsonFetch({ body: reply }) }), { code: 'BAD_AUDIENCE' });
    // One of several accepted keys is fine; a reply without a key is not.
    const ok = await verifyTokenOnline('https://v.example', {
      apiKey: 'k', apiSecret: 's', token: 't',
      audience: [AUD, 'pk_ffffffffffffffff'],
      fetch: jsonFetch({ body: reply }) });
    assert.equal(ok.api_key, 'pk_ffffffffffffffff');
    await assert.rejects(verifyTokenOnline('https://v.example', {
      apiKey: 'k', apiSecret: 's', token: 't', audience: AUD,
      fetch: jsonFetch({ body: { status: '0', number: '919876543210' } }) }),
    { code: 'BAD_AUDIENCE' });
  });

  test('a token made for another key is refused before it is spent',
    async () => {
      const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const other = `${part({ alg: 'EdDSA', kid: 'k' })}.` +
        `${part({ aud: 'pk_ffffffffffffffff', jti: 'j' })}.c2ln`;
      const fetch = jsonFetch({ body: { status: '0',
        api_key: 'pk_ffffffffffffffff' } });
      await assert.rejects(verifyTokenOnline('https://v.example', {
        apiKey: 'k', apiSecret: 's', token: other, audience: AUD, fetch }),
      { code: 'BAD_AUDIENCE' });
      assert.equal(fetch.calls.length, 0);
      // Its own key's token goes to the server as before.
      const mine = `${part({ alg: 'EdDSA', kid: 'k' })}.` +
        `${part({ aud: AUD, jti: 'j' })}.c2ln`;
      await verifyTokenOnline('https://v.example', {
        apiKey: 'k', apiSecret: 's', token: mine, audience: AUD,
        fetch: jsonFetch({ body: { status: '0', api_key: AUD } }) });
    });

  test('an audience is required, before any request', async () => {
    const fetch = jsonFetch({ body: { status: '0', api_key: AUD } });
    for (const audience of [undefined, '', [], [''], [AUD, 3]]) {
      await assert.rejects(verifyTokenOnline('https://v.example', {
        apiKey: 'k', apiSecret: 's', token: 't', audience, fetch }),
      TypeError);
    }
    assert.equal(fetch.calls.length, 0);
  });
});
