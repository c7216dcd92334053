/**
 * The ali-oss SDK (OSS dialect: signatures V1 and V4, x-oss-* headers, OSS-shaped errors) against a
 * real server. ali-oss is pointed at Osprey with `endpoint: http://localhost:PORT` and
 * `sldEnable: true`, which sends path-style /bucket/key requests.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import OSS from 'ali-oss';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';

const MIRROR_RULES = [
  {
    RuleNumber: 1,
    Condition: { KeyPrefixEquals: 'images/', HttpErrorCodeReturnedEquals: 404 },
    Redirect: {
      RedirectType: 'Mirror',
      MirrorURL: 'http://origin.example.com/',
      MirrorPassQueryString: 'true',
      MirrorCheckMd5: 'true',
      MirrorHeaders: { PassAll: 'false', Pass: ['x-request-id', 'accept'], Set: { Key: 'x-from', Value: 'osprey' } },
      MirrorAllowHeadObject: 'true',
      MirrorUsingRole: 'false',
      MirrorPassOriginalSlashes: 'false',
    },
  },
  {
    RuleNumber: 2,
    Condition: { KeySuffixEquals: '.html', HttpErrorCodeReturnedEquals: 404 },
    Redirect: { RedirectType: 'External', Protocol: 'https', HostName: 'www.example.com', HttpRedirectCode: 302, PassQueryString: 'true' },
  },
];

type Loose = Record<string, unknown>;
const makeClient = (opts: Loose): OSS => new OSS(opts as unknown as OSS.Options);

for (const v4 of [false, true]) {
  describe(`ali-oss with signature ${v4 ? 'V4' : 'V1'}`, () => {
    let server: TestServer;
    let client: OSS;
    const bucket = v4 ? 'ali-bucket-v4' : 'ali-bucket-v1';
    before(async () => {
      server = await startOsprey();
      client = makeClient({
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.secretAccessKey,
        region: 'oss-cn-hangzhou',
        bucket,
        endpoint: `http://localhost:${server.port}`,
        sldEnable: true,
        authorizationV4: v4,
        secure: false,
      });
      await client.putBucket(bucket);
    });
    after(async () => {
      await server.close();
    });

    it('puts, gets, heads, lists and deletes objects with x-oss-meta', async () => {
      const put = await client.put('dir/hello.txt', Buffer.from('hello from ali-oss'), {
        headers: { 'Content-Type': 'text/plain' },
        meta: { owner: 'ops', uid: 1 } as unknown as OSS.UserMeta,
      });
      assert.equal(put.res.status, 200);
      const got = await client.get('dir/hello.txt');
      assert.equal((got.content as Buffer).toString(), 'hello from ali-oss');
      const head = await client.head('dir/hello.txt');
      assert.equal((head.meta as Record<string, string>).owner, 'ops');
      assert.ok((head.res.headers as Loose)['x-oss-request-id']);
      const list = await client.list({ prefix: 'dir/', 'max-keys': 10 }, {});
      assert.deepEqual(
        list.objects.map((o) => o.name),
        ['dir/hello.txt'],
      );
      await client.delete('dir/hello.txt');
      await assert.rejects(client.head('dir/hello.txt'), (e: { status?: number; code?: string }) => e.status === 404);
    });

    it('ERR-01 ERR-02 errors come back OSS-shaped with EC, also on HEAD', async () => {
      await assert.rejects(client.get('missing.txt'), (e: { status?: number; code?: string; ecCode?: string }) => {
        assert.equal(e.status, 404);
        assert.equal(e.code, 'NoSuchKey');
        assert.equal(e.ecCode, '0026-00000001');
        return true;
      });
      const r = await fetch(`${server.url}/${bucket}/missing.txt`, { method: 'HEAD', headers: { 'x-oss-date': new Date().toUTCString() } });
      assert.equal(r.status, 403); // anonymous on a private bucket
      assert.ok(r.headers.get('x-oss-ec'));
      assert.match(Buffer.from(r.headers.get('x-oss-err') ?? '', 'base64').toString(), /<Code>AccessDenied<\/Code>/);
    });

    it('API-01 API-02 API-03 XML-02 puts, gets and deletes a website configuration with mirror rules', async () => {
      await client.putBucketWebsite(bucket, {
        index: 'index.html',
        error: 'error.html',
        routingRules: MIRROR_RULES,
      } as unknown as OSS.PutBucketWebsiteConfig);
      const got = await client.getBucketWebsite(bucket);
      assert.equal(got.index, 'index.html');
      assert.equal(got.error, 'error.html');
      const rules = (got as unknown as Loose).routingRules as unknown as { RuleNumber: string; Redirect: Record<string, unknown> }[];
      assert.equal(rules.length, 2);
      assert.equal(rules[0]?.RuleNumber, '1');
      assert.equal(rules[0]?.Redirect.MirrorURL, 'http://origin.example.com/');
      assert.equal(rules[0]?.Redirect.MirrorAllowHeadObject, 'true');
      assert.equal(rules[0]?.Redirect.MirrorUsingRole, 'false');
      assert.equal(rules[0]?.Redirect.MirrorFollowRedirect, 'true');
      assert.deepEqual((rules[0]?.Redirect.MirrorHeaders as { Pass: string[] }).Pass, ['x-request-id', 'accept']);
      const redirect = await fetch(`${server.url}/${bucket}/page.html?a=1`, { redirect: 'manual' });
      // a private bucket: the anonymous request is refused before any rule runs
      assert.equal(redirect.status, 403);
      await client.deleteBucketWebsite(bucket);
      await assert.rejects(client.getBucketWebsite(bucket), (e: { code?: string }) => e.code === 'NoSuchWebsiteConfiguration');
    });

    it('MAT-01 MIR-12 RED-02 the rules ali-oss configured fire for its own signed requests: Mirror (headers, MD5) and the External redirect', async () => {
      const seen: { url: string; headers: http.IncomingHttpHeaders }[] = [];
      const body = Buffer.from('mirrored for ali-oss');
      const origin = http.createServer((req, res) => {
        seen.push({ url: req.url ?? '', headers: req.headers });
        if (req.url?.startsWith('/images/a.png')) {
          res.writeHead(200, {
            'content-type': 'image/png',
            'content-length': body.length,
            'content-md5': createHash('md5').update(body).digest('base64'),
          });
          res.end(body);
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
      try {
        const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
        const rules = MIRROR_RULES.map((r) =>
          r.Redirect.RedirectType === 'Mirror' ? { ...r, Redirect: { ...r.Redirect, MirrorURL: originUrl } } : r,
        );
        await client.putBucketWebsite(bucket, { index: 'index.html', routingRules: rules } as unknown as OSS.PutBucketWebsiteConfig);
        // rule 1 (Mirror, images/): a signed GET of a missing key is fetched from the origin and stored
        const got = await client.get('images/a.png', {
          headers: { 'x-request-id': 'req-1', 'x-not-passed': 'no' },
        } as unknown as OSS.GetObjectOptions);
        assert.equal((got.content as Buffer).toString(), body.toString());
        assert.match(String((got.res.headers as Loose)['x-oss-tag']), /^MIRROR http:\/\/127\.0\.0\.1:\d+\/images\/a\.png$/);
        const asked = seen.find((s) => s.url.startsWith('/images/a.png'));
        assert.equal(asked?.headers['x-request-id'], 'req-1', 'Pass');
        assert.equal(asked?.headers['x-from'], 'osprey', 'Set');
        assert.equal(asked?.headers['x-not-passed'], undefined);
        // rule 2 (External, *.html): a signed URL of a missing page gets the 302 (not 403, not 404)
        const redirect = await fetch(client.signatureUrl('page.html', { expires: 60 }), { redirect: 'manual' });
        assert.equal(redirect.status, 302);
        assert.match(redirect.headers.get('location') ?? '', /^https:\/\/www\.example\.com\/page\.html/);
        // neither rule: plain NoSuchKey
        await assert.rejects(
          client.get('other.txt'),
          (e: { status?: number; code?: string }) => e.status === 404 && e.code === 'NoSuchKey',
        );
        await client.deleteBucketWebsite(bucket);
      } finally {
        origin.closeAllConnections();
        await new Promise((r) => origin.close(r));
      }
    });

    it('rejects an invalid rule with a message naming the rule and field', async () => {
      const bad = [
        { RuleNumber: 3, Condition: { KeyPrefixEquals: 'x/' }, Redirect: { RedirectType: 'Mirror', MirrorURL: 'http://o.example.com/' } },
      ];
      await assert.rejects(
        client.putBucketWebsite(bucket, { index: 'index.html', routingRules: bad } as unknown as OSS.PutBucketWebsiteConfig),
        (e: { status?: number; code?: string; message?: string }) => {
          assert.equal(e.status, 400);
          assert.equal(e.code, 'InvalidArgument');
          assert.match(e.message ?? '', /RoutingRule 3.*HttpErrorCodeReturnedEquals 404/);
          return true;
        },
      );
    });

    it('sets the bucket ACL with x-oss-acl; anonymous reads follow it', async () => {
      await client.put('public.txt', Buffer.from('now public'));
      await client.putBucketACL(bucket, 'public-read');
      const acl = await client.getBucketACL(bucket);
      assert.equal(acl.acl, 'public-read');
      const r = await fetch(`${server.url}/${bucket}/public.txt`);
      assert.equal(await r.text(), 'now public');
      await client.putBucketACL(bucket, 'private');
      assert.equal((await fetch(`${server.url}/${bucket}/public.txt`)).status, 403);
    });

    if (!v4) {
      it('a V1 signed URL works and a wrong secret does not', async () => {
        await client.put('signed.txt', Buffer.from('via signed url'));
        const url = client.signatureUrl('signed.txt', { expires: 60 });
        const r = await fetch(url);
        assert.equal(r.status, 200);
        assert.equal(await r.text(), 'via signed url');
        const wrong = makeClient({
          accessKeyId: server.accessKeyId,
          accessKeySecret: 'not-the-secret',
          region: 'oss-cn-hangzhou',
          bucket,
          endpoint: `http://localhost:${server.port}`,
          sldEnable: true,
        });
        await assert.rejects(
          wrong.get('signed.txt'),
          (e: { status?: number; code?: string }) => e.status === 403 && e.code === 'SignatureDoesNotMatch',
        );
      });
    }
  });
}

/**
 * Issue 18: ali-oss's three ways of addressing a bucket, each with the `serve` settings that make it
 * work (README, "Using ali-oss and other OSS clients"). The client reaches the server by its real
 * address whatever host name it builds: an agent whose lookup answers 127.0.0.1 stands in for DNS
 * (or /etc/hosts) pointing the names at Osprey.
 */
describe('ali-oss addressing modes', () => {
  const REGION_HOST = 'oss-cn-hangzhou.aliyuncs.com';
  type LookupCb = (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void;
  const toLoopback = new http.Agent({
    lookup: ((_host: string, opts: { all?: boolean }, cb: LookupCb) =>
      opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as unknown as http.AgentOptions['lookup'],
  });
  const clientFor = (server: TestServer, bucket: string, opts: Loose): OSS =>
    makeClient({
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.secretAccessKey,
      region: 'oss-cn-hangzhou',
      bucket,
      secure: false,
      agent: toLoopback,
      ...opts,
    });

  /** What the server stored, seen through a plain path-style client (the first mode). */
  const stored = async (server: TestServer, bucket: string): Promise<string[]> => {
    const plain = clientFor(server, bucket, { endpoint: `http://localhost:${server.port}`, sldEnable: true });
    return (await plain.list({ 'max-keys': 100 }, {})).objects?.map((o) => o.name) ?? [];
  };

  /**
   * A recording relay in front of the server: what the client sends (Host, path) is recorded and
   * passed on unchanged. Clients are pointed at its port.
   */
  const relay = async (server: TestServer): Promise<{ port: number; seen: { host: string; path: string }[]; close(): Promise<void> }> => {
    const seen: { host: string; path: string }[] = [];
    const front = http.createServer((req, res) => {
      seen.push({ host: req.headers.host ?? '', path: (req.url ?? '').split('?')[0] ?? '' });
      const back = http.request(
        { host: '127.0.0.1', port: server.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      back.on('error', () => res.destroy());
      req.pipe(back);
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    return {
      port: (front.address() as AddressInfo).port,
      seen,
      async close() {
        front.closeAllConnections();
        await new Promise((r) => front.close(r));
      },
    };
  };

  it('path style: sldEnable puts the bucket in the path (/bucket/key); any server, no --domain needed', async () => {
    const server = await startOsprey();
    const front = await relay(server);
    const { seen } = front;
    try {
      // by host name: the Host header is the endpoint's
      const byName = clientFor(server, 'ali-path', { endpoint: `http://localhost:${front.port}`, sldEnable: true });
      await byName.putBucket('ali-path');
      await byName.put('a/b.txt', Buffer.from('path style'));
      assert.equal(((await byName.get('a/b.txt')).content as Buffer).toString(), 'path style');
      assert.deepEqual(seen.at(-1), { host: `localhost:${front.port}`, path: '/ali-path/a/b.txt' });
      // by IP address: ali-oss rewrites Host to bucket.<region host> but keeps /bucket/ in the path
      const byIp = clientFor(server, 'ali-path', { endpoint: `http://127.0.0.1:${front.port}`, sldEnable: true });
      assert.equal(((await byIp.get('a/b.txt')).content as Buffer).toString(), 'path style');
      assert.deepEqual(seen.at(-1), { host: `ali-path.${REGION_HOST}`, path: '/ali-path/a/b.txt' });
      assert.deepEqual(await stored(server, 'ali-path'), ['a/b.txt']);
    } finally {
      await front.close();
      await server.close();
    }
  });

  it(`IP endpoint without sldEnable: the bucket only in Host (bucket.${REGION_HOST}); serve --domain ${REGION_HOST}`, async () => {
    const server = await startOsprey({ domains: [REGION_HOST] });
    const front = await relay(server);
    const { seen } = front;
    try {
      const client = clientFor(server, 'ali-ip', { endpoint: `http://127.0.0.1:${front.port}` });
      await client.putBucket('ali-ip');
      await client.put('a/b.txt', Buffer.from('bucket in Host'));
      assert.equal(((await client.get('a/b.txt')).content as Buffer).toString(), 'bucket in Host');
      assert.deepEqual(seen.at(-1), { host: `ali-ip.${REGION_HOST}`, path: '/a/b.txt' });
      assert.deepEqual(await stored(server, 'ali-ip'), ['a/b.txt']);
    } finally {
      await front.close();
      await server.close();
    }
  });

  it('virtual-hosted: a host-name endpoint without sldEnable (bucket.oss.example.test); serve --domain oss.example.test', async () => {
    const server = await startOsprey({ domains: ['oss.example.test'] });
    const front = await relay(server);
    const { seen } = front;
    try {
      const client = clientFor(server, 'ali-vhost', { endpoint: `http://oss.example.test:${front.port}` });
      await client.putBucket('ali-vhost');
      await client.put('a/b.txt', Buffer.from('virtual-hosted'));
      assert.equal(((await client.get('a/b.txt')).content as Buffer).toString(), 'virtual-hosted');
      assert.deepEqual(seen.at(-1), { host: `ali-vhost.oss.example.test:${front.port}`, path: '/a/b.txt' });
      assert.deepEqual(await stored(server, 'ali-vhost'), ['a/b.txt']);
    } finally {
      await front.close();
      await server.close();
    }
  });

  it(`cannot share one server: with --domain ${REGION_HOST}, sldEnable by IP is read as key bucket/key`, async () => {
    const server = await startOsprey({ domains: [REGION_HOST] });
    try {
      const byIp = clientFor(server, 'ali-mixed', { endpoint: `http://127.0.0.1:${server.port}` });
      await byIp.putBucket('ali-mixed');
      await byIp.put('k.txt', Buffer.from('x'));
      const sld = clientFor(server, 'ali-mixed', { endpoint: `http://127.0.0.1:${server.port}`, sldEnable: true });
      // Host names the bucket, so the path /ali-mixed/k.txt is the key 'ali-mixed/k.txt': not found
      // (or refused: ali-oss signed /ali-mixed/k.txt, Osprey checks /ali-mixed/ali-mixed/k.txt)
      await assert.rejects(sld.get('k.txt'), (e: { status?: number }) => e.status === 404 || e.status === 403);
      // a host-name endpoint with sldEnable keeps working beside it
      const byName = clientFor(server, 'ali-mixed', { endpoint: `http://localhost:${server.port}`, sldEnable: true });
      assert.equal(((await byName.get('k.txt')).content as Buffer).toString(), 'x');
    } finally {
      await server.close();
    }
  });
});
