// KookooVerify helpers for Node backends: verify a verification token
// offline (Ed25519 JWS against the server's JWKS), fetch and cache that
// JWKS, or ask the server online with the secret key. Uses node:crypto only;
// never import this file in a browser (it may handle API secrets).

import { createPublicKey, verify as cryptoVerify } from 'node:crypto';

const JWKS_PATH = '/.well-known/kookooverify/jwks.json';
/** Tokens are ~300 bytes; anything far larger is refused before parsing. */
const MAX_TOKEN_LENGTH = 4096;

/**
 * Why a token was refused. `code` is one of 'MALFORMED', 'BAD_ALG',
 * 'UNKNOWN_KID', 'BAD_SIGNATURE', 'EXPIRED', 'NOT_YET_VALID', 'BAD_ISSUER',
 * 'BAD_AUDIENCE', 'BAD_CLAIMS', and for the online check 'SERVER' (with
 * the server's `status` and `errorText`) or 'NETWORK'.
 */
export class TokenError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{status?: string, errorText?: string, cause?: unknown}} [info]
   */
  constructor(code, message, info = {}) {
    super(message);
    this.name = 'TokenError';
    this.code = code;
    this.status = info.status ?? null;
    this.errorText = info.errorText ?? null;
    if (info.cause !== undefined)
      this.cause = info.cause;
  }
}

/**
 * Verifies a verification token offline and returns its claims.
 *
 * Checked: three base64url parts; header `alg` "EdDSA" (nothing else is
 * ever accepted, so no "none" or HMAC confusion), `typ` "JWT" when present,
 * no `crit`; `kid` naming an Ed25519 key of `jwks` (or matching
 * `publicKeyJwk.kid` when that has one); the signature; `iss`; `aud` equal
 * to one of `audience` (your publishable key: a token made for another
 * site's key is refused); `iat` not in the future and `exp` not past
 * (both within `clockToleranceSec`); `sub` and `rid` present.
 *
 * Offline verification cannot know whether the token was already used:
 * to make tokens single-use, check them online (verifyTokenOnline) or
 * remember each `jti` until its `exp`.
 *
 * @param {string} token
 * @param {object} options
 * @param {{keys: object[]}} [options.jwks] the server's JWKS
 * @param {object} [options.publicKeyJwk] or one public key as a JWK
 * @param {string|string[]} options.audience the pk_ key(s) you accept
 * @param {string} [options.issuer] default 'kookooverify'
 * @param {number|Date} [options.now] Unix seconds or a Date (tests)
 * @param {number} [options.clockToleranceSec] default 30
 * @returns {TokenClaims}
 * @throws {TokenError}
 * @throws {TypeError} when no key or no audience is given
 */
export function verifyToken(token, options = {}) {
  const {
    jwks, publicKeyJwk, audience, issuer = 'kookooverify',
    clockToleranceSec = 30,
  } = options;
  const audiences = [].concat(audience ?? []);
  if (audiences.length === 0 || !audiences.every(isNonEmptyString))
    throw new TypeError('verifyToken: options.audience (your pk_ key) is ' +
      'required');
  if (!jwks && !publicKeyJwk)
    throw new TypeError('verifyToken: options.jwks or options.publicKeyJwk ' +
      'is required');
  const now = toUnixSeconds(options.now);

  const { header, payload, signingInput, signature } = splitToken(token);
  if (header.alg !== 'EdDSA')
    throw new TokenError('BAD_ALG', `Unexpected alg ${JSON.stringify(
      header.alg)}: only EdDSA is accepted`);
  if (header.typ !== undefined && header.typ !== 'JWT')
    throw new TokenError('MALFORMED', 'Unexpected typ');
  if (header.crit !== undefined)
    throw new TokenError('MALFORMED', 'Unsupported crit header');
  if (!isNonEmptyString(header.kid))
    throw new TokenError('UNKNOWN_KID', 'The token has no kid');

  const jwk = findKey(header.kid, jwks, publicKeyJwk);
  let key;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    throw new TokenError('UNKNOWN_KID', 'The key for this kid is not a ' +
      'valid Ed25519 public key', { cause: err });
  }
  if (signature.length !== 64 ||
      !cryptoVerify(null, signingInput, key, signature))
    throw new TokenError('BAD_SIGNATURE', 'Bad token signature');

  checkClaims(payload, { issuer, audiences, now, clockToleranceSec });
  return payload;
}

/**
 * Fetches the server's public keys.
 *
 * @param {string} baseUrl e.g. 'https://verify.example.com'
 * @param {{fetch?: typeof fetch, timeoutMs?: number}} [options]
 * @returns {Promise<{keys: object[]}>}
 * @throws {TokenError} code 'NETWORK' or 'MALFORMED'
 */
export async function fetchJwks(baseUrl, options = {}) {
  const { fetch = globalThis.fetch, timeoutMs = 10000 } = options;
  const url = String(baseUrl).replace(/\/+$/, '') + JWKS_PATH;
  let response;
  let data;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs),
      headers: { Accept: 'application/json' } });
    data = await response.json();
  } catch (err) {
    throw new TokenError('NETWORK', `Could not read ${url}`, { cause: err });
  }
  if (!response.ok || !data || !Array.isArray(data.keys))
    throw new TokenError('MALFORMED', `${url} answered no JWKS (HTTP ` +
      `${response.status})`);
  return { keys: data.keys };
}

/**
 * A verifier that fetches the JWKS once, keeps it `cacheMs`, and fetches
 * again (at most every `minRefetchMs`) when a token names an unknown kid,
 * so a key rotation on the server needs no restart here.
 *
 * @param {object} options
 * @param {string} options.baseUrl
 * @param {string|string[]} options.audience
 * @param {string} [options.issuer]
 * @param {number} [options.cacheMs] default 10 minutes
 * @param {number} [options.minRefetchMs] default 30 s
 * @param {typeof fetch} [options.fetch]
 * @returns {{verify(token: string, opts?: {now?: number|Date}):
 *   Promise<TokenClaims>}}
 */
export function createTokenVerifier(options) {
  const { baseUrl, cacheMs = 600000, minRefetchMs = 30000 } = options;
  let jwks = null;
  let fetchedAt = -Infinity;

  async function load(force) {
    const age = Date.now() - fetchedAt;
    if (jwks && age < (force ? minRefetchMs : cacheMs))
      return false;
    jwks = await fetchJwks(baseUrl, { fetch: options.fetch });
    fetchedAt = Date.now();
    return true;
  }

  return {
    async verify(token, opts = {}) {
      await load(false);
      const args = { jwks, audience: options.audience,
        issuer: options.issuer, now: opts.now };
      try {
        return verifyToken(token, args);
      } catch (err) {
        if (!(err instanceof TokenError) || err.code !== 'UNKNOWN_KID' ||
            !(await load(true)))
          throw err;
        return verifyToken(token, { ...args, jwks });
      }
    },
  };
}

/**
 * Asks the server about a token (`POST /verify/token/json`) with your
 * secret key. Unlike verifyToken this knows about reuse: with
 * `singleUse` (the default here) a second check of the same token fails,
 * and so does every check after it, with or without singleUse. As
 * verifyToken does, it accepts only a token made with one of `audience`,
 * your publishable key(s): the server also redeems only the tokens of the
 * publishable keys your secret key owns, but a secret key may own several.
 *
 * @param {string} baseUrl
 * @param {object} options
 * @param {string} options.apiKey secret-key API key (not pk_)
 * @param {string} options.apiSecret
 * @param {string|string[]} options.audience the pk_ key(s) you accept
 * @param {string} options.token
 * @param {boolean} [options.singleUse] default true
 * @param {typeof fetch} [options.fetch]
 * @param {number} [options.timeoutMs] default 10000
 * @returns {Promise<{number: string, request_id: string, api_key: string,
 *   verified_at: string, expires_at: string, status: '0'}>}
 * @throws {TokenError} code 'SERVER' with status "3" (malformed, bad
 *   signature, or another tenant's), "6" (expired or already used), ...;
 *   'BAD_AUDIENCE' when the token was made with another publishable key;
 *   or 'NETWORK'
 * @throws {TypeError} when no audience is given
 */
export async function verifyTokenOnline(baseUrl, options) {
  const { apiKey, apiSecret, token, singleUse = true, audience,
    fetch = globalThis.fetch, timeoutMs = 10000 } = options;
  const audiences = [].concat(audience ?? []);
  if (audiences.length === 0 || !audiences.every(isNonEmptyString))
    throw new TypeError('verifyTokenOnline: options.audience (your pk_ key) ' +
      'is required');
  // A single-use token is spent by the request: one made for another of
  // the owner's sites must be refused before it, not after.  Its claims are
  // read unverified here; the server verifies them, and its reply's key is
  // compared again below.
  const claimed = unverifiedAudience(token);
  if (claimed !== undefined && !audiences.includes(claimed))
    throw new TokenError('BAD_AUDIENCE', 'The token was made for another ' +
      'key (aud)');
  const url = String(baseUrl).replace(/\/+$/, '') + '/verify/token/json';
  const basic = Buffer.from(`${apiKey}:${apiSecret}`).toString('base64');
  let data;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json',
        Authorization: `Basic ${basic}` },
      body: JSON.stringify({ token, single_use: singleUse }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    data = await response.json();
  } catch (err) {
    throw new TokenError('NETWORK', `Could not check the token at ${url}`,
      { cause: err });
  }
  const status = data?.status == null ? '' : String(data.status);
  if (status === '0' && !audiences.includes(data.api_key))
    throw new TokenError('BAD_AUDIENCE', 'The token was made for another ' +
      'key (api_key)');
  if (status === '0')
    return data;
  throw new TokenError('SERVER', data?.error_text || `Server status ${status}`,
    { status, errorText: data?.error_text ?? null });
}

/**
 * @typedef {object} TokenClaims
 * @property {'kookooverify'} iss
 * @property {string} sub the verified number, E.164 digits without '+'
 * @property {string} aud the publishable key the verification was made with
 * @property {string} rid the request_id
 * @property {number} iat Unix seconds of the successful check
 * @property {number} exp
 * @property {string} jti unique token id
 */

// ---- internals --------------------------------------------------------

function isNonEmptyString(v) {
  return typeof v === 'string' && v !== '';
}

function toUnixSeconds(now) {
  if (now === undefined)
    return Math.floor(Date.now() / 1000);
  if (now instanceof Date)
    return Math.floor(now.getTime() / 1000);
  if (typeof now === 'number' && Number.isFinite(now))
    return now;
  throw new TypeError('verifyToken: options.now must be seconds or a Date');
}

/** Strict base64url: Buffer.from(…, 'base64url') skips bad characters. */
function b64url(part) {
  if (!/^[A-Za-z0-9_-]+$/.test(part) || part.length % 4 === 1)
    throw new TokenError('MALFORMED', 'The token is not base64url');
  return Buffer.from(part, 'base64url');
}

function jsonObject(bytes, what) {
  let value;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true })
      .decode(bytes));
  } catch (err) {
    throw new TokenError('MALFORMED', `The token's ${what} is not JSON`,
      { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new TokenError('MALFORMED', `The token's ${what} is not an object`);
  return value;
}

/* The token's aud without checking anything, or undefined if unreadable. */
function unverifiedAudience(token) {
  try {
    return splitToken(token).payload.aud;
  } catch {
    return undefined;
  }
}

function splitToken(token) {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH)
    throw new TokenError('MALFORMED', 'The token is not a string of ' +
      'reasonable length');
  const parts = token.split('.');
  if (parts.length !== 3)
    throw new TokenError('MALFORMED', 'The token does not have three parts');
  return {
    header: jsonObject(b64url(parts[0]), 'header'),
    payload: jsonObject(b64url(parts[1]), 'payload'),
    signature: b64url(parts[2]),
    signingInput: Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii'),
  };
}

function findKey(kid, jwks, publicKeyJwk) {
  const candidates = jwks ? (Array.isArray(jwks.keys) ? jwks.keys : [])
    : [publicKeyJwk];
  const jwk = candidates.find((k) => k && (jwks ? k.kid === kid
    : k.kid === undefined || k.kid === kid));
  if (!jwk)
    throw new TokenError('UNKNOWN_KID', `No key for kid ${kid}`);
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' ||
      (jwk.alg !== undefined && jwk.alg !== 'EdDSA') ||
      (jwk.use !== undefined && jwk.use !== 'sig'))
    throw new TokenError('UNKNOWN_KID', `Key ${kid} is not an Ed25519 ` +
      'signing key');
  // Only the public members: a JWK with "d" would import as a private key.
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
}

function checkClaims(p, { issuer, audiences, now, clockToleranceSec }) {
  if (p.iss !== issuer)
    throw new TokenError('BAD_ISSUER', 'Unexpected issuer');
  if (!audiences.includes(p.aud))
    throw new TokenError('BAD_AUDIENCE', 'The token was made for another ' +
      'key (aud)');
  if (!Number.isFinite(p.iat) || !Number.isFinite(p.exp))
    throw new TokenError('BAD_CLAIMS', 'The token lacks iat or exp');
  if (p.iat > now + clockToleranceSec)
    throw new TokenError('NOT_YET_VALID', 'The token was issued in the future');
  if (p.exp <= now - clockToleranceSec)
    throw new TokenError('EXPIRED', 'The token has expired');
  if (!isNonEmptyString(p.sub) || !isNonEmptyString(p.rid))
    throw new TokenError('BAD_CLAIMS', 'The token lacks sub or rid');
}
