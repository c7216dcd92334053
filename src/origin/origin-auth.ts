/**
 * @module origin/origin-auth
 * MIR-15: signing origin requests with a rule's MirrorAuth, for a private origin. AuthType picks
 * the scheme (the spec's [design]: AuthType values are undocumented by OSS; Osprey accepts `s3v4`,
 * `oss` and `ossv4`, plus a few spellings of each). The signers are the verifiers' own code in
 * src/auth, so what Osprey signs is exactly what an Osprey origin checks.
 */
import { createHash } from 'node:crypto';
import { signRequestOssV1 } from '../auth/oss-v1.js';
import { signRequestOssV4 } from '../auth/oss-v4.js';
import { signRequestV4 } from '../auth/sigv4.js';
import type { OriginAuth } from '../rules/mirror-auth.js';

/**
 * OSS signs /bucket/key whatever the Host says, so the signer must know them. An
 * `<bucket>.oss-….aliyuncs.com` host is virtual-hosted (bucket from the host, key = the whole
 * path); any other origin is taken as path-style (/bucket/key), as an Osprey or another
 * self-hosted store is addressed by IP or by its own name. Both decoded.
 */
export function ossBucketAndKey(url: URL): { bucket?: string; key?: string } {
  const path = url.pathname.replace(/^\//, '');
  const vhost = /^([a-z0-9][a-z0-9-]{1,61}[a-z0-9])\.oss[.-][^/]*aliyuncs\.com$/i.exec(url.hostname)?.[1];
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (vhost) return { bucket: vhost, ...(path !== '' && { key: decode(path) }) };
  if (path === '') return {};
  const slash = path.indexOf('/');
  if (slash < 0) return { bucket: decode(path) };
  const key = path.slice(slash + 1);
  return { bucket: decode(path.slice(0, slash)), ...(key !== '' && { key: decode(key) }) };
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/** The origin request's headers with the signature of `auth` added (GET/HEAD, empty body). */
export function signOriginRequest(auth: OriginAuth, method: string, url: string, headers: Record<string, string>): Record<string, string> {
  const u = new URL(url);
  const { authorization: _drop, ...rest } = headers;
  void _drop;
  const base = { ...rest, host: headers.host ?? u.host };
  const target = u.pathname + u.search;
  switch (auth.type) {
    case 's3v4':
      return signRequestV4({ method, url: target, headers: base }, auth, EMPTY_SHA256, new Date(), auth.region);
    case 'oss':
      return signRequestOssV1({ method, url: target, headers: base, ...ossBucketAndKey(u) }, auth);
    case 'ossv4':
      return signRequestOssV4({ method, url: target, headers: base, ...ossBucketAndKey(u) }, auth, auth.region);
  }
}
