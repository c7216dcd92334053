import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { verifyRequest } from '../../src/auth/verify.ts';
import type { KeyStore } from '../../src/auth/types.ts';
import { uriEncode } from '../../src/auth/encoding.ts';
import { S3Error } from '../../src/errors.ts';

const AK = 'AKIDTESTOSPREY';
const SK = 'secret/Key+With=Chars';
const keys: KeyStore = { secretFor: (id) => (id === AK ? SK : undefined) };
const NOW = new Date('2024-03-01T12:00:00Z');

const signer = new SignatureV4({ credentials: { accessKeyId: AK, secretAccessKey: SK }, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false });

describe('auth sigv4: smoke', () => {
  it('anonymous request', () => {
    const r = verifyRequest({ method: 'GET', url: '/b/k', headers: { host: 'localhost' }, now: NOW }, keys);
    assert.deepEqual(r.principal, { kind: 'anonymous' });
  });
  it('signed GET verifies', async () => {
    const signed = await signer.sign({ method: 'GET', protocol: 'http:', hostname: 'localhost', path: '/b/k', query: {}, headers: { host: 'localhost', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, { signingDate: NOW });
    const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const r = verifyRequest({ method: 'GET', url: '/b/k', headers, now: NOW }, keys);
    assert.deepEqual(r.principal, { kind: 'owner', accessKeyId: AK });
    assert.ok(uriEncode('a', false) === 'a' && S3Error);
  });
});
