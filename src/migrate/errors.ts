/**
 * @module migrate/errors
 * How `osprey import` and `osprey verify` tell problems apart: a FatalError stops the whole run
 * before anything is written (bad input, unreachable endpoint, wrong credentials; exit 2); any
 * other error concerns one object and is transient (retried with backoff) or not.
 */

/** Stops the run: bad input or a setup problem, named in words a user can act on. Exit code 2. */
export class FatalError extends Error {
  override name = 'FatalError';
}

/** One object failed at its source: `notFound` for a 404, `transient` when a retry may help. */
export class SourceError extends Error {
  override name = 'SourceError';
  constructor(
    message: string,
    readonly transient: boolean,
    readonly notFound = false,
  ) {
    super(message);
  }
}

interface SdkLike {
  name?: string;
  code?: string;
  message?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

/** S3 error codes that mean the credentials are wrong: the whole run stops. */
const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidSecurity',
  'AuthorizationHeaderMalformed',
  'ExpiredToken',
  'InvalidToken',
]);

const NETWORK: Record<string, string> = {
  ENOTFOUND: 'the host name could not be resolved',
  EAI_AGAIN: 'the host name could not be resolved',
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connecting timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'the body stopped arriving',
  UND_ERR_SOCKET: 'the connection was closed',
  UND_ERR_CLOSED: 'the connection was closed',
};

/** A network-level failure (DNS, refused, reset, timeout), in words, or undefined. */
export function networkProblem(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as SdkLike).cause, depth++) {
    const code = (e as SdkLike).code ?? (e as SdkLike).name;
    if (code && NETWORK[code]) return NETWORK[code];
    if ((e as SdkLike).name === 'TimeoutError') return 'timed out';
  }
  return undefined;
}

/** The S3 error code and HTTP status of an AWS SDK error, when it is one. */
export function s3Code(err: unknown): { code: string; status?: number } | undefined {
  const e = err as SdkLike;
  // the SDK puts $metadata on network errors too; only an HTTP answer makes an S3 error
  const status = e && typeof e === 'object' ? e.$metadata?.httpStatusCode : undefined;
  if (status === undefined) return undefined;
  return { code: e.name ?? e.code ?? 'Error', status };
}

export function isCredentialError(err: unknown): boolean {
  const c = s3Code(err);
  return c !== undefined && CREDENTIAL_CODES.has(c.code);
}

/** Is it worth trying this object again (network trouble, 5xx, throttling, a timeout)? */
export function isTransient(err: unknown): boolean {
  if (err instanceof SourceError) return err.transient;
  if (err instanceof FatalError) return false;
  if ((err as SdkLike)?.name === 'AbortError') return true;
  if (networkProblem(err)) return true;
  const c = s3Code(err);
  if (c) return (c.status !== undefined && (c.status >= 500 || c.status === 429)) || c.code === 'SlowDown' || c.code === 'RequestTimeout';
  return false;
}

/** One line for a log or a report: the S3 code and message, or the network problem, or the message. */
export function describe(err: unknown): string {
  if (err instanceof SourceError || err instanceof FatalError) return err.message;
  const net = networkProblem(err);
  const e = err as SdkLike;
  const c = s3Code(err);
  if (c) {
    const msg = e.message && e.message !== c.code && e.message !== 'UnknownError' ? `: ${e.message}` : '';
    return `${c.code}${c.status !== undefined ? ` (HTTP ${c.status})` : ''}${msg}`;
  }
  if (net) return net;
  return e?.message ?? String(err);
}

/** Exponential backoff with full jitter: attempt 1 → up to 0.5 s, 2 → 1 s, … capped at 10 s. */
export function backoffMs(attempt: number, baseMs = 500): number {
  const cap = Math.min(10_000, baseMs * 2 ** (attempt - 1));
  return Math.round(cap / 2 + (Math.random() * cap) / 2);
}
