// Types for @kookooverify/js/server (src/server.js): token verification for
// Node backends, offline (Ed25519 JWS and the server's JWKS) or online.

export type TokenErrorCode =
  | 'MALFORMED'
  | 'BAD_ALG'
  | 'UNKNOWN_KID'
  | 'BAD_SIGNATURE'
  | 'EXPIRED'
  | 'NOT_YET_VALID'
  | 'BAD_ISSUER'
  | 'BAD_AUDIENCE'
  | 'BAD_CLAIMS'
  | 'SERVER'
  | 'NETWORK';

/** Why a token was refused. */
export declare class TokenError extends Error {
  constructor(code: TokenErrorCode, message: string,
    info?: { status?: string; errorText?: string; cause?: unknown });
  readonly code: TokenErrorCode;
  /** The server's status (verifyTokenOnline only). */
  readonly status: string | null;
  readonly errorText: string | null;
  readonly cause?: unknown;
}

/** An Ed25519 public key as a JWK (OKP). */
export interface Ed25519Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid?: string;
  alg?: 'EdDSA';
  use?: 'sig';
  [member: string]: unknown;
}

export interface Jwks {
  keys: Ed25519Jwk[];
}

/** The claims of a verified token. */
export interface TokenClaims {
  iss: string;
  /** The verified number, E.164 digits without '+'. */
  sub: string;
  /** The publishable key the verification was made with. */
  aud: string;
  /** The request_id. */
  rid: string;
  iat: number;
  exp: number;
  jti: string;
  [claim: string]: unknown;
}

export interface VerifyTokenOptions {
  jwks?: Jwks;
  publicKeyJwk?: Ed25519Jwk;
  /** The pk_ key(s) whose tokens you accept. Required. */
  audience: string | string[];
  /** Default 'kookooverify'. */
  issuer?: string;
  /** Unix seconds or a Date; default now. */
  now?: number | Date;
  /** Default 30. */
  clockToleranceSec?: number;
}

/** Verifies a token offline; returns its claims or throws a TokenError. */
export declare function verifyToken(
  token: string,
  options: VerifyTokenOptions,
): TokenClaims;

/** GET <baseUrl>/.well-known/kookooverify/jwks.json */
export declare function fetchJwks(
  baseUrl: string,
  options?: { fetch?: typeof fetch; timeoutMs?: number },
): Promise<Jwks>;

export interface TokenVerifierOptions {
  baseUrl: string;
  audience: string | string[];
  issuer?: string;
  /** How long a fetched JWKS is used, default 600000 ms. */
  cacheMs?: number;
  /** Least time between refetches for an unknown kid, default 30000 ms. */
  minRefetchMs?: number;
  fetch?: typeof fetch;
}

/** A verifier that fetches and caches the JWKS (and follows rotations). */
export declare function createTokenVerifier(options: TokenVerifierOptions): {
  verify(token: string, opts?: { now?: number | Date }): Promise<TokenClaims>;
};

export interface OnlineTokenResult {
  status: '0';
  number: string;
  request_id: string;
  api_key: string;
  verified_at: string;
  expires_at: string;
  [field: string]: unknown;
}

/** POST <baseUrl>/verify/token/json with the secret key (HTTP Basic). */
export declare function verifyTokenOnline(
  baseUrl: string,
  options: {
    apiKey: string;
    apiSecret: string;
    token: string;
    /** Your publishable key(s): a token of any other is refused. */
    audience: string | string[];
    /** Default true: every later check of the same token fails. */
    singleUse?: boolean;
    fetch?: typeof fetch;
    timeoutMs?: number;
  },
): Promise<OnlineTokenResult>;
