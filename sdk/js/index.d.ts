// Types for @kookooverify/js (src/index.js): the browser client, its errors
// and helpers. The widget's types are in widget.d.ts and the Node backend
// helpers' in server.d.ts (subpath exports "./widget" and "./server").

/** The server's `status` codes, as the strings the Vonage dialect sends. */
export declare const Status: Readonly<{
  OK: '0';
  THROTTLED: '1';
  MISSING_PARAMETER: '2';
  INVALID_PARAMETER: '3';
  INVALID_CREDENTIALS: '4';
  INTERNAL_ERROR: '5';
  NOT_FOUND: '6';
  BLOCKED: '7';
  CONCURRENT: '10';
  WRONG_CODE: '16';
  TOO_MANY_ATTEMPTS: '17';
  CANNOT_CANCEL: '19';
  NON_PERMITTED_DESTINATION: '29';
  NO_RESPONSE: '101';
}>;

/** What kind of failure a KookooVerifyError is. */
export type KookooVerifyErrorCode =
  | 'SERVER'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'BAD_RESPONSE'
  | 'INVALID_INPUT'
  | 'NO_REQUEST'
  | 'CONFIG'
  | 'BAD_TOKEN';

export interface KookooVerifyErrorInfo {
  code?: KookooVerifyErrorCode;
  status?: string | null;
  errorText?: string | null;
  httpStatus?: number | null;
  retryAfter?: number | null;
  requestId?: string | null;
  cause?: unknown;
}

/** Every error the client throws. */
export declare class KookooVerifyError extends Error {
  constructor(message: string, info?: KookooVerifyErrorInfo);
  readonly name: string;
  readonly code: KookooVerifyErrorCode;
  /** The server's `status` ("16", "1", …); null when it gave none. */
  readonly status: string | null;
  /** The server's `error_text`. */
  readonly errorText: string | null;
  readonly httpStatus: number | null;
  /** Seconds to wait (Retry-After), when the reply said. */
  readonly retryAfter: number | null;
  readonly requestId: string | null;
  readonly cause?: unknown;
}

/** No reply could be read (offline, refused, reset, CORS refusal). */
export declare class NetworkError extends KookooVerifyError {
  readonly code: 'NETWORK' | 'TIMEOUT';
}

/** A try took longer than `timeoutMs`. */
export declare class TimeoutError extends NetworkError {
  readonly code: 'TIMEOUT';
}

export interface KookooVerifyOptions {
  /** Publishable key, `pk_…`. Anything else is refused. */
  apiKey: string;
  /** Server origin and optional path prefix; '' (default) = same origin. */
  baseUrl?: string;
  /** Per try, default 10000. */
  timeoutMs?: number;
  /** Extra tries after a network failure, default 2. */
  retries?: number;
  /** First backoff in ms (doubled each try, jittered), default 300. */
  retryDelayMs?: number;
  /** Default brand for start(). */
  brand?: string;
  /** fetch implementation, default globalThis.fetch. */
  fetch?: typeof fetch;
  /**
   * Where to keep the visitor's handle across page reloads (e.g.
   * sessionStorage); default none: memory only.
   */
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
  /** Refused: never give a secret to the browser SDK. */
  apiSecret?: never;
  api_secret?: never;
  secret?: never;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface StartOptions extends CallOptions {
  /** Your app's name in the SMS and the call, 1 to 18 characters. */
  brand?: string;
  /** Locale, e.g. 'en-us', 'hi-in'. */
  lg?: string;
  /** ISO 3166 alpha-2 region for numbers written without country code. */
  country?: string;
}

export interface StartResult {
  requestId: string;
  /** True when the server answered "10": a live verification resumed. */
  resumed: boolean;
  /**
   * When the key enables missed calls: the number (E.164) the visitor may
   * give a missed call to instead, and the seconds left to do so.
   */
  missedCall: { number: string; expiresIn: number } | null;
}

export interface CheckResult {
  verified: true;
  requestId: string;
  /** The verification token (JWT) for your backend; null if none sent. */
  token: string | null;
  eventId: string | null;
}

export type VerificationState =
  | 'pending'
  | 'verified'
  | 'failed'
  | 'expired'
  | 'cancelled';

export interface SearchCheck {
  date_received: string;
  code: string;
  status: 'VALID' | 'INVALID';
  ip_address: string;
}

export interface SearchEvent {
  type: 'sms' | 'tts';
  id: string;
}

export interface VerificationStatus {
  state: VerificationState;
  requestId: string;
  /** E.164 digits without '+'. */
  number: string | null;
  /** 'YYYY-MM-DD HH:MM:SS' UTC. */
  dateSubmitted: string | null;
  dateFinalized: string | null;
  checks: SearchCheck[];
  events: SearchEvent[];
  /** Once verified (e.g. by a missed call), its verification token. */
  token: string | null;
  /** The server's reply as it came. */
  raw: Record<string, unknown>;
}

/** Client for one verification at a time, with a publishable key. */
export declare class KookooVerify {
  constructor(options: KookooVerifyOptions);
  readonly apiKey: string;
  readonly baseUrl: string;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  brand?: string;
  /** The current verification; set by start(), settable to resume. */
  requestId: string | null;
  /**
   * This visitor's secret (32 hex digits), sent with every call: the
   * server answers about a verification started through a publishable
   * key only with it. Drawn at random, or loaded from `storage`.
   */
  handle: string | null;

  start(phone: string, options?: StartOptions): Promise<StartResult>;
  check(code: string, options?: CallOptions): Promise<CheckResult>;
  status(options?: CallOptions): Promise<VerificationStatus>;
  cancel(options?: CallOptions): Promise<{ command: 'cancel' }>;
  /** resendIn: the server's wait in seconds before the next resend. */
  resend(options?: CallOptions): Promise<{ command: 'resend'; resendIn: number | null }>;
  /** Forgets the current verification (no request). */
  reset(): void;
}

/** The claims of a verification token. */
export interface TokenPayload {
  iss?: string;
  /** The verified number, E.164 digits without '+'. */
  sub?: string;
  /** The publishable key the verification was made with. */
  aud?: string;
  /** The request_id. */
  rid?: string;
  iat?: number;
  exp?: number;
  jti?: string;
  [claim: string]: unknown;
}

/**
 * The token's payload WITHOUT checking its signature: for display only.
 * A backend must verify tokens (server.js verifyToken or /verify/token/json).
 */
export declare function decodeToken(token: string): TokenPayload;

/** An HTTP Retry-After value in whole seconds, or null. */
export declare function parseRetryAfter(
  value: string | null | undefined,
  nowMs?: number,
): number | null;
