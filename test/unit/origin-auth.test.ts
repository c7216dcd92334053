/**
 * MIR-15: origin requests signed with MirrorAuth, checked by Osprey's own verifiers (the same code
 * an Osprey origin runs). Pure: nothing is sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyRequest } from '../../src/auth/verify.ts';
import { S3Error } from '../../src/errors.ts';
import { ossBucketAndKey, signOriginRequest } from '../../src/origin/origin-auth.ts';
import { authTypeOf, originAuthOf } from '../../src/rules/mirror-auth.ts';
import type { OriginAuthType } from '../../src/rules/mirror-auth.ts';
import type { RoutingRule } from '../../src/rules/rules.ts';

const KEYS = { secretFor: (id: string) => (id === 'AKORIGIN' ? 'origin-secret' : undefined) };

/** What the origin's router sees: the request-target, the headers and the decoded bucket/key. */
function verifyAtOrigin(url: string, headers: Record<string, string>, bucket: string, key: string) {
  const u = new URL(url);
  return verifyRequest({ method: 'GET', url: u.pathname + u.search, headers, now: new Date(), bucket, key }, KEYS);
}

describe('MIR-15 origin signing', () => {
  const headers = { 'user-agent': 'osprey-mirror/test', 'accept-encoding': 'identity', 'x-oss-meta-pass': 'kept' };
  const cases: [OriginAuthType, RegExp][] = [
    ['s3v4', /^AWS4-HMAC-SHA256 Credential=AKORIGIN\/\d{8}\/us-east-1\/s3\/aws4_request, /],
    ['oss', /^OSS AKORIGIN:[A-Za-z0-9+/=]{28}$/],
    ['ossv4', /^OSS4-HMAC-SHA256 Credential=AKORIGIN\/\d{8}\/cn-hangzhou\/oss\/aliyun_v4_request, Signature=[0-9a-f]{64}$/],
  ];
  for (const [type, shape] of cases) {
    it(`${type}: the origin's verifier accepts it, a wrong secret is refused`, () => {
      const url = 'http://127.0.0.1:9/src-bucket/dir/a%20b%2Bc%C3%A9.txt?w=1&acl';
      const region = type === 'ossv4' ? 'cn-hangzhou' : 'us-east-1';
      const signed = signOriginRequest({ type, accessKeyId: 'AKORIGIN', secretAccessKey: 'origin-secret', region }, 'GET', url, {
        ...headers,
        authorization: 'stale',
      });
      assert.match(signed.authorization ?? '', shape);
      const r = verifyAtOrigin(url, signed, 'src-bucket', 'dir/a b+cé.txt');
      assert.deepEqual(r.principal, { kind: 'owner', accessKeyId: 'AKORIGIN' });
      assert.equal(r.dialect, type === 's3v4' ? 's3' : 'oss');
      const wrong = signOriginRequest({ type, accessKeyId: 'AKORIGIN', secretAccessKey: 'not-the-secret', region }, 'GET', url, headers);
      assert.throws(
        () => verifyAtOrigin(url, wrong, 'src-bucket', 'dir/a b+cé.txt'),
        (e: unknown) => e instanceof S3Error && e.code === 'SignatureDoesNotMatch',
      );
      // OSS signs /bucket/key: the same signature for another key is refused
      if (type !== 's3v4')
        assert.throws(() => verifyAtOrigin(url, signed, 'src-bucket', 'dir/other.txt'), /SignatureDoesNotMatch|signature/i);
    });
  }

  it('AuthType spellings; unknown ones are undefined', () => {
    assert.equal(authTypeOf(undefined), 's3v4');
    assert.equal(authTypeOf('S3V4'), 's3v4');
    assert.equal(authTypeOf('oss'), 'oss');
    assert.equal(authTypeOf('OSSV4'), 'ossv4');
    assert.equal(authTypeOf('OSS4-HMAC-SHA256'), 'ossv4');
    assert.equal(authTypeOf('kerberos'), undefined);
  });

  it('bucket and key for the OSS resource: path style, or an <bucket>.oss-<region>.aliyuncs.com host', () => {
    assert.deepEqual(ossBucketAndKey(new URL('http://10.0.0.5:9000/b/k/x%20y')), { bucket: 'b', key: 'k/x y' });
    assert.deepEqual(ossBucketAndKey(new URL('http://store.example.com/b/')), { bucket: 'b' });
    assert.deepEqual(ossBucketAndKey(new URL('https://media.oss-cn-hangzhou.aliyuncs.com/img/a.jpg')), {
      bucket: 'media',
      key: 'img/a.jpg',
    });
    assert.deepEqual(ossBucketAndKey(new URL('https://media.oss-cn-hangzhou-internal.aliyuncs.com/')), { bucket: 'media' });
  });

  it("the V4 region: MirrorAuth/Region, else the MirrorURL's oss-<region>, else us-east-1", () => {
    const rule = (url: string, auth: Record<string, string>): RoutingRule => ({
      RuleNumber: 1,
      Condition: { HttpErrorCodeReturnedEquals: 404 },
      Redirect: { RedirectType: 'Mirror', MirrorURL: url, MirrorAuth: { AccessKeyId: 'AK', AccessKeySecret: 'S', ...auth } },
    });
    assert.equal(originAuthOf(rule('https://b.oss-eu-central-1.aliyuncs.com/', { AuthType: 'ossv4' }))?.region, 'eu-central-1');
    assert.equal(
      originAuthOf(rule('https://b.oss-eu-central-1.aliyuncs.com/', { AuthType: 'ossv4', Region: 'cn-beijing' }))?.region,
      'cn-beijing',
    );
    assert.equal(originAuthOf(rule('http://127.0.0.1/', { AuthType: 'ossv4' }))?.region, 'us-east-1');
    assert.equal(originAuthOf(rule('http://127.0.0.1/', { AuthType: 'nope' })), undefined);
    assert.equal(
      originAuthOf({
        ...rule('http://127.0.0.1/', {}),
        Redirect: { RedirectType: 'Mirror', MirrorURL: 'http://127.0.0.1/', MirrorAuth: { AccessKeyId: 'AK' } },
      }),
      undefined,
    );
  });
});
