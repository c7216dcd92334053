/**
 * @module auth/types
 * What request authentication produces: who is asking, in which dialect, and how the body must
 * be verified while it streams.
 */
import type { IncomingHttpHeaders } from 'node:http';

export type Principal = { kind: 'owner'; accessKeyId: string } | { kind: 'anonymous' };

export interface KeyStore {
  secretFor(accessKeyId: string): string | undefined;
}

export interface AuthInput {
  method: string;
  /** The raw request-target exactly as received: path (percent-encoded as sent) + optional ?query. */
  url: string;
  headers: IncomingHttpHeaders;
  now: Date;
  /** Bucket and key as the router resolved them (OSS signs /bucket/key whatever the Host). */
  bucket?: string;
  key?: string;
}

/** What SigV4 chunk signatures chain from (sigv4-streaming.html: seed = the request's Signature). */
export interface ChunkSigning {
  signingKey: Buffer;
  /** the request's x-amz-date (ISO 8601 basic), the second line of every chunk string to sign */
  amzDate: string;
  /** date/region/service/aws4_request */
  scope: string;
  seedSignature: string;
}

/**
 * How the body is bound to the request. Checksum headers (x-amz-checksum-*) are independent of
 * the plan and are checked by `bodyVerifier` whatever it is.
 */
export type PayloadPlan =
  /** nothing was claimed about the body (anonymous, OSS V1, OSS V4 without a content hash) */
  | { kind: 'none' }
  /** the signature covers this hex SHA-256 of the body: verify it while streaming */
  | { kind: 'sha256'; expected: string }
  /** the client said UNSIGNED-PAYLOAD (presigned URLs, rclone, SDK with WHEN_REQUIRED) */
  | { kind: 'unsigned' }
  /** STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: decode aws-chunked, verify every chunk signature */
  | { kind: 'aws-chunked-signed'; signing: ChunkSigning; trailer: boolean }
  /** STREAMING-UNSIGNED-PAYLOAD-TRAILER: decode aws-chunked, the trailer carries the checksum */
  | { kind: 'aws-chunked-unsigned-trailer' };

export interface AuthResult {
  principal: Principal;
  dialect: 's3' | 'oss';
  payload: PayloadPlan;
}
