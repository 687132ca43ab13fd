// KookooVerify browser client: starts, checks, searches and controls one
// phone verification through the server's Vonage Verify v1 JSON dialect,
// with a publishable key only (never an API secret), typed errors, per-try
// timeouts and retries for network failures. No runtime dependencies and no
// DOM use: it runs unchanged in browsers, Node 18+ and workers.

/**
 * The server's `status` codes (strings, as the Vonage dialect sends them).
 * @readonly
 */
export const Status = Object.freeze({
  OK: '0',
  THROTTLED: '1',
  MISSING_PARAMETER: '2',
  INVALID_PARAMETER: '3',
  INVALID_CREDENTIALS: '4',
  INTERNAL_ERROR: '5',
  NOT_FOUND: '6',
  BLOCKED: '7',
  CONCURRENT: '10',
  WRONG_CODE: '16',
  TOO_MANY_ATTEMPTS: '17',
  CANNOT_CANCEL: '19',
  NON_PERMITTED_DESTINATION: '29',
  NO_RESPONSE: '101',
});

/** Search's `status` strings mapped to the SDK's `state` names. */
const STATES = Object.freeze({
  'IN PROGRESS': 'pending',
  SUCCESS: 'verified',
  FAILED: 'failed',
  EXPIRED: 'expired',
  CANCELLED: 'cancelled',
});

const PATHS = Object.freeze({
  start: '/verify/json',
  check: '/verify/check/json',
  search: '/verify/search/json',
  control: '/verify/control/json',
});

/** Longest backoff between two tries, whatever the attempt number. */
const MAX_BACKOFF_MS = 5000;

/**
 * Every error the SDK throws. `code` says what kind of failure it is:
 * `'SERVER'` (the server answered with a non-zero `status`), `'NETWORK'`,
 * `'TIMEOUT'`, `'ABORTED'` (the caller's AbortSignal fired), `'BAD_RESPONSE'`
 * (a reply that is not the JSON the dialect promises), `'INVALID_INPUT'`
 * (refused before sending), `'NO_REQUEST'` (no verification started yet),
 * `'CONFIG'` (bad constructor options) or `'BAD_TOKEN'` (decodeToken).
 */
export class KookooVerifyError extends Error {
  /**
   * @param {string} message
   * @param {object} [info]
   * @param {string} [info.code]
   * @param {string|null} [info.status] the server's `status`, e.g. "16"
   * @param {string|null} [info.errorText] the server's `error_text`
   * @param {number|null} [info.httpStatus]
   * @param {number|null} [info.retryAfter] seconds to wait, when known
   * @param {string|null} [info.requestId]
   * @param {unknown} [info.cause]
   */
  constructor(message, info = {}) {
    super(message);
    this.name = 'KookooVerifyError';
    this.code = info.code || 'SERVER';
    this.status = info.status ?? null;
    this.errorText = info.errorText ?? null;
    this.httpStatus = info.httpStatus ?? null;
    this.retryAfter = info.retryAfter ?? null;
    this.requestId = info.requestId ?? null;
    if (info.cause !== undefined)
      this.cause = info.cause;
  }
}

/**
 * No reply could be read: offline, DNS, connection refused or reset, or a
 * browser CORS refusal (the page's origin is not one of the key's origins).
 */
export class NetworkError extends KookooVerifyError {
  constructor(message, info = {}) {
    super(message, { code: 'NETWORK', ...info });
    this.name = 'NetworkError';
  }
}

/** A try took longer than `timeoutMs`. A TimeoutError is a NetworkError. */
export class TimeoutError extends NetworkError {
  constructor(message, info = {}) {
    super(message, { code: 'TIMEOUT', ...info });
    this.name = 'TimeoutError';
  }
}

/** Where a client with `storage` keeps its handle, per publishable key. */
const STORAGE_PREFIX = 'kookooverify.handle.';

/**
 * Client for one verification at a time, with a publishable key.
 *
 * The current verification's id is `requestId` (set by start(), readable
 * and writable, e.g. to resume after a page reload).
 *
 * `handle` is this visitor's secret: the server binds every verification
 * started through a publishable key to it, and answers check, status,
 * cancel and resend only when it is sent, so another visitor of the same
 * site can neither read nor steer this one. The client draws it (128
 * random bits) and sends it on every call. It lives in memory; with
 * `options.storage` (e.g. sessionStorage) it survives a page reload, so the
 * reloaded page can resume its verification.
 */
export class KookooVerify {
  /**
   * @param {object} options
   * @param {string} options.apiKey publishable key, `pk_…`
   * @param {string} [options.baseUrl] server origin (and path prefix);
   *   '' means the page's own origin
   * @param {number} [options.timeoutMs] per try, default 10000
   * @param {number} [options.retries] extra tries on network failure, default 2
   * @param {number} [options.retryDelayMs] first backoff, doubled each try
   * @param {string} [options.brand] default brand for start()
   * @param {typeof globalThis.fetch} [options.fetch] fetch implementation
   * @param {{getItem: Function, setItem: Function}|null} [options.storage]
   *   where to keep the handle across reloads (sessionStorage); default
   *   none: memory only
   * @throws {KookooVerifyError} code 'CONFIG' for a missing or secret key
   */
  constructor(options) {
    const {
      apiKey, baseUrl = '', timeoutMs = 10000, retries = 2,
      retryDelayMs = 300, brand, fetch = globalThis.fetch, storage = null,
    } = options ?? {};

    refuseSecrets(options ?? {});
    this.apiKey = apiKey;
    this.baseUrl = checkBaseUrl(baseUrl);
    this.timeoutMs = positiveNumber(timeoutMs, 'timeoutMs');
    this.retries = Math.floor(nonNegativeNumber(retries, 'retries'));
    this.retryDelayMs = nonNegativeNumber(retryDelayMs, 'retryDelayMs');
    this.brand = brand;
    if (typeof fetch !== 'function')
      throw configError('no fetch() available: pass options.fetch');
    // window.fetch throws "Illegal invocation" when called as a method of
    // another object, so never call it as this.fetch(...) unbound.
    this._fetch = fetch.bind(globalThis);
    /** @type {string|null} */
    this.requestId = null;
    this._storage = storage;
    /** @type {string|null} this visitor's handle (see the class comment) */
    this.handle = loadHandle(storage, apiKey) ?? newHandle();
  }

  /**
   * Sends a PIN to `phone`. When this visitor's verification (its handle)
   * is already live for this number and key the server answers status "10"
   * with its id: that is not an error, the SDK resumes it (`resumed: true`)
   * and nothing new is sent. Safe to retry: a retried start after a lost
   * reply resumes the same way. A verification of the number started by
   * another visitor is refused: status "10" without an id, thrown.
   *
   * @param {string} phone any format the server accepts ("+91 98765 43210")
   * @param {{brand?: string, lg?: string, country?: string,
   *   signal?: AbortSignal}} [options]
   * `missedCall` is set when the key lets the visitor give a missed call
   * instead (the server's missed-call verification): the number to call
   * (E.164) and the seconds it may be called in; `status()` then tells
   * when the call verified the number, with its token.
   *
   * @returns {Promise<{requestId: string, resumed: boolean,
   *   missedCall: ?{number: string, expiresIn: number}}>}
   */
  async start(phone, options = {}) {
    const number = checkPhone(phone);
    const brand = checkBrand(options.brand ?? this.brand);
    const params = { number, brand };
    if (this.handle)
      params.handle = this.handle;
    if (options.lg != null)
      params.lg = checkLocale(options.lg);
    if (options.country != null)
      params.country = checkCountry(options.country);

    const reply = await this._post('start', params, options.signal, true);
    const { data } = reply;
    const status = statusOf(data);
    if ((status === Status.OK || status === Status.CONCURRENT) &&
        isNonEmptyString(data.request_id)) {
      // The server answers with the handle it bound: ours, or its own when
      // we had none to offer.
      if (isNonEmptyString(data.handle))
        this.handle = data.handle;
      saveHandle(this._storage, this.apiKey, this.handle);
      this.requestId = data.request_id;
      return { requestId: data.request_id,
        resumed: status === Status.CONCURRENT,
        missedCall: isNonEmptyString(data.missed_call_number)
          ? { number: data.missed_call_number,
            expiresIn: Number(data.missed_call_expires_in) || 0 }
          : null };
    }
    throw this._serverError(reply);
  }

  /**
   * Checks the code the user typed.
   *
   * Network failures are retried but timeouts are not: the server counts an
   * attempt before comparing, so repeating a check that may have arrived
   * could spend a second attempt (wrong code) or answer "6" for a code
   * that was right (the token is then lost; start again). A failure to
   * connect (refused, offline, CORS preflight) never reached the server.
   *
   * @param {string} code 4 to 10 digits
   * @param {{signal?: AbortSignal}} [options]
   * @returns {Promise<{verified: true, requestId: string,
   *   token: string|null, eventId: string|null}>}
   * @throws {KookooVerifyError} status "16" wrong code, "17" too many wrong
   *   codes, "6" expired, cancelled or already verified
   */
  async check(code, options = {}) {
    const requestId = this._needRequestId();
    const checked = checkCode(code);
    const reply = await this._post('check',
      this._bound({ request_id: requestId, code: checked }), options.signal,
      false);
    const { data } = reply;
    if (statusOf(data) === Status.OK) {
      return {
        verified: true,
        requestId: data.request_id || requestId,
        token: isNonEmptyString(data.token) ? data.token : null,
        eventId: data.event_id || null,
      };
    }
    throw this._serverError(reply);
  }

  /**
   * Reads the current verification (Vonage Search).
   *
   * @param {{signal?: AbortSignal}} [options]
   * @returns {Promise<VerificationStatus>}
   */
  async status(options = {}) {
    const requestId = this._needRequestId();
    const reply = await this._post('search',
      this._bound({ request_id: requestId }), options.signal, true);
    const { data } = reply;
    const state = STATES[data.status];
    if (state === undefined)
      throw this._serverError(reply);
    return {
      state,
      requestId: data.request_id || requestId,
      number: data.number || null,
      dateSubmitted: data.date_submitted || null,
      dateFinalized: data.date_finalized || null,
      checks: Array.isArray(data.checks) ? data.checks : [],
      events: Array.isArray(data.events) ? data.events : [],
      token: isNonEmptyString(data.token) ? data.token : null,
      raw: data,
    };
  }

  /**
   * Cancels the current verification. The server refuses (status "19")
   * within its first 30 seconds and once the call step has started.
   *
   * @param {{signal?: AbortSignal}} [options]
   * @returns {Promise<{command: 'cancel'}>}
   */
  cancel(options = {}) {
    return this._control('cancel', options.signal);
  }

  /**
   * Sends the current PIN again. Inside the cooldown the server answers
   * status "1" (`Throttled: resent too recently`) with `retryAfter` when the
   * server exposes it; past the cap, `Throttled: no resends left`. Resends
   * of one number back off: `resendIn` is the server's wait in seconds
   * before the next resend may be asked for (null when it sent none).
   *
   * @param {{signal?: AbortSignal}} [options]
   * @returns {Promise<{command: 'resend', resendIn: number|null}>}
   */
  resend(options = {}) {
    return this._control('resend', options.signal);
  }

  /** Forgets the current verification (nothing is sent to the server). */
  reset() {
    this.requestId = null;
  }

  async _control(cmd, signal) {
    const requestId = this._needRequestId();
    const reply = await this._post('control',
      this._bound({ request_id: requestId, cmd }), signal, true);
    if (statusOf(reply.data) === Status.OK) {
      const result = { command: reply.data.command || cmd };
      if (cmd === 'resend')
        result.resendIn = wholeSeconds(reply.data.resend_in);
      return result;
    }
    throw this._serverError(reply);
  }

  /** The parameters of a call about the current verification. */
  _bound(params) {
    return this.handle ? { ...params, handle: this.handle } : params;
  }

  _needRequestId() {
    if (!isNonEmptyString(this.requestId)) {
      throw new KookooVerifyError('No verification in progress: call ' +
        'start() first (or set requestId)', { code: 'NO_REQUEST' });
    }
    return this.requestId;
  }

  /**
   * POSTs `params` as JSON and returns the parsed reply, whatever its
   * `status`; throws only when there is no usable reply. Retries network
   * failures (and timeouts when `retryTimeouts`) with exponential backoff,
   * and a status "5" reply once ("the store failed; nothing was changed").
   * A reply the server gave, throttling included, is never retried.
   */
  async _post(endpoint, params, signal, retryTimeouts) {
    const url = this.baseUrl + PATHS[endpoint];
    // The key travels in the body: a publishable key is not a secret, and
    // no Authorization header keeps the CORS preflight to Content-Type.
    const body = JSON.stringify({ api_key: this.apiKey, ...params });
    let failures = 0;
    let internalRetried = false;

    for (;;) {
      let reply;
      try {
        reply = await this._send(url, body, signal);
      } catch (err) {
        const retryable = err instanceof NetworkError &&
          (retryTimeouts || !(err instanceof TimeoutError));
        if (!retryable || failures >= this.retries)
          throw err;
        failures++;
        await sleep(backoff(this.retryDelayMs, failures), signal);
        continue;
      }
      if (statusOf(reply.data) === Status.INTERNAL_ERROR &&
          !internalRetried && this.retries > 0) {
        internalRetried = true;
        await sleep(backoff(this.retryDelayMs, 1), signal);
        continue;
      }
      return reply;
    }
  }

  /** One try: fetch with a timeout, read the body, parse the JSON. */
  async _send(url, body, signal) {
    if (signal?.aborted)
      throw abortedError(signal);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });

    let response;
    let text;
    try {
      response = await this._fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        signal: controller.signal,
        credentials: 'omit',
        cache: 'no-store',
      });
      // The timeout covers the body too: a server may stall mid-reply.
      text = await response.text();
    } catch (err) {
      if (signal?.aborted)
        throw abortedError(signal);
      if (timedOut) {
        throw new TimeoutError(`No reply within ${this.timeoutMs} ms`,
          { cause: err, requestId: this.requestId });
      }
      throw new NetworkError('Network error: the server could not be ' +
        'reached (offline, or this page\'s origin is not allowed for the ' +
        'key)', { cause: err, requestId: this.requestId });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    return this._parse(response, text);
  }

  _parse(response, text) {
    const httpStatus = response.status;
    const retryAfter = parseRetryAfter(response.headers?.get('Retry-After'));
    let data;
    try {
      data = JSON.parse(text);
    } catch (err) {
      data = undefined;
    }
    if (data !== null && typeof data === 'object' && !Array.isArray(data) &&
        'status' in data)
      return { httpStatus, retryAfter, data };

    // Not the dialect's JSON. A gateway saying the server is down or slow
    // (502, 503, 504 pages) is no reply from the server: retry like a
    // network failure. Anything else is reported as it is.
    const info = { httpStatus, retryAfter, requestId: this.requestId };
    if (httpStatus === 504)
      throw new TimeoutError('Gateway timeout (HTTP 504)', info);
    if (httpStatus === 502 || httpStatus === 503)
      throw new NetworkError(`Server unavailable (HTTP ${httpStatus})`, info);
    throw new KookooVerifyError(`Unexpected reply from the server (HTTP ` +
      `${httpStatus})`, { code: 'BAD_RESPONSE', ...info });
  }

  /** The KookooVerifyError for a reply whose `status` is not a success. */
  _serverError({ httpStatus, retryAfter, data }) {
    const status = statusOf(data);
    // The seed dialect puts some texts in `response`; accept it too.
    const errorText = data.error_text ?? data.response ?? null;
    const bodyRetry = wholeSeconds(data.resend_in ?? data.retry_after);
    return new KookooVerifyError(errorText || `Server status ${status}`, {
      code: status === Status.OK ? 'BAD_RESPONSE' : 'SERVER',
      status,
      errorText,
      httpStatus,
      retryAfter: retryAfter ?? bodyRetry,
      requestId: isNonEmptyString(data.request_id) ? data.request_id
        : this.requestId,
    });
  }
}

/**
 * @typedef {object} VerificationStatus
 * @property {'pending'|'verified'|'failed'|'expired'|'cancelled'} state
 * @property {string} requestId
 * @property {string|null} number E.164 digits without '+'
 * @property {string|null} dateSubmitted 'YYYY-MM-DD HH:MM:SS' UTC
 * @property {string|null} dateFinalized
 * @property {object[]} checks
 * @property {object[]} events
 * @property {object} raw the server's reply as it came
 */

/**
 * Reads a verification token's payload WITHOUT checking its signature.
 * For display only (e.g. the verified number): anyone can forge a token
 * that decodes. A backend must verify it (server.js `verifyToken`, or the
 * server's `/verify/token/json`) before trusting anything in it.
 *
 * @param {string} token compact JWS `header.payload.signature`
 * @returns {{iss?: string, sub?: string, aud?: string, rid?: string,
 *   iat?: number, exp?: number, jti?: string}} the payload
 * @throws {KookooVerifyError} code 'BAD_TOKEN' when it is not a JWT
 */
export function decodeToken(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) {
    throw new KookooVerifyError('Not a verification token',
      { code: 'BAD_TOKEN' });
  }
  try {
    const payload = JSON.parse(base64UrlDecodeText(parts[1]));
    if (payload === null || typeof payload !== 'object' ||
        Array.isArray(payload))
      throw new TypeError('payload is not an object');
    return payload;
  } catch (err) {
    throw new KookooVerifyError('Not a verification token',
      { code: 'BAD_TOKEN', cause: err });
  }
}

/** A body's seconds ("42" in Vonage's strings, 42 in the seed's), or null. */
function wholeSeconds(value) {
  if (value === undefined || value === null || value === '')
    return null;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/**
 * Parses an HTTP `Retry-After` value: delay-seconds or an HTTP date.
 *
 * @param {string|null|undefined} value
 * @param {number} [nowMs] for tests
 * @returns {number|null} whole seconds (>= 0), or null when absent/invalid
 */
export function parseRetryAfter(value, nowMs = Date.now()) {
  if (typeof value !== 'string' || value.trim() === '')
    return null;
  const v = value.trim();
  if (/^\d+$/.test(v))
    return Number(v);
  // An HTTP-date names its day and month ("Wed, 21 Oct 2026 07:28:00
  // GMT"); without letters, Date.parse would read "-5" as a year.
  if (!/^[A-Za-z]{3}, /.test(v))
    return null;
  const when = Date.parse(v);
  if (Number.isNaN(when))
    return null;
  return Math.max(0, Math.ceil((when - nowMs) / 1000));
}

// ---- the visitor's handle ---------------------------------------------

/** 128 random bits in hex, or null where no CSPRNG is available (the
 * server then draws one). */
function newHandle() {
  const c = globalThis.crypto;
  if (!c || typeof c.getRandomValues !== 'function')
    return null;
  const bytes = c.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A stored handle, if it looks like one. Storage may throw (disabled
 * cookies, sandboxed frames): then there is none. */
function loadHandle(storage, apiKey) {
  try {
    const h = storage?.getItem(STORAGE_PREFIX + apiKey);
    return typeof h === 'string' && /^[0-9a-f]{32}$/.test(h) ? h : null;
  } catch (err) {
    return null;
  }
}

function saveHandle(storage, apiKey, handle) {
  try {
    if (storage && handle)
      storage.setItem(STORAGE_PREFIX + apiKey, handle);
  } catch (err) {
    // Full or disabled: the handle stays in memory, a reload starts over.
  }
}

// ---- validation -------------------------------------------------------

function invalid(message) {
  return new KookooVerifyError(message, { code: 'INVALID_INPUT' });
}

function configError(message) {
  return new KookooVerifyError(message, { code: 'CONFIG' });
}

/**
 * A web page is public: a secret in it is a secret given away. Only a
 * publishable key (pk_…) is accepted, and anything named like a secret
 * is refused outright rather than silently ignored.
 */
function refuseSecrets(options) {
  for (const name of ['apiSecret', 'api_secret', 'secret']) {
    if (options[name] !== undefined) {
      throw configError(`Never give an API secret to the browser SDK ` +
        `(options.${name}): use a publishable key (pk_…)`);
    }
  }
  const key = options.apiKey;
  if (typeof key !== 'string' || key === '')
    throw configError('apiKey is required: a publishable key (pk_…)');
  if (!/^pk_[A-Za-z0-9_-]{1,128}$/.test(key)) {
    throw configError('apiKey must be a publishable key (pk_…); a secret ' +
      'key and its API secret belong on your server, never in a web page');
  }
}

function checkBaseUrl(baseUrl) {
  if (typeof baseUrl !== 'string')
    throw configError('baseUrl must be a string');
  const trimmed = baseUrl.replace(/\/+$/, '');
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) {
    let url;
    try {
      url = new URL(trimmed);
    } catch (err) {
      throw configError(`baseUrl is not a valid URL: ${baseUrl}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw configError('baseUrl must be http: or https:');
    if (url.username || url.password)
      throw configError('baseUrl must not hold credentials');
  }
  return trimmed;
}

function positiveNumber(value, name) {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
    throw configError(`${name} must be a positive number`);
  return value;
}

function nonNegativeNumber(value, name) {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
    throw configError(`${name} must be a number >= 0`);
  return value;
}

/** The server's accepted characters: digits, one leading '+', separators. */
function checkPhone(phone) {
  if (typeof phone !== 'string' || phone.trim() === '')
    throw invalid('Enter a phone number');
  const p = phone.trim();
  if (p.length > 32)
    throw invalid('The phone number is too long');
  if (!/^\+?[0-9 ().-]+$/.test(p) || !/[0-9]/.test(p)) {
    throw invalid('A phone number holds only digits, an optional leading ' +
      '+, spaces, dashes, dots and brackets');
  }
  return p;
}

function checkBrand(brand) {
  if (typeof brand !== 'string' || brand.trim() === '')
    throw invalid('brand is required (your app\'s name, up to 18 characters)');
  if ([...brand].length > 18)
    throw invalid('brand must be at most 18 characters');
  return brand;
}

function checkLocale(lg) {
  if (typeof lg !== 'string' || !/^[a-z]{2}-[a-z]{2}$/i.test(lg))
    throw invalid('lg must be a locale such as "en-us" or "hi-in"');
  return lg.toLowerCase();
}

function checkCountry(country) {
  if (typeof country !== 'string' || !/^[a-z]{2}$/i.test(country))
    throw invalid('country must be a two-letter code such as "IN"');
  return country.toUpperCase();
}

/**
 * A code is sent as a string: as a JSON number, "0123" would lose its
 * leading zero. Surrounding blanks are forgiven, nothing else.
 */
function checkCode(code) {
  if (typeof code !== 'string')
    throw invalid('The code must be a string of digits');
  const c = code.trim();
  if (!/^[0-9]{4,10}$/.test(c))
    throw invalid('The code is 4 to 10 digits');
  return c;
}

// ---- small helpers ----------------------------------------------------

function isNonEmptyString(v) {
  return typeof v === 'string' && v !== '';
}

/** `status` as a string: error replies outside the dialect use numbers. */
function statusOf(data) {
  return data == null || data.status == null ? '' : String(data.status);
}

/** Exponential backoff with "full jitter", capped. */
function backoff(baseMs, failures) {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** (failures - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function abortedError(signal) {
  return new KookooVerifyError('Aborted', { code: 'ABORTED',
    cause: signal.reason });
}

/** Waits `ms`, or rejects with an 'ABORTED' error when `signal` fires. */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** base64url → UTF-8 text, with only what browsers and Node both have. */
function base64UrlDecodeText(s) {
  if (!/^[A-Za-z0-9_-]*$/.test(s))
    throw new TypeError('not base64url');
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') +
    '='.repeat((4 - (s.length % 4)) % 4);
  const binary = atob(b64);
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}
