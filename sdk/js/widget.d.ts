// Types for @kookooverify/js/widget (src/widget.js): the framework-free
// widget, the <kookoo-verify> element and the widget's pure helpers. The
// module re-exports the client, so one import is enough on a page.

import type { KookooVerify } from './index.js';

export {
  KookooVerify, KookooVerifyError, NetworkError, TimeoutError, Status,
  decodeToken, parseRetryAfter,
} from './index.js';
export type {
  KookooVerifyOptions, KookooVerifyErrorCode, KookooVerifyErrorInfo,
  StartOptions, StartResult, CheckResult, CallOptions, VerificationState,
  VerificationStatus, TokenPayload,
} from './index.js';

export interface WidgetTexts {
  phoneLabel: string;
  phoneHint: string;
  start: string;
  codeLabel: string;
  check: string;
  resend: string;
  /** A function of the "m:ss" countdown, or a prefix for it. */
  resendIn: ((countdown: string) => string) | string;
  cancel: string;
  sending: string;
  sent: string;
  resumed: string;
  resent: string;
  checking: string;
  verified: string;
  changeNumber: string;
  missedCall: string;
  noResendsLeft: string;
  networkError: string;
  timeout: string;
  throttled: string;
  /** Status 10: another browser's verification of this number is live. */
  busyElsewhere: string;
}

export declare const DEFAULT_TEXTS: Readonly<WidgetTexts>;

export interface WidgetOptions {
  /** Publishable key (pk_…), unless `client` is given. */
  apiKey?: string;
  baseUrl?: string;
  /** Your app's name in the SMS (max 18 characters). */
  brand?: string;
  lg?: string;
  country?: string;
  /** Seconds between resends, default 30 (the server's resend_cooldown). */
  resendCooldown?: number | string;
  /** Submit by itself once this many digits are typed (off by default). */
  codeLength?: number | string;
  /** Prefill of the phone field. */
  phone?: string;
  timeoutMs?: number;
  retries?: number;
  /** Use this client instead of making one. */
  client?: KookooVerify;
  /**
   * Where the client keeps the visitor's handle so a reload resumes;
   * default sessionStorage when readable, null: memory only.
   */
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
  texts?: Partial<WidgetTexts>;
  /** false: inject no CSS. */
  styles?: boolean;
}

export interface WidgetHandle {
  client: KookooVerify;
  /** Back to an empty phone step, forgetting the verification. */
  reset(): void;
  /** Removes the widget and its timers. */
  destroy(): void;
}

export interface VerifiedDetail {
  token: string | null;
  requestId: string;
  /** From the token's `sub` (E.164 digits), else the number as typed. */
  number: string;
}

export interface StartedDetail {
  requestId: string;
  resumed: boolean;
}

export interface ErrorDetail {
  error: unknown;
  action: 'start' | 'check' | 'resend' | 'cancel' | 'mount';
  status: string | null;
  errorText: string | null;
}

declare global {
  interface HTMLElementEventMap {
    'kookoo-verified': CustomEvent<VerifiedDetail>;
    'kookoo-started': CustomEvent<StartedDetail>;
    'kookoo-error': CustomEvent<ErrorDetail>;
  }
}

export declare function mountVerifyWidget(
  element: HTMLElement,
  options: WidgetOptions,
): WidgetHandle;

/** Defines <kookoo-verify> (done on import when customElements exists). */
export declare function defineVerifyElement(tagName?: string): void;

export declare function formatCountdown(seconds: number): string;
export declare function secondsLeft(deadlineMs: number, nowMs?: number): number;
export declare function extractCode(
  text: string,
  min?: number,
  max?: number,
): string | null;
export declare function sanitizeCode(value: string, max?: number): string;
export declare function describeError(
  err: unknown,
  texts?: WidgetTexts,
): string;
/**
 * Asks the browser for the SMS's code (WebOTP) where it has it; the
 * returned controller abandons the request; null without WebOTP.
 */
export declare function startWebOtp(
  win: Window | undefined,
  onCode: (code: string) => void,
): AbortController | null;
export declare function resendWaitSeconds(
  err: unknown,
  cooldown: number,
): number;
