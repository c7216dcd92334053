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

/** What SigV4 chunk signatures chain from. */
export interface ChunkSigning {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

export type PayloadPlan =
  | { kind: 'unsigned' }
  | { kind: 'sha256'; expected: string }
  | { kind: 'aws-chunked-signed'; signing: ChunkSigning; trailer: boolean }
  | { kind: 'aws-chunked-unsigned-trailer' };

export interface AuthResult {
  principal: Principal;
  dialect: 's3' | 'oss';
  payload: PayloadPlan;
}
