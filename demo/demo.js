// The demo page's script: reads ./config.json, mounts the SDK's widget with
// the demo's publishable key, shows the KooKoo simulator's inbox for the
// number being verified (polled every second), and, once verified, the token
// with its claims decoded for display (never trusted: not verified here).

const POLL_MS = 1000;
const FETCH_TIMEOUT_MS = 5000;
const BRAND = 'KookooVerify demo';

// The page may be /demo or /demo/: resolve from this module, not the page.
const here = (p) => new URL(p, import.meta.url).href;

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class')
      node.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role')
      node.setAttribute(k, v);
    else
      node[k] = v;
  }
  for (const c of children) {
    if (c !== null && c !== undefined && c !== false)
      node.append(c);
  }
  return node;
}

async function fetchJson(url) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    const res = await fetch(url, { cache: 'no-store', signal: ctl.signal,
      credentials: 'omit' });
    if (!res.ok)
      throw new Error(`HTTP ${res.status} from ${url}`);
    return await res.json();
  } finally {
    clearTimeout(timer);
  }
}

function showSetupError(text) {
  const p = $('setup-error');
  p.textContent = text;
  p.hidden = false;
}

// ---- the simulator's inbox --------------------------------------------

// "YYYY-MM-DD HH:MM:SS" (UTC, as the simulator writes it) → <time>.
function timeEl(utc) {
  const d = typeof utc === 'string' ?
    new Date(utc.replace(' ', 'T') + 'Z') : null;
  if (!d || Number.isNaN(d.getTime()))
    return el('span', null, String(utc ?? ''));
  return el('time', { dateTime: d.toISOString(), title: `${utc} UTC` },
    d.toLocaleTimeString());
}

// The SMS text with its PIN (the first run of 4 to 10 digits) marked.
function smsText(message) {
  const p = el('p', { class: 'msg-text' });
  const m = /(?<![0-9])[0-9]{4,10}(?![0-9])/.exec(message);
  if (!m) {
    p.textContent = message;
    return p;
  }
  p.append(message.slice(0, m.index),
    el('mark', { 'data-pin': m[0] }, m[0]),
    message.slice(m.index + m[0].length));
  return p;
}

function renderSms(list) {
  return list.map((sms, i) => el('li', { 'data-index': String(i) },
    el('div', { class: 'msg-meta' },
      timeEl(sms.time),
      el('span', null, 'from ', sms.senderid || '(no sender id)')),
    smsText(String(sms.message ?? ''))));
}

const CALL_STATUS = {
  queued: 'queued',
  ringing: 'ringing',
  answered: 'answered',
  ring: 'not answered',
  busy: 'busy',
};

function renderCalls(list) {
  return list.map((call, i) => {
    const status = CALL_STATUS[call.status] || String(call.status ?? '');
    const lines = Array.isArray(call.transcript) ? call.transcript : [];
    const transcript = el('ol', { class: 'transcript',
      'aria-label': 'Transcript' },
    ...lines.map((line) => el('li',
      /^\[.*\]$/.test(line) ? { class: 'event' } : null, String(line))));
    return el('li', { 'data-index': String(i), 'data-status':
      String(call.status ?? ''), 'data-done': call.done ? 'true' : 'false' },
    el('div', { class: 'msg-meta' },
      el('span', null, 'Call ', el('span', { class: 'mono' },
        String(call.sid ?? ''))),
      el('span', { class: 'call-status' }, status,
        call.done ? ' (ended)' : ''),
      call.duration ? el('span', null, `${call.duration} s`) : null),
    lines.length ? transcript : el('p', { class: 'muted' },
      'No transcript yet.'));
  });
}

class Inbox {
  constructor(baseUrl) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.digits = null;
    this.timer = null;
    this.last = null;
    this.seq = 0;
  }

  // Starts showing `digits`' inbox (any form the simulator matches: it
  // compares the last 10 digits).
  watch(digits) {
    if (!digits || (this.digits && digits.slice(-10) ===
        this.digits.slice(-10)))
      return;
    this.digits = digits;
    this.last = null;
    this.seq++;
    $('inbox-sms').replaceChildren();
    $('inbox-calls').replaceChildren();
    this.setState(`Inbox of ${digits}: waiting for messages…`);
    clearTimeout(this.timer);
    this.poll(this.seq);
  }

  setState(text, isError = false) {
    const p = $('inbox-state');
    if (p.textContent !== text) // a live region: say each news once
      p.textContent = text;
    p.classList.toggle('error', isError);
    p.classList.toggle('muted', !isError);
  }

  async poll(seq) {
    // A hidden tab does not ask; it catches up when shown again.
    if (document.visibilityState === 'hidden') {
      this.timer = setTimeout(() => this.poll(seq), POLL_MS);
      return;
    }
    const url = `${this.baseUrl}/sim/inbox?phone_no=` +
      encodeURIComponent(this.digits);
    try {
      const box = await fetchJson(url);
      if (seq !== this.seq)
        return;
      this.render(box);
    } catch (err) {
      if (seq !== this.seq)
        return;
      this.last = null;
      this.setState(`The simulator's inbox at ${this.baseUrl} cannot be ` +
        `read (${err.message}); is kookoo-sim running?`, true);
    }
    if (seq === this.seq)
      this.timer = setTimeout(() => this.poll(seq), POLL_MS);
  }

  render(box) {
    const sms = Array.isArray(box.sms) ? box.sms : [];
    const calls = Array.isArray(box.calls) ? box.calls : [];
    // Redraw only on change, so screen readers announce new messages once.
    const key = JSON.stringify([sms, calls]);
    if (key === this.last)
      return;
    this.last = key;
    const n = (k, one, many) => `${k} ${k === 1 ? one : many}`;
    this.setState(`Inbox of ${box.phone_no || this.digits}: ` +
      `${n(sms.length, 'SMS', 'SMS')}, ${n(calls.length, 'call', 'calls')}.`);
    // SMS entries only ever get appended: add the new ones.
    const smsList = $('inbox-sms');
    if (smsList.children.length > sms.length)
      smsList.replaceChildren();
    smsList.append(...renderSms(sms).slice(smsList.children.length));
    $('inbox-calls').replaceChildren(...renderCalls(calls));
  }
}

// ---- the verified token -----------------------------------------------

function b64urlJson(part) {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/') +
    '='.repeat((4 - (part.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
}

const CLAIMS = [
  ['sub', 'number (sub)'],
  ['aud', 'publishable key (aud)'],
  ['rid', 'request id (rid)'],
  ['iss', 'issuer (iss)'],
  ['iat', 'issued at (iat)'],
  ['exp', 'expires (exp)'],
  ['jti', 'token id (jti)'],
];

function showToken(detail) {
  const token = String(detail.token ?? '');
  $('token').textContent = token || '(the server sent no token)';
  const dl = $('claims');
  dl.replaceChildren();
  let header = null;
  let payload = null;
  try {
    const parts = token.split('.');
    if (parts.length !== 3)
      throw new Error('not a JWT');
    header = b64urlJson(parts[0]);
    payload = b64urlJson(parts[1]);
  } catch (err) {
    dl.append(el('dt', null, 'error'),
      el('dd', null, `The token does not decode: ${err.message}`));
  }
  if (payload) {
    for (const [k, label] of CLAIMS) {
      if (!(k in payload))
        continue;
      let v = String(payload[k]);
      if ((k === 'iat' || k === 'exp') && Number.isFinite(payload[k]))
        v += ` (${new Date(payload[k] * 1000).toLocaleString()})`;
      dl.append(el('dt', null, label),
        el('dd', { 'data-claim': k }, v));
    }
    $('claims-json').textContent = JSON.stringify({ header, payload },
      null, 2);
  }
  // Shown, not focused: focus stays on the widget's status line, which
  // announces the result.
  const section = $('verified');
  section.hidden = false;
  section.scrollIntoView({ block: 'nearest' });
}

// ---- wiring -----------------------------------------------------------

function digitsOf(value) {
  const d = String(value ?? '').replace(/[^0-9]/g, '');
  return d.length >= 10 ? d : null;
}

async function main() {
  let config;
  try {
    config = await fetchJson(here('./config.json'));
  } catch (err) {
    showSetupError(`The demo's configuration (config.json) could not be ` +
      `read: ${err.message}.  Is the server running with demo=true?`);
    return;
  }
  if (typeof config.api_key !== 'string' || !config.api_key) {
    showSetupError('config.json has no api_key: the server needs ' +
      'demo_key set to a publishable key (pk_…).');
    return;
  }

  let widget;
  try {
    widget = await import(here('./sdk/widget.js'));
  } catch (err) {
    showSetupError(`The SDK's widget could not be loaded: ${err.message}`);
    return;
  }

  const inbox = config.inbox_url ? new Inbox(config.inbox_url) : null;
  if (!inbox) {
    $('inbox-state').textContent = 'No simulator is configured ' +
      '(demo_inbox_url): messages go to real phones.';
  }

  const host = $('widget');
  // Follow the number the widget verifies: its phone field once the server
  // accepted it, then the number in the token (E.164 digits).
  host.addEventListener('kookoo-started', () => {
    const phone = host.querySelector('[data-kv="phone"]');
    if (inbox && phone)
      inbox.watch(digitsOf(phone.value));
  });
  host.addEventListener('kookoo-verified', (ev) => {
    const detail = ev.detail || {};
    if (inbox && detail.number)
      inbox.watch(digitsOf(detail.number));
    showToken(detail);
  });

  const options = {
    apiKey: config.api_key,
    baseUrl: config.base_url || '',
    brand: BRAND,
  };
  // The server's resend cooldown, so the widget's countdown matches it.
  if (Number.isFinite(config.resend_cooldown) && config.resend_cooldown >= 0)
    options.resendCooldown = config.resend_cooldown;
  try {
    widget.mountVerifyWidget(host, options);
  } catch (err) {
    showSetupError(`The widget could not start: ${err.message}`);
  }
}

main();
