// Tests of the widget's DOM-free helpers (src/widget.js): countdown text,
// PIN extraction from pasted SMS, error sentences, resend waits, WebOTP's
// start and abort. The DOM
// part is driven by the browser test. Importing must not need a DOM.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import {
  formatCountdown, secondsLeft, extractCode, sanitizeCode, describeError,
  resendWaitSeconds, startWebOtp, DEFAULT_TEXTS, defineVerifyElement,
  mountVerifyWidget, displayNumber,
  KookooVerify, KookooVerifyError, NetworkError, TimeoutError,
} from '../src/widget.js';

describe('widget module', () => {
  test('imports without a DOM and re-exports the client', () => {
    assert.equal(typeof mountVerifyWidget, 'function');
    assert.equal(typeof KookooVerify, 'function');
    // No customElements in Node: defining is a no-op, not a crash.
    assert.doesNotThrow(() => defineVerifyElement());
  });
});

describe('formatCountdown()', () => {
  test('m:ss, rounded up, never negative', () => {
    assert.equal(formatCountdown(30), '0:30');
    assert.equal(formatCountdown(5), '0:05');
    assert.equal(formatCountdown(4.2), '0:05');
    assert.equal(formatCountdown(90), '1:30');
    assert.equal(formatCountdown(600), '10:00');
    assert.equal(formatCountdown(0), '0:00');
    assert.equal(formatCountdown(-3), '0:00');
    assert.equal(formatCountdown(NaN), '0:00');
  });
});

describe('secondsLeft()', () => {
  test('whole seconds to the deadline, rounded up', () => {
    assert.equal(secondsLeft(10000, 0), 10);
    assert.equal(secondsLeft(10000, 9001), 1);
    assert.equal(secondsLeft(10000, 10000), 0);
    assert.equal(secondsLeft(10000, 20000), 0);
  });
});

describe('extractCode()', () => {
  test('the first run of 4 to 10 digits', () => {
    assert.equal(extractCode('Your MyApp code is 4821'), '4821');
    assert.equal(extractCode('4821 is your code'), '4821');
    assert.equal(extractCode('Code: 0042. Valid 5 min'), '0042');
    assert.equal(extractCode('MyApp: 123456'), '123456');
  });
  test('skips runs too short or too long', () => {
    assert.equal(extractCode('In 5 min, use 91234'), '91234');
    assert.equal(extractCode('Ref 12345678901234 code 7788'), '7788');
    assert.equal(extractCode('call 12 or 345'), null);
    assert.equal(extractCode(''), null);
    assert.equal(extractCode(undefined), null);
  });
  test('honours min and max', () => {
    assert.equal(extractCode('code 123456', 6, 6), '123456');
    assert.equal(extractCode('code 1234', 6, 6), null);
  });
});

describe('sanitizeCode()', () => {
  test('keeps only digits', () => {
    assert.equal(sanitizeCode('12 34'), '1234');
    assert.equal(sanitizeCode('1-2-3-4'), '1234');
    assert.equal(sanitizeCode('abc'), '');
    assert.equal(sanitizeCode(''), '');
    assert.equal(sanitizeCode(null), '');
  });
  test('a pasted message gives its PIN, not all its digits', () => {
    assert.equal(sanitizeCode('Your code is 4821. Valid for 300 seconds.'),
      '4821');
    assert.equal(sanitizeCode('Your code is 4821'), '4821');
  });
  test('never more than max digits', () => {
    assert.equal(sanitizeCode('123456789012'), '1234567890');
    assert.equal(sanitizeCode('123456', 4), '1234');
  });
});

describe('describeError()', () => {
  test('the server text when there is one', () => {
    const text = 'The code provided does not match the expected value';
    assert.equal(describeError(new KookooVerifyError(text,
      { status: '16', errorText: text })), text);
  });
  test('plain sentences for network failures and timeouts', () => {
    assert.equal(describeError(new NetworkError('x')),
      DEFAULT_TEXTS.networkError);
    assert.equal(describeError(new TimeoutError('x')), DEFAULT_TEXTS.timeout);
  });
  test('throttling without a text; client-side validation messages', () => {
    assert.equal(describeError(new KookooVerifyError('Server status 1',
      { status: '1' })), DEFAULT_TEXTS.throttled);
    assert.equal(describeError(new KookooVerifyError('Enter a phone number',
      { code: 'INVALID_INPUT' })), 'Enter a phone number');
  });
  test('status 10 (another browser\'s verification) in plain words', () => {
    const text = 'Concurrent verifications to the same number are not ' +
      'allowed.';
    assert.equal(describeError(new KookooVerifyError(text,
      { status: '10', errorText: text })), DEFAULT_TEXTS.busyElsewhere);
  });
  test('custom texts and foreign errors', () => {
    assert.equal(describeError(new NetworkError('x'),
      { ...DEFAULT_TEXTS, networkError: 'Hors ligne' }), 'Hors ligne');
    assert.equal(describeError(new Error('boom')), 'boom');
    assert.equal(describeError('odd'), 'odd');
  });
});

describe('resendWaitSeconds()', () => {
  const throttled = (errorText, retryAfter = null) =>
    new KookooVerifyError(errorText, { status: '1', errorText, retryAfter });

  test('Retry-After wins', () => {
    assert.equal(resendWaitSeconds(
      throttled('Throttled: resent too recently', 12), 30), 12);
  });
  test('the default cooldown without Retry-After', () => {
    assert.equal(resendWaitSeconds(
      throttled('Throttled: resent too recently'), 30), 30);
    assert.equal(resendWaitSeconds(throttled('Throttled'), 45), 45);
  });
  test('no resends left: forever', () => {
    assert.equal(resendWaitSeconds(
      throttled('Throttled: no resends left', 5), 30), Infinity);
  });
  test('other errors: no wait', () => {
    assert.equal(resendWaitSeconds(new KookooVerifyError('gone',
      { status: '6' }), 30), 0);
    assert.equal(resendWaitSeconds(new NetworkError('x'), 30), 0);
    assert.equal(resendWaitSeconds(new Error('x'), 30), 0);
  });
});

describe('displayNumber()', () => {
  test('an Indian DID in its national form, others as given', () => {
    assert.equal(displayNumber('+918040000001'), '08040000001');
    assert.equal(displayNumber('+442071838750'), '+442071838750');
  });
});

// A window with WebOTP whose credentials.get() is `get`; records its calls.
function otpWindow(get) {
  const calls = [];
  return {
    calls,
    OTPCredential: function OTPCredential() {},
    AbortController,
    navigator: { credentials: { get(options) {
      calls.push(options);
      return get(options);
    } } },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('startWebOtp()', () => {
  test('asks for an SMS code with an abort signal and hands it on', async () => {
    const win = otpWindow(async () => ({ code: '4821', type: 'otp' }));
    const codes = [];
    const controller = startWebOtp(win, (code) => codes.push(code));
    assert.ok(controller instanceof AbortController);
    assert.deepEqual(win.calls[0].otp, { transport: ['sms'] });
    assert.equal(win.calls[0].signal, controller.signal);
    await tick();
    assert.deepEqual(codes, ['4821']);
  });

  test('abort() aborts the signal and drops a late code', async () => {
    let resolve;
    const win = otpWindow(() => new Promise((r) => { resolve = r; }));
    const codes = [];
    const controller = startWebOtp(win, (code) => codes.push(code));
    controller.abort();
    assert.equal(win.calls[0].signal.aborted, true);
    resolve({ code: '1234' });
    await tick();
    assert.deepEqual(codes, []);
  });

  test('a refusal or a credential without a code does nothing', async () => {
    const codes = [];
    startWebOtp(otpWindow(async () => { throw new Error('AbortError'); }),
      (code) => codes.push(code));
    startWebOtp(otpWindow(async () => null), (code) => codes.push(code));
    await tick();
    assert.deepEqual(codes, []);
  });

  test('absent or broken WebOTP: null, never a throw', () => {
    const onCode = () => assert.fail('no code expected');
    assert.equal(startWebOtp(undefined, onCode), null);
    assert.equal(startWebOtp({ navigator: {} }, onCode), null);
    const noOtp = otpWindow(async () => ({ code: '1' }));
    delete noOtp.OTPCredential;
    assert.equal(startWebOtp(noOtp, onCode), null);
    assert.equal(noOtp.calls.length, 0);
    const throwing = otpWindow(() => { throw new TypeError('no'); });
    assert.equal(startWebOtp(throwing, onCode), null);
  });
});
