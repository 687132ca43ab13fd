// The operator console: asks for the operator token (kept in this tab's
// sessionStorage, sent as a Bearer token on every call), then draws the
// server's figures (/operator/api/...) and KooKoo's latency and errors
// (/metrics), again every few seconds. Lifts blocks, creates and revokes
// keys, and opens the timeline of a recent verification.

import { bars, columns, noData, stackedColumns } from './charts.js';

const TOKEN_KEY = 'kookooverify.operator.token';
const REFRESH_MS = 5000;
const API = 'api/';

const $ = (id) => document.getElementById(id);
const token = () => sessionStorage.getItem(TOKEN_KEY) || '';
const hhmm = (ms) => new Date(ms).toISOString().slice(11, 16);
const hhmmss = (ms) => new Date(ms).toISOString().slice(11, 19);
const when = (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

class Refused extends Error {}

// One call with the token; resolves the JSON, or throws (Refused on 401).
async function call(url, form = null) {
  const headers = {};
  if (token())
    headers.Authorization = `Bearer ${token()}`;
  const init = { headers, cache: 'no-store' };
  if (form) {
    init.method = 'POST';
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    init.body = new URLSearchParams(form).toString();
  }
  const r = await fetch(url, init);
  const data = await r.json().catch(() => null);
  if (r.status === 401)
    throw new Refused(data?.error || 'refused');
  if (!r.ok)
    throw new Error(data?.error || `HTTP ${r.status}`);
  return data;
}

function say(state, text) {
  const s = $('status');
  s.dataset.state = state;
  s.textContent = text;
}

// Empties a table's body and fills it from rows of cells (text or nodes).
function fillTable(id, rows, empty) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  if (!rows.length) {
    const td = body.insertRow().insertCell();
    td.colSpan = $(id).tHead.rows[0].cells.length;
    td.className = 'empty';
    td.textContent = empty;
    return [];
  }
  return rows.map((cells) => {
    const tr = body.insertRow();
    for (const c of cells) {
      const td = tr.insertCell();
      if (c instanceof Node)
        td.appendChild(c);
      else
        td.textContent = String(c);
    }
    return tr;
  });
}

function button(text, onClick, data = {}) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  Object.assign(b.dataset, data);
  b.addEventListener('click', onClick);
  return b;
}

// ---- panels ----------------------------------------------------------------

const OUTCOMES = [
  { key: 'verified', label: 'verified' },
  { key: 'failed', label: 'failed' },
  { key: 'expired', label: 'expired' },
  { key: 'cancelled', label: 'cancelled' },
  { key: 'in_progress', label: 'in progress' },
];

function drawSummary(d) {
  const rows = d.per_minute.map((m) => ({ label: hhmm(m.minute_ms),
    values: m }));
  stackedColumns($('chart-minutes'), rows, OUTCOMES,
    Math.max(1, Math.round(rows.length / 8)));
  const f = d.funnel;
  bars($('chart-funnel'), [
    { key: 'requested', label: 'requested', value: f.requested },
    { key: 'sms_sent', label: 'SMS sent', value: f.sms_sent },
    { key: 'verified_by_sms', label: 'verified by SMS', value:
      f.verified_by_sms, cls: 's-verified' },
    { key: 'call_placed', label: 'call placed', value: f.call_placed,
      cls: 's-call' },
    { key: 'answered', label: 'answered', value: f.answered, cls: 's-call' },
    { key: 'confirmed_by_key', label: 'confirmed by key', value:
      f.confirmed_by_key, cls: 's-verified' },
  ]);
  const t = d.time_to_verify;
  columns($('chart-ttv'), t.counts.map((n, i) => ({
    key: `ttv${i}`, value: n,
    label: i < t.bounds_s.length ? `≤ ${t.bounds_s[i]} s` :
      `> ${t.bounds_s[t.bounds_s.length - 1]} s`,
  })));
}

function drawPrefixes(d) {
  fillTable('prefixes', d.prefixes.map((p) => {
    const m = document.createElement('meter');
    m.min = 0;
    m.max = 1;
    m.value = p.conversion;
    m.title = `${Math.round(p.conversion * 100)} %`;
    return [p.prefix, p.requests, p.verified, m];
  }), 'no requests in this window');
}

function drawBlocks(d) {
  fillTable('blocks', d.blocks.map((b) => [b.prefix, when(b.until_ms),
    b.reason + (b.only_for ? ` (only ${b.only_for})` : ''),
    button('Lift', () => lift(b.prefix), { lift: b.prefix })]),
  'no block in force');
}

function drawKeys(d) {
  const rows = fillTable('keys', d.keys.map((k) => [k.api_key, k.name,
    k.kind, k.countries, k.active ?
      button('Revoke', () => revoke(k.api_key), { revoke: k.api_key }) :
      'revoked']), 'no key');
  d.keys.forEach((k, i) => rows[i]?.classList.toggle('revoked', !k.active));
}

function drawRecent(d) {
  const rows = fillTable('recent', d.verifications.map((v) => [
    when(v.created_ms), v.number, v.status, v.api_key, v.request_id]),
  'no verification yet');
  d.verifications.forEach((v, i) => {
    rows[i].dataset.requestId = v.request_id;
    rows[i].addEventListener('click', () => showTimeline(v.request_id));
  });
}

// What one line of a timeline says.
function timelineItems(t) {
  const items = [{ at: t.created_ms, text: `requested (workflow ${
    t.workflow_id}, steps ${t.steps})` }];
  for (const e of t.events) {
    const what = [e.type, e.channel !== e.type ? e.channel : '', e.result,
      e.detail].filter(Boolean).join(' ');
    items.push({ at: e.at_ms, text: what });
  }
  for (const c of t.checks)
    items.push({ at: c.at_ms, text: c.valid ? 'check: right code' :
      'check: wrong code' });
  for (const c of t.calls) {
    items.push({ at: c.at_ms, text: `call ${c.status || 'placed'}${
      c.outcome ? `, ${c.outcome}` : ''}` });
  }
  if (t.finalized_ms)
    items.push({ at: t.finalized_ms, text: `ended: ${t.status}` });
  return items.sort((a, b) => a.at - b.at);
}

async function showTimeline(id) {
  try {
    const t = await call(`${API}verifications/${id}`);
    $('timeline-id').textContent = `${t.number} ${t.request_id}`;
    $('timeline-events').replaceChildren(...timelineItems(t).map((x) => {
      const li = document.createElement('li');
      const tm = document.createElement('time');
      tm.textContent = hhmmss(x.at);
      li.append(tm, x.text);
      return li;
    }));
    $('timeline').hidden = false;
    for (const tr of $('recent').tBodies[0].rows)
      tr.classList.toggle('open', tr.dataset.requestId === id);
  } catch (e) {
    failed(e);
  }
}

// KooKoo's figures from /metrics (Prometheus text), when it has them:
// mean latency per API and the error classes that occurred.
function parseMetrics(text) {
  const lat = {};
  const errors = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m)
      continue;
    const labels = Object.fromEntries([...(m[2] || '')
      .matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const v = Number(m[3]);
    const name = m[1];
    if (name === 'kookooverify_kookoo_request_duration_seconds_sum')
      (lat[labels.api] ??= {}).sum = v;
    else if (name === 'kookooverify_kookoo_request_duration_seconds_count')
      (lat[labels.api] ??= {}).count = v;
    else if (name === 'kookooverify_kookoo_errors_total' && v > 0)
      errors.push({ key: `${labels.api}-${labels.class}`,
        label: `${labels.api} ${labels.class}`, value: v });
  }
  return { lat, errors };
}

async function loadKookoo() {
  const headers = token() ? { Authorization: `Bearer ${token()}` } : {};
  const r = await fetch('/metrics', { headers, cache: 'no-store' });
  const { lat, errors } = r.ok ? parseMetrics(await r.text()) :
    { lat: {}, errors: [] };
  const apis = Object.entries(lat).filter(([, x]) => x.count > 0);
  if (!apis.length) {
    noData($('chart-latency'), r.ok ? 'no data: no KooKoo request yet' :
      'no data: /metrics does not answer the operator token');
    noData($('chart-errors'), 'no data');
    return;
  }
  bars($('chart-latency'), apis.map(([api, x]) => ({ key: api,
    label: `${api} mean`, value: Math.round((x.sum / x.count) * 1000) })),
  ' ms');
  if (errors.length)
    bars($('chart-errors'), errors);
  else
    noData($('chart-errors'), 'no KooKoo error');
}

// ---- actions ----------------------------------------------------------------

function failed(e) {
  if (e instanceof Refused)
    say('refused', `Refused: ${e.message}. Enter the operator token ` +
      '(kookooverify operator-token prints it); API keys do not open ' +
      'the console.');
  else
    say('error', `Error: ${e.message}`);
}

async function lift(prefix) {
  try {
    await call(`${API}blocks/lift`, { prefix });
    say('ok', `Block on ${prefix} lifted.`);
    await refresh();
  } catch (e) {
    failed(e);
  }
}

async function revoke(apiKey) {
  try {
    await call(`${API}keys/revoke`, { key: apiKey });
    say('ok', `Key ${apiKey} revoked.`);
    await refresh();
  } catch (e) {
    failed(e);
  }
}

async function createKey(ev) {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const params = { name: form.get('name') };
  if (form.get('countries'))
    params.countries = form.get('countries');
  try {
    const k = await call(`${API}keys/create`, params);
    $('key-new-id').textContent = k.api_key;
    $('key-new-secret').textContent = k.api_secret;
    $('key-new').hidden = false;
    ev.target.reset();
    await refresh();
  } catch (e) {
    failed(e);
  }
}

// ---- refresh ----------------------------------------------------------------

let busy = false;

async function refresh() {
  if (busy)
    return;
  busy = true;
  const minutes = $('minutes').value;
  const loads = [
    call(`${API}summary?minutes=${minutes}`).then(drawSummary),
    call(`${API}prefixes?minutes=${minutes}`).then(drawPrefixes),
    call(`${API}blocks`).then(drawBlocks),
    call(`${API}keys`).then(drawKeys),
    call(`${API}verifications?limit=20`).then(drawRecent),
  ];
  try {
    const results = await Promise.allSettled(loads);
    const bad = results.find((r) => r.status === 'rejected');
    if (bad) {
      failed(bad.reason);
      return;
    }
    await loadKookoo().catch(() => noData($('chart-latency')));
    say('ok', `Updated ${hhmmss(Date.now())} UTC.`);
    document.body.dataset.loaded = String(Date.now());
  } finally {
    busy = false;
  }
}

function start() {
  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    refresh();
  });
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    say('idle', 'Token forgotten.');
  });
  $('minutes').addEventListener('change', refresh);
  $('key-create').addEventListener('submit', createKey);
  refresh();
  setInterval(refresh, REFRESH_MS);
}

start();
