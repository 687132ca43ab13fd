// WebOTP in the SDK's widget, in headless Chromium against the demo:
// navigator.credentials.get() stubbed before the page runs to return the
// PIN of the simulator's SMS (verified with no typing), to wait forever
// (typing aborts it) or absent (typing works as before).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { notePin } from '../node/harness.mjs';
import { POLL_MS, WAIT_MS, NUMBERS, assertNoPageErrors, closeDemo, enterCode,
  openDemo, pollUntil, setUpBrowser, simInbox, startVerification, state,
  tearDownBrowser, waitInPage } from './page.mjs';

before(setUpBrowser);
after(tearDownBrowser);

// ---- WebOTP -------------------------------------------------------------

// Replaces the browser's WebOTP before the page runs: mode 'sms' resolves
// with window.__otpCode once the test sets it (the SMS "arrives"), 'never'
// waits until aborted, 'absent' removes WebOTP. window.__otp records calls
// and whether the signal was aborted.
function stubWebOtp(mode) {
  window.__otp = { calls: 0, aborted: false, options: null };
  if (mode === 'absent') {
    delete window.OTPCredential;
  } else if (!('OTPCredential' in window)) {
    window.OTPCredential = function OTPCredential() {};
  }
  const get = (options) => new Promise((resolve, reject) => {
    window.__otp.calls++;
    window.__otp.options = JSON.stringify(options.otp);
    options.signal?.addEventListener('abort', () => {
      window.__otp.aborted = true;
      reject(new DOMException('aborted', 'AbortError'));
    });
    const poll = () => {
      if (options.signal?.aborted)
        return;
      if (window.__otpCode)
        resolve({ type: 'otp', id: '', code: window.__otpCode });
      else
        setTimeout(poll, 100);
    };
    if (mode === 'sms')
      poll();
  });
  if (navigator.credentials)
    navigator.credentials.get = get;
  else
    Object.defineProperty(navigator, 'credentials', { value: { get } });
}

async function simPin(number) {
  const box = await pollUntil(async () => {
    const b = await simInbox(number);
    return { value: b.sms?.length ? b : undefined, last: b };
  }, WAIT_MS, `an SMS to ${number}`, POLL_MS);
  const pin = /\b([0-9]{4,10})\b/.exec(box.sms[0].message)?.[1];
  assert.ok(pin, `a PIN in ${JSON.stringify(box.sms[0])}`);
  notePin(pin);
  return pin;
}

test('webotp: the code the browser reads from the SMS verifies the number ' +
  'with no typing', async () => {
  const number = NUMBERS.webotp;
  const rec = await openDemo(state.kv, undefined, stubWebOtp, 'sms');
  try {
    const input = rec.page.locator('[data-kv="code"]');
    await startVerification(rec, number);
    assert.equal(await input.getAttribute('autocomplete'), 'one-time-code');
    assert.equal(await input.getAttribute('inputmode'), 'numeric');
    const pin = await simPin(number);
    await rec.page.evaluate((p) => { window.__otpCode = p; }, pin);
    await waitInPage(rec, 'the verified state', () =>
      document.querySelector('[data-kv="status"]')?.dataset.kind === 'ok');
    const otp = await rec.page.evaluate(() => window.__otp);
    assert.equal(otp.calls, 1);
    assert.equal(otp.options, JSON.stringify({ transport: ['sms'] }));
    assert.equal(await input.inputValue(), pin);
    assertNoPageErrors(rec);
  } finally {
    await closeDemo(rec);
  }
});

test('webotp: typing in the field abandons the browser\'s request',
  async () => {
    const number = NUMBERS.webotpTyped;
    const rec = await openDemo(state.kv, undefined, stubWebOtp, 'never');
    try {
      await startVerification(rec, number);
      await waitInPage(rec, 'the WebOTP request', () =>
        window.__otp.calls === 1);
      assert.equal(await rec.page.evaluate(() => window.__otp.aborted),
        false);
      const pin = await simPin(number);
      await rec.page.locator('[data-kv="code"]').pressSequentially(pin[0]);
      await waitInPage(rec, 'the WebOTP signal aborted', () =>
        window.__otp.aborted === true);
      const check = await enterCode(rec, pin);
      assert.equal(check.status, '0', JSON.stringify(check));
      assertNoPageErrors(rec);
    } finally {
      await closeDemo(rec);
    }
  });

test('webotp: without it the widget works by typing', async () => {
  const number = NUMBERS.webotpAbsent;
  const rec = await openDemo(state.kv, undefined, stubWebOtp, 'absent');
  try {
    await startVerification(rec, number);
    const check = await enterCode(rec, await simPin(number));
    assert.equal(check.status, '0', JSON.stringify(check));
    await waitInPage(rec, 'the verified state', () =>
      document.querySelector('[data-kv="status"]')?.dataset.kind === 'ok');
    assert.equal(await rec.page.evaluate(() => window.__otp.calls), 0);
    assertNoPageErrors(rec);
  } finally {
    await closeDemo(rec);
  }
});
