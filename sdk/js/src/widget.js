// Framework-free phone verification widget built on the KookooVerify client:
// a phone step and a code step, resend with a visible countdown, an aria-live
// status line and scoped responsive CSS. Use mountVerifyWidget(element, opts)
// or the <kookoo-verify> custom element (defined on import in browsers).
// The pure helpers at the top hold the logic that needs no DOM.

import {
  KookooVerify, KookooVerifyError, Status, decodeToken,
} from './index.js';

export {
  KookooVerify, KookooVerifyError, NetworkError, TimeoutError, Status,
  decodeToken, parseRetryAfter,
} from './index.js';

/** Texts shown by the widget; override any of them with `options.texts`. */
export const DEFAULT_TEXTS = Object.freeze({
  phoneLabel: 'Phone number',
  phoneHint: 'We will send you a code by SMS.',
  start: 'Send code',
  codeLabel: 'Verification code',
  check: 'Verify',
  resend: 'Resend code',
  resendIn: (countdown) => `Resend code in ${countdown}`,
  cancel: 'Change number',
  sending: 'Sending the code…',
  sent: 'We sent a code. Enter it below.',
  resumed: 'A code was already sent to this number. Enter it below.',
  resent: 'We sent the code again.',
  checking: 'Checking the code…',
  verified: 'Your phone number is verified.',
  changeNumber: 'Enter your phone number.',
  missedCall: 'Or give a missed call to',
  noResendsLeft: 'No more resends for this code.',
  networkError: 'Could not reach the server. Check your connection and ' +
    'try again.',
  timeout: 'The server took too long to answer. Try again.',
  throttled: 'Too many attempts. Please wait and try again.',
  busyElsewhere: 'A code was already sent to this number from another ' +
    'browser. Wait a few minutes, or use another number.',
});

/**
 * Formats seconds left as m:ss ("0:05", "1:30"); never negative.
 *
 * @param {number} seconds
 * @returns {string}
 */
export function formatCountdown(seconds) {
  const s = Math.max(0, Math.ceil(Number(seconds) || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Whole seconds left until `deadlineMs`, rounded up, never negative.
 *
 * @param {number} deadlineMs
 * @param {number} [nowMs]
 * @returns {number}
 */
export function secondsLeft(deadlineMs, nowMs = Date.now()) {
  return Math.max(0, Math.ceil((deadlineMs - nowMs) / 1000));
}

/**
 * The PIN in a pasted text such as an SMS ("Your MyApp code is 4821"): its
 * first run of `min` to `max` digits standing alone (not part of a longer
 * run of digits).
 *
 * @param {string} text
 * @param {number} [min] default 4
 * @param {number} [max] default 10
 * @returns {string|null}
 */
export function extractCode(text, min = 4, max = 10) {
  if (typeof text !== 'string')
    return null;
  for (const run of text.match(/[0-9]+/g) || []) {
    if (run.length >= min && run.length <= max)
      return run;
  }
  return null;
}

/**
 * What the code field keeps of what was typed or pasted: a pasted message
 * (anything with more than digits, blanks and dashes) gives its PIN;
 * otherwise only the digits are kept, at most `max` of them.
 *
 * @param {string} value
 * @param {number} [max] default 10
 * @returns {string}
 */
export function sanitizeCode(value, max = 10) {
  const text = String(value ?? '');
  if (/[^0-9\s-]/.test(text)) {
    const pin = extractCode(text, 4, max);
    if (pin !== null)
      return pin;
  }
  return text.replace(/[^0-9]/g, '').slice(0, max);
}

/**
 * The sentence to show for an error: the server's own text when it gave
 * one, a plain explanation for network failures.
 *
 * @param {unknown} err
 * @param {typeof DEFAULT_TEXTS} [texts]
 * @returns {string}
 */
export function describeError(err, texts = DEFAULT_TEXTS) {
  if (err instanceof KookooVerifyError) {
    if (err.code === 'TIMEOUT')
      return texts.timeout;
    if (err.code === 'NETWORK')
      return texts.networkError;
    // Status 10 reaches the page only for another visitor's verification
    // (the SDK resumes its own).
    if (err.status === Status.CONCURRENT)
      return texts.busyElsewhere;
    if (err.errorText)
      return err.errorText;
    if (err.status === Status.THROTTLED)
      return texts.throttled;
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * How long to keep "Resend" disabled after a resend failed: the server's
 * Retry-After when it sent one, the default cooldown for "resent too
 * recently", Infinity when no resend is left, 0 for any other error.
 *
 * @param {unknown} err
 * @param {number} cooldown the default cooldown in seconds
 * @returns {number} seconds
 */
export function resendWaitSeconds(err, cooldown) {
  if (!(err instanceof KookooVerifyError) || err.status !== Status.THROTTLED)
    return 0;
  if (/no resends left/i.test(err.errorText || ''))
    return Infinity;
  return err.retryAfter ?? cooldown;
}

/**
 * Asks the browser for the code of the SMS as it arrives (WebOTP:
 * `navigator.credentials.get({otp: {transport: ['sms']}})`) where it has
 * it, and calls `onCode(code)` with what it returns. Returns the
 * AbortController that abandons the request, or null where the browser has
 * no WebOTP (then nothing happens; never throws).
 *
 * @param {Window|undefined} win the page's window
 * @param {(code: string) => void} onCode
 * @returns {AbortController|null}
 */
export function startWebOtp(win, onCode) {
  let controller;
  try {
    const get = win?.navigator?.credentials?.get;
    if (!win || !('OTPCredential' in win) || typeof get !== 'function' ||
        typeof win.AbortController !== 'function')
      return null;
    controller = new win.AbortController();
    const pending = win.navigator.credentials.get({
      otp: { transport: ['sms'] }, signal: controller.signal });
    Promise.resolve(pending).then((credential) => {
      if (!controller.signal.aborted && typeof credential?.code === 'string')
        onCode(credential.code);
    }, () => { /* aborted, refused or unsupported: typing still works */ });
  } catch (err) {
    return null;
  }
  return controller;
}

// ---- DOM ---------------------------------------------------------------

const STYLE_ID = 'kookoo-verify-style';

// Every rule is under .kv-widget so the page's own styles are not touched.
// 16px inputs keep iOS from zooming; 44px targets suit fingers.
const CSS = `
.kv-widget{box-sizing:border-box;max-width:24rem;font:inherit;color:inherit}
.kv-widget *{box-sizing:border-box}
.kv-widget form{display:flex;flex-wrap:wrap;gap:.5rem;margin:0 0 .75rem}
.kv-widget label{flex:1 1 100%;font-weight:600}
.kv-widget .kv-hint{flex:1 1 100%;margin:0;font-size:.875em;opacity:.8}
.kv-widget input{flex:1 1 12rem;min-width:0;min-height:44px;
padding:.5rem .75rem;font-size:16px;border:1px solid currentColor;
border-radius:.375rem;background:transparent;color:inherit}
.kv-widget input[data-kv=code]{letter-spacing:.3em;
font-variant-numeric:tabular-nums}
.kv-widget button{min-height:44px;min-width:44px;padding:.5rem 1rem;
font:inherit;border-radius:.375rem;border:1px solid currentColor;
cursor:pointer;background:transparent;color:inherit}
.kv-widget button[type=submit]{background:#1f5fbf;border-color:#1f5fbf;
color:#fff}
.kv-widget button:disabled{opacity:.55;cursor:not-allowed}
.kv-widget .kv-secondary{flex:1 1 100%;display:flex;flex-wrap:wrap;gap:.5rem}
.kv-widget .kv-secondary button{flex:1 1 auto}
.kv-widget :focus-visible{outline:3px solid #f0a020;outline-offset:2px}
.kv-widget [data-kv=status]{min-height:1.5em;margin:0}
.kv-widget [data-kv=status][data-kind=error]{color:#b3261e;font-weight:600}
.kv-widget [data-kv=status][data-kind=ok]{color:#1b7f3b;font-weight:600}
.kv-widget [hidden]{display:none!important}
@media (max-width:30rem){.kv-widget form>*{flex-basis:100%}}
@media (prefers-color-scheme:dark){
.kv-widget [data-kv=status][data-kind=error]{color:#ff8a80}
.kv-widget [data-kv=status][data-kind=ok]{color:#7ee2a0}}
`;

let widgetCount = 0;

/**
 * The tab's sessionStorage, where the client keeps the visitor's handle so
 * that a reload resumes the verification: per tab and origin, gone with the
 * tab. Reading it throws where storage is disabled: then none.
 */
function sessionStorageOrNull() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch (err) {
    return null;
  }
}

/**
 * Builds the widget inside `element` (its children are replaced).
 *
 * Events, dispatched on `element`, bubbling and composed:
 * - `kookoo-started` {requestId, resumed}
 * - `kookoo-verified` {token, requestId, number}
 * - `kookoo-error` {error, action, status, errorText}
 *   (action: 'start' | 'check' | 'resend' | 'cancel')
 *
 * @param {HTMLElement} element
 * @param {WidgetOptions} options
 * @returns {{client: KookooVerify, reset(): void, destroy(): void}}
 */
export function mountVerifyWidget(element, options = {}) {
  const texts = { ...DEFAULT_TEXTS, ...(options.texts || {}) };
  const client = options.client || new KookooVerify({
    apiKey: options.apiKey,
    baseUrl: options.baseUrl,
    timeoutMs: options.timeoutMs,
    retries: options.retries,
    brand: options.brand,
    storage: options.storage !== undefined ? options.storage
      : sessionStorageOrNull(),
  });
  const cooldown = wholeNumber(options.resendCooldown, 30);
  const codeLength = wholeNumber(options.codeLength, 0);
  const doc = element.ownerDocument;
  if (options.styles !== false)
    injectStyles(doc);

  const ui = buildDom(doc, element, texts, ++widgetCount, codeLength);
  let otp = null; // the WebOTP request while the code step waits
  let resendDeadline = 0;
  let timer = null;
  let busy = false;
  let verified = false; // once verified, every control stays disabled
  let phoneTyped = '';
  let missedPoll = null; // the timeout of the next status poll

  const emit = (type, detail) => element.dispatchEvent(
    new CustomEvent(type, { detail, bubbles: true, composed: true }));

  function say(message, kind = 'info') {
    ui.status.textContent = message;
    ui.status.dataset.kind = kind;
  }

  function setBusy(on) {
    busy = on;
    ui.root.setAttribute('aria-busy', on ? 'true' : 'false');
    for (const button of [ui.start, ui.check, ui.cancel])
      button.disabled = on || verified;
    // Fields stay focusable while a request runs (read-only, not disabled),
    // so focus can be put back on the one in error.
    for (const field of [ui.phone, ui.code]) {
      field.readOnly = on;
      field.disabled = verified;
    }
    updateResend();
  }

  function showStep(step) {
    ui.phoneForm.hidden = step !== 'phone';
    ui.codeForm.hidden = step !== 'code';
  }

  // The countdown runs from a deadline, not by counting ticks, so a
  // throttled background tab still shows the right time when it wakes.
  function updateResend() {
    const left = resendDeadline === Infinity ? Infinity
      : secondsLeft(resendDeadline);
    ui.resend.disabled = busy || verified || left > 0;
    if (left === Infinity)
      ui.resend.textContent = texts.resend;
    else if (left > 0)
      ui.resend.textContent = resendLabel(texts, formatCountdown(left));
    else
      ui.resend.textContent = texts.resend;
    if (left === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  }

  function startCountdown(seconds) {
    resendDeadline = seconds === Infinity ? Infinity
      : Date.now() + seconds * 1000;
    if (timer === null && seconds > 0 && seconds !== Infinity)
      timer = setInterval(updateResend, 250);
    updateResend();
  }

  // WebOTP is abandoned once the person types, the widget closes or the
  // verification ends; listenForCode starts it for a code step.
  function stopOtp() {
    if (otp !== null) {
      otp.abort();
      otp = null;
    }
  }

  function listenForCode() {
    stopOtp();
    otp = startWebOtp(doc.defaultView, (code) => {
      otp = null;
      ui.code.value = sanitizeCode(code, codeLength || 10);
      ui.code.removeAttribute('aria-invalid');
      if (!busy && !verified && !ui.codeForm.hidden)
        ui.check.click();
    });
  }

  function fail(action, err, field) {
    say(describeError(err, texts), 'error');
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      field.focus();
      field.select();
    }
    emit('kookoo-error', { error: err, action, status: err?.status ?? null,
      errorText: err?.errorText ?? null });
  }

  async function onStart(event) {
    event.preventDefault();
    if (busy)
      return;
    phoneTyped = ui.phone.value;
    ui.phone.removeAttribute('aria-invalid');
    setBusy(true);
    say(texts.sending);
    try {
      const { requestId, resumed, missedCall } = await client.start(
        phoneTyped, {
        brand: options.brand, lg: options.lg, country: options.country });
      ui.code.value = '';
      ui.code.removeAttribute('aria-invalid');
      showStep('code');
      say(resumed ? texts.resumed : texts.sent);
      startCountdown(cooldown);
      ui.code.focus();
      showMissedCall(missedCall);
      listenForCode();
      emit('kookoo-started', { requestId, resumed });
    } catch (err) {
      fail('start', err, ui.phone);
    } finally {
      setBusy(false);
    }
  }

  async function onCheck(event) {
    event.preventDefault();
    if (busy)
      return;
    ui.code.value = sanitizeCode(ui.code.value);
    ui.code.removeAttribute('aria-invalid');
    setBusy(true);
    say(texts.checking);
    try {
      const { token, requestId } = await client.check(ui.code.value);
      finishVerified(token, requestId);
    } catch (err) {
      // A final refusal (too many wrong codes, expired): this code can no
      // longer work, so go back to the phone step with the number kept.
      if (err?.status === Status.TOO_MANY_ATTEMPTS ||
          err?.status === Status.NOT_FOUND) {
        stopOtp();
        startCountdown(0);
        showStep('phone');
        ui.phone.value = phoneTyped;
        fail('check', err, null);
        ui.phone.focus();
      } else {
        fail('check', err, ui.code);
      }
    } finally {
      setBusy(false);
    }
  }

  // Missed call: "or give a missed call to 080…" (a tel: link); the page
  // learns of the call by polling the verification until its window ends.
  function stopMissedCall() {
    clearTimeout(missedPoll);
    missedPoll = null;
    ui.missed.hidden = true;
  }

  function showMissedCall(missedCall) {
    stopMissedCall();
    if (!missedCall)
      return;
    ui.missedLink.href = `tel:${missedCall.number}`;
    ui.missedLink.textContent = displayNumber(missedCall.number);
    ui.missed.hidden = false;
    const until = Date.now() + missedCall.expiresIn * 1000;
    const poll = async () => {
      missedPoll = null;
      if (verified || Date.now() >= until)
        return stopMissedCall();
      try {
        const s = await client.status();
        if (s.state === 'verified' && !verified)
          return finishVerified(s.token, s.requestId);
        if (s.state !== 'pending')
          return stopMissedCall();
      } catch (e) { /* a poll that failed: the next one may not */ }
      if (!ui.missed.hidden)
        missedPoll = setTimeout(poll, MISSED_POLL_MS);
    };
    missedPoll = setTimeout(poll, MISSED_POLL_MS);
  }

  function finishVerified(token, requestId) {
    let number = phoneTyped;
    stopMissedCall();
    if (token) {
      try {
        number = decodeToken(token).sub || phoneTyped;
      } catch (e) { /* display only: keep what was typed */ }
    }
    stopOtp();
    clearInterval(timer);
    timer = null;
    verified = true;
    setBusy(false);
    ui.resend.hidden = true;
    ui.cancel.hidden = true;
    say(texts.verified, 'ok');
    ui.status.focus();
    emit('kookoo-verified', { token, requestId, number });
  }

  async function onResend() {
    if (busy)
      return;
    setBusy(true);
    try {
      // The server's wait before the next resend: it grows each time.
      const { resendIn } = await client.resend();
      say(texts.resent);
      startCountdown(resendIn ?? cooldown);
    } catch (err) {
      const wait = resendWaitSeconds(err, cooldown);
      if (wait === Infinity)
        say(texts.noResendsLeft, 'error');
      else
        say(describeError(err, texts), 'error');
      startCountdown(wait);
      emit('kookoo-error', { error: err, action: 'resend',
        status: err?.status ?? null, errorText: err?.errorText ?? null });
    } finally {
      setBusy(false);
      ui.code.focus();
    }
  }

  // "Change number": cancel when the server allows it (it refuses in the
  // first 30 s); either way the old verification can no longer be
  // completed from here and simply expires, so go back to the phone step.
  async function onCancel() {
    if (busy)
      return;
    setBusy(true);
    try {
      await client.cancel();
    } catch (err) {
      emit('kookoo-error', { error: err, action: 'cancel',
        status: err?.status ?? null, errorText: err?.errorText ?? null });
    } finally {
      setBusy(false);
    }
    stopOtp();
    client.reset();
    stopMissedCall();
    startCountdown(0);
    showStep('phone');
    say(texts.changeNumber);
    ui.phone.focus();
  }

  function onCodeInput() {
    stopOtp(); // the person types: the browser's offer is not wanted
    const clean = sanitizeCode(ui.code.value);
    if (clean !== ui.code.value)
      ui.code.value = clean;
    ui.code.removeAttribute('aria-invalid');
    if (codeLength && clean.length === codeLength && !busy)
      ui.check.click();
  }

  // maxlength would cut "Your MyApp code is 4821" before any input event
  // sees the PIN, so a paste is read whole and reduced to its code here.
  function onCodePaste(event) {
    const text = event.clipboardData?.getData('text');
    if (!text)
      return;
    event.preventDefault();
    stopOtp();
    ui.code.value = sanitizeCode(text);
    onCodeInput();
  }

  ui.phoneForm.addEventListener('submit', onStart);
  ui.codeForm.addEventListener('submit', onCheck);
  ui.resend.addEventListener('click', onResend);
  ui.cancel.addEventListener('click', onCancel);
  ui.code.addEventListener('input', onCodeInput);
  ui.code.addEventListener('paste', onCodePaste);
  if (options.phone)
    ui.phone.value = options.phone;

  return {
    client,
    /** Back to an empty phone step, forgetting the verification. */
    reset() {
      stopOtp();
      client.reset();
      stopMissedCall();
      clearInterval(timer);
      timer = null;
      resendDeadline = 0;
      verified = false;
      for (const f of [ui.phone, ui.code]) {
        f.value = '';
        f.removeAttribute('aria-invalid');
      }
      ui.resend.hidden = false;
      ui.cancel.hidden = false;
      setBusy(false);
      showStep('phone');
      say('');
    },
    /** Removes the widget and its timers. */
    destroy() {
      stopMissedCall();
      stopOtp();
      clearInterval(timer);
      timer = null;
      ui.root.remove();
    },
  };
}

const MISSED_POLL_MS = 3000;

/** "+918040000001" -> "08040000001" (India's national form); else as is. */
export function displayNumber(e164) {
  return e164.startsWith('+91') && e164.length === 13
    ? `0${e164.slice(3)}` : e164;
}

/** An option or attribute as a whole number >= 0, else `fallback`. */
function wholeNumber(value, fallback) {
  if (value === undefined || value === null || value === '')
    return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** `texts.resendIn` may be a function of the countdown or a plain prefix. */
function resendLabel(texts, countdown) {
  return typeof texts.resendIn === 'function' ? texts.resendIn(countdown)
    : `${texts.resendIn} ${countdown}`;
}

function injectStyles(doc) {
  if (doc.getElementById(STYLE_ID))
    return;
  const style = doc.createElement('style');
  style.id = STYLE_ID;
  style.textContent = CSS;
  (doc.head || doc.documentElement).appendChild(style);
}

/** Small element factory: tag, attributes, text. */
function el(doc, tag, attrs = {}, text) {
  const node = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs))
    node.setAttribute(k, v);
  if (text !== undefined)
    node.textContent = text;
  return node;
}

function buildDom(doc, element, texts, n, codeLength) {
  const id = (name) => `kv${n}-${name}`;
  const root = el(doc, 'div', { class: 'kv-widget', 'data-kv': 'root' });

  const phoneForm = el(doc, 'form', { novalidate: '' });
  const phone = el(doc, 'input', {
    id: id('phone'), name: 'phone', type: 'tel', autocomplete: 'tel',
    inputmode: 'tel', required: '', maxlength: '32', 'data-kv': 'phone',
    'aria-describedby': `${id('hint')} ${id('status')}`,
  });
  const start = el(doc, 'button', { type: 'submit', 'data-kv': 'start' },
    texts.start);
  phoneForm.append(
    el(doc, 'label', { for: id('phone') }, texts.phoneLabel),
    el(doc, 'p', { id: id('hint'), class: 'kv-hint' }, texts.phoneHint),
    phone, start);

  const codeForm = el(doc, 'form', { novalidate: '', hidden: '' });
  const code = el(doc, 'input', {
    id: id('code'), name: 'code', type: 'text', inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: codeLength ? `[0-9]{${codeLength}}` : '[0-9]{4,10}',
    maxlength: String(codeLength || 10),
    required: '', spellcheck: 'false', 'data-kv': 'code',
    'aria-describedby': id('status'),
  });
  const check = el(doc, 'button', { type: 'submit', 'data-kv': 'check' },
    texts.check);
  const resend = el(doc, 'button', { type: 'button', 'data-kv': 'resend' },
    texts.resend);
  const cancel = el(doc, 'button', { type: 'button', 'data-kv': 'cancel' },
    texts.cancel);
  const secondary = el(doc, 'div', { class: 'kv-secondary' });
  secondary.append(resend, cancel);
  const missed = el(doc, 'p', { class: 'kv-hint', 'data-kv': 'missed',
    hidden: '' }, `${texts.missedCall} `);
  const missedLink = el(doc, 'a', { 'data-kv': 'missed-link' });
  missed.append(missedLink);
  codeForm.append(el(doc, 'label', { for: id('code') }, texts.codeLabel),
    code, check, secondary, missed);

  // tabindex -1: focus can be moved here to announce the final result.
  const status = el(doc, 'p', { id: id('status'), role: 'status',
    'aria-live': 'polite', tabindex: '-1', 'data-kv': 'status' });

  root.append(phoneForm, codeForm, status);
  element.replaceChildren(root);
  return { root, phoneForm, phone, start, codeForm, code, check, resend,
    cancel, status, missed, missedLink };
}

/**
 * Defines the `<kookoo-verify>` element (attributes: api-key, base-url,
 * brand, lg, country, resend-cooldown, code-length, phone). Called on
 * import when the page has custom elements; calling it again is harmless.
 *
 * @param {string} [tagName] default 'kookoo-verify'
 */
export function defineVerifyElement(tagName = 'kookoo-verify') {
  const registry = globalThis.customElements;
  if (!registry || registry.get(tagName))
    return;
  registry.define(tagName, class extends HTMLElement {
    connectedCallback() {
      if (this.widget)
        return;
      const a = (name) => this.getAttribute(name) ?? undefined;
      try {
        this.widget = mountVerifyWidget(this, {
          apiKey: a('api-key'), baseUrl: a('base-url') || '',
          brand: a('brand'), lg: a('lg'), country: a('country'),
          resendCooldown: a('resend-cooldown'),
          codeLength: a('code-length'), phone: a('phone'),
        });
      } catch (err) {
        // A configuration error (e.g. a secret key) must be loud.
        this.textContent = err.message;
        this.dispatchEvent(new CustomEvent('kookoo-error', { bubbles: true,
          composed: true, detail: { error: err, action: 'mount',
            status: null, errorText: null } }));
      }
    }

    disconnectedCallback() {
      this.widget?.destroy();
      this.widget = null;
    }

    /** The KookooVerify client behind the element (null before mount). */
    get client() {
      return this.widget?.client ?? null;
    }
  });
}

if (typeof HTMLElement !== 'undefined')
  defineVerifyElement();

/**
 * @typedef {object} WidgetOptions
 * @property {string} [apiKey] publishable key (pk_…), unless `client` given
 * @property {string} [baseUrl]
 * @property {string} [brand] your app's name in the SMS (max 18
 *   characters); required unless `client` has a default brand
 * @property {string} [lg] e.g. 'en-us', 'hi-in'
 * @property {string} [country] ISO 3166 alpha-2 for national numbers
 * @property {number|string} [resendCooldown] seconds, default 30 (the
 *   server's resend_cooldown)
 * @property {number|string} [codeLength] submit by itself at this many
 *   digits (off by default)
 * @property {string} [phone] prefill
 * @property {number} [timeoutMs]
 * @property {number} [retries]
 * @property {KookooVerify} [client] an existing client instead
 * @property {Partial<typeof DEFAULT_TEXTS>} [texts]
 * @property {boolean} [styles] false: inject no CSS
 */
