/**
 * @module migrate/source
 * Where `osprey import` reads from and `osprey verify` compares with: an HTTP origin given a key
 * list (source-http) or a bucket on any S3-compatible store (source-s3). Each yields the keys as
 * the Osprey bucket stores them, opens one object as a stream, and tells its size and MD5 when it
 * can.
 */
import type { Readable } from 'node:stream';
import { encodeKeyPath } from '../codec/uri.js';

/** A key with only unreserved characters and '/': encodeKeyPath leaves it as it is. */
const PLAIN_KEY = /^[A-Za-z0-9\-._~/]*$/;

/** encodeKeyPath, without its split and per-segment work for a key it would leave as it is (most keys). */
export function keyPath(key: string): string {
  return PLAIN_KEY.test(key) ? key : encodeKeyPath(key);
}

export interface SourceItem {
  /** the key in the Osprey bucket */
  key: string;
  /** the key at the source (S3 source: with its prefix) */
  sourceKey: string;
  /** known from a listing */
  size?: number;
  /** the source's ETag without quotes, known from a listing */
  etag?: string;
  /** the source's Last-Modified as an HTTP date, known from a listing */
  lastModified?: string;
  /** why this key cannot be stored in Osprey (an S3 source may hold keys Osprey refuses) */
  invalid?: string;
}

/** An object opened at the source, with what a mirror fill would store from the answer. */
export interface Fetched {
  body: Readable;
  /** Content-Length, when the source sends one */
  size?: number;
  /** hex MD5 the source vouches for (a plain-MD5 ETag, or Content-MD5 where the rule checks it) */
  md5?: string;
  /** MIR-26 headers (lower-case names) */
  headers: Record<string, string>;
  /** MIR-27 user metadata (names without prefix); empty unless metadata is kept */
  userMeta: Record<string, string>;
  /** the URL the bytes came from (after redirects): the origin marker's URL */
  originUrl: string;
  /** the answer's validators as the source sent them (recorded with the copy) */
  etag?: string;
  lastModified?: string;
}

/** What the source says about an object without its body. */
export interface SourceFacts {
  size?: number;
  /** hex MD5, when the source gives one that is an MD5 */
  md5?: string;
  /** the raw ETag (S3 multipart ETags end in -N) */
  etag?: string;
  /** Last-Modified, an HTTP date */
  lastModified?: string;
}

export interface Source {
  /** for messages, the journal's identity and reports */
  readonly description: string;
  /** number of keys when known up front (a key list) */
  readonly total?: number;
  /** checks the source answers at all (reachable, credentials, bucket); throws FatalError */
  preflight(signal: AbortSignal): Promise<void>;
  items(): AsyncIterable<SourceItem>;
  /** throws SourceError (notFound / transient) or an SDK/network error */
  fetch(item: SourceItem, signal?: AbortSignal): Promise<Fetched>;
  facts(item: SourceItem, signal?: AbortSignal): Promise<SourceFacts>;
  close(): Promise<void>;
}

/** A hex MD5 from an ETag when it is a plain MD5 (32 hex digits; not multipart "-N", not weak). */
export function md5OfEtag(etag: string | undefined): string | undefined {
  const e = etag?.trim().replace(/^"|"$/g, '');
  return e && /^[0-9a-f]{32}$/i.test(e) ? e.toLowerCase() : undefined;
}

/** base64 Content-MD5 -> hex, when it is one. */
export function md5OfContentMd5(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const b = Buffer.from(v.trim(), 'base64');
  return b.length === 16 && b.toString('base64') === v.trim() ? b.toString('hex') : undefined;
}

/** The validators recorded with a copy in the bucket, or sent by the source now. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

/**
 * Whether the source's object is still the one that was copied, by its validators: the ETag when
 * both sides have one (weak comparison: `W/` and quotes aside), else Last-Modified (as dates).
 * 'unknown': the source sends none (or none of the kind the copy has), or the copy has none
 * recorded (copied by an older Osprey, or written by a client).
 */
export type ValidatorVerdict =
  | { kind: 'same'; by: 'ETag' | 'Last-Modified' }
  | { kind: 'changed'; detail: string }
  | { kind: 'unknown'; why: 'none-recorded' | 'none-from-source' };

export function compareValidators(recorded: Validators, now: Validators): ValidatorVerdict {
  if (recorded.etag !== undefined && now.etag !== undefined) {
    const bare = (e: string) => e.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
    if (bare(recorded.etag) === bare(now.etag)) return { kind: 'same', by: 'ETag' };
    return { kind: 'changed', detail: `the origin's ETag is now ${now.etag}; it was ${recorded.etag} when copied` };
  }
  if (recorded.lastModified !== undefined && now.lastModified !== undefined) {
    const a = Date.parse(recorded.lastModified);
    const b = Date.parse(now.lastModified);
    const same = Number.isFinite(a) && Number.isFinite(b) ? a === b : recorded.lastModified.trim() === now.lastModified.trim();
    if (same) return { kind: 'same', by: 'Last-Modified' };
    return {
      kind: 'changed',
      detail: `the origin's Last-Modified is now ${now.lastModified}; it was ${recorded.lastModified} when copied`,
    };
  }
  const recordedNone = recorded.etag === undefined && recorded.lastModified === undefined;
  const sentNone = now.etag === undefined && now.lastModified === undefined;
  return { kind: 'unknown', why: recordedNone && !sentNone ? 'none-recorded' : 'none-from-source' };
}
