/**
 * @module rules/mirror-auth
 * MIR-15: what a rule's MirrorAuth means: the AuthType spellings Osprey accepts and the signing
 * setting a rule gives (origin/origin-auth signs with it). Pure: no I/O.
 */
import type { RoutingRule } from './model.js';

/** AWS SigV4 (service s3); OSS V1 (HMAC-SHA1, `Authorization: OSS ak:sig`); OSS V4 (OSS4-HMAC-SHA256). */
export type OriginAuthType = 's3v4' | 'oss' | 'ossv4';

export interface OriginAuth {
  type: OriginAuthType;
  accessKeyId: string;
  secretAccessKey: string;
  /** the V4 signing region (s3v4, ossv4); OSS V1 has none */
  region: string;
}

const SPELLINGS: Record<string, OriginAuthType> = {
  '': 's3v4',
  s3v4: 's3v4',
  sigv4: 's3v4',
  aws4: 's3v4',
  awsv4: 's3v4',
  'aws4-hmac-sha256': 's3v4',
  s3: 's3v4',
  oss: 'oss',
  ossv1: 'oss',
  'oss-v1': 'oss',
  ossv4: 'ossv4',
  oss4: 'ossv4',
  'oss-v4': 'ossv4',
  'oss4-hmac-sha256': 'ossv4',
};

/** The scheme an AuthType names (absent or empty: s3v4, as before OSS signing existed), or undefined. */
export function authTypeOf(v: string | undefined): OriginAuthType | undefined {
  return SPELLINGS[(v ?? '').trim().toLowerCase()];
}

/** The AuthType values accepted, for messages. */
export const AUTH_TYPES = 's3v4, oss or ossv4';

/**
 * The rule's MirrorAuth as a signing setting, or undefined when it has no usable key pair.
 * Region: MirrorAuth/Region; for ossv4 without one, the region in an `oss-<region>.aliyuncs.com`
 * MirrorURL; else us-east-1.
 */
export function originAuthOf(rule: RoutingRule): OriginAuth | undefined {
  const ma = rule.Redirect.MirrorAuth;
  if (!ma?.AccessKeyId || !ma.AccessKeySecret) return undefined;
  const type = authTypeOf(ma.AuthType);
  if (type === undefined) return undefined;
  const fromHost = /(?:^|\.)oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$/i.exec(hostOf(rule.Redirect.MirrorURL))?.[1];
  const region = ma.Region || (type === 'ossv4' && fromHost ? fromHost : 'us-east-1');
  return { type, accessKeyId: ma.AccessKeyId, secretAccessKey: ma.AccessKeySecret, region };
}

function hostOf(url: string | undefined): string {
  try {
    return new URL(url ?? '').hostname;
  } catch {
    return '';
  }
}
