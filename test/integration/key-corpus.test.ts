/**
 * Issue 15: a corpus of realistic keys (test/helpers/key-corpus.ts: CJK, Japanese, emoji, NFC and
 * NFD accents, `% + # ? ; & = ' "`, control characters, `..` inside names, a 1,024-byte key, NFC/NFD
 * twins) driven end to end with real clients, every answer checked byte for byte:
 * - PUT / GET / HEAD / list / copy / delete with the AWS SDK v3, keys S3 forbids refused with a 400;
 * - a mirror fill from a real origin, then anonymous and signed GET/HEAD of the stored object, its
 *   `x-oss-tag` the decoded origin URL as UTF-8 octets (MIR-34 amended), controls escaped;
 * - a redirect's `Location`, an Internal rewrite, the rule simulator (admin endpoint and CLI);
 * - `osprey import` then `osprey verify` of the same keys.
 * It runs on whichever storage driver startOsprey() picks (the S3 pass: OSPREY_TEST_DRIVER=s3).
 * Replay a failure with the seed its message names: FUZZ_SEED=<seed>.
 *
 * Also here: header values built from data that used to turn an answer into a 500 (metadata, a
 * response-* override, an origin's headers, a tag stored by an older build).
 */
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { corpusSeed, encodeKey, keyCorpus, show } from '../helpers/key-corpus.ts';
import type { CorpusKey } from '../helpers/key-corpus.ts';
import { contentFor, runCli, startOrigin } from '../helpers/migrate.ts';
import type { Origin } from '../helpers/migrate.ts';
import { ROOT, s3, startOsprey, tmpDir } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';
import { run } from '../helpers/exec.ts';

const SEED = corpusSeed();
const CORPUS = keyCorpus();
const VALID = CORPUS.filter((k) => k.refused === undefined);
const REFUSED = CORPUS.filter((k) => k.refused !== undefined);
/** concurrent requests per batch: enough to keep the run short, few enough for a 2-core machine */
const CONCURRENCY = 16;

/** `fn` over `items`, at most CONCURRENCY at a time; every failure reported with the seed. */
async function each<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (errors.length > 0) {
    const first = errors[0] as Error;
    first.message = `${errors.length} of ${items.length} failed (replay: FUZZ_SEED=${SEED}); the first: ${first.message}${
      errors.length > 1
        ? `\nnext: ${errors
            .slice(1, 4)
            .map((e) => (e as Error).message.split('\n')[0])
            .join('\n      ')}`
        : ''
    }`;
    throw first;
  }
}

/** A header's octets as sent (Node and fetch read header octets as latin1). */
const octets = (v: string | null | undefined) => (v === null || v === undefined ? undefined : Buffer.from(v, 'latin1'));
/** A string as UTF-8 octets in Node's header representation. */
const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
const pct = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
/**
 * MIR-34 (amended): the decoded URL's UTF-8 octets; what no header may carry percent-encoded:
 * controls, and spaces or tabs at the end (HTTP drops them).
 */
const tagOctets = (decodedUrl: string) =>
  Buffer.from(
    `MIRROR ${decodedUrl}`.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, pct).replace(/[ \t]+$/, (ws) => Array.from(ws, pct).join('')),
    'utf8',
  );

const bodyFor = (key: string) => Buffer.from(`${key}\n${contentFor(key, 32).toString('hex')}\n`, 'utf8');
/** the octets every metadata value carries: S3 stores them and sends them back as they came */
const META_BYTES = utf8('naïve 日本 🙂');

/** an anonymous request (a browser, a CDN), path as sent: status, headers as octets (latin1), body */
function anon(base: string, path: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    // the path exactly as given (a URL object would resolve '..' segments away)
    const req = http.request({ host: hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function poll<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** every key of a bucket, in listed order (ListObjectsV2, pages of 100) */
async function listAll(client: S3Client, bucket: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 100, ...(token && { ContinuationToken: token }) }));
    for (const o of page.Contents ?? []) out.push(o.Key ?? '');
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/**
 * The S3 storage driver's documented limit (README, "Running several nodes"): a key plus the store
 * prefix `PREFIX/b/<bucket>/o/` must fit the store's 1,024 bytes; a longer one is refused with a
 * clean 400 KeyTooLongError that names the prefix. The embedded store has no such limit.
 */
function storeLimit(err: unknown): boolean {
  return httpStatus(err) === 400 && (err as Error).name === 'KeyTooLongError' && /storage prefix/.test((err as Error).message);
}

/** S3 lists keys in UTF-8 byte order */
const byteOrder = (keys: readonly string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

describe(`key corpus: ${CORPUS.length} keys, ${REFUSED.length} of them refused (FUZZ_SEED=${SEED})`, () => {
  let server: TestServer;
  let origin: Origin;
  let client: S3Client;
  /** keys the store's key limit refuses (S3 driver only; see storeLimit) */
  const tooLongForStore = new Set<string>();

  before(async () => {
    origin = await startOrigin('/site/');
    for (const { key } of VALID) {
      origin.files.set(key, {
        body: bodyFor(key),
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          // an origin's headers as octets: UTF-8 in metadata and a file name (what real servers send)
          'x-oss-meta-src': META_BYTES,
          'content-disposition': utf8(`inline; filename="${key.split('/').pop() ?? ''}"`.replace(/[\x00-\x08\x0a-\x1f\x7f"\\]/g, '_')),
        },
      });
    }
    server = await startOsprey();
    client = s3(server);
    for (const b of ['corpus', 'copies']) await client.send(new CreateBucketCommand({ Bucket: b }));
    for (const b of ['mirror', 'redirs']) await client.send(new CreateBucketCommand({ Bucket: b, ACL: 'public-read' }));
    const mirror = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
      <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${origin.url}</MirrorURL><MirrorSaveOssMeta>true</MirrorSaveOssMeta></Redirect>
    </RoutingRule></RoutingRules></WebsiteConfiguration>`;
    const redir = `<WebsiteConfiguration><RoutingRules>
      <RoutingRule><RuleNumber>1</RuleNumber><Condition><KeyPrefixEquals>r/</KeyPrefixEquals></Condition>
        <Redirect><RedirectType>External</RedirectType><Protocol>https</Protocol><HostName>new.example.com</HostName><ReplaceKeyPrefixWith>moved/</ReplaceKeyPrefixWith><HttpRedirectCode>301</HttpRedirectCode></Redirect></RoutingRule>
      <RoutingRule><RuleNumber>2</RuleNumber><Condition><KeyPrefixEquals>i/</KeyPrefixEquals></Condition>
        <Redirect><RedirectType>Internal</RedirectType><ReplaceKeyPrefixWith>d/</ReplaceKeyPrefixWith></Redirect></RoutingRule>
    </RoutingRules></WebsiteConfiguration>`;
    for (const [bucket, xml] of [
      ['mirror', mirror],
      ['redirs', redir],
    ] as const) {
      const r = await rawSigned(server.url, { method: 'PUT', path: `/${bucket}`, query: { website: '' }, body: xml });
      assert.equal(r.status, 200, r.body);
    }
    // which long keys the store refuses (bucket names here are all 6 characters: one probe serves all)
    await client.send(new CreateBucketCommand({ Bucket: 'probes' }));
    for (const { key } of VALID.filter((k) => Buffer.byteLength(k.key) > 900)) {
      try {
        await client.send(new PutObjectCommand({ Bucket: 'probes', Key: key, Body: Buffer.from('x') }));
      } catch (err) {
        if (!storeLimit(err)) throw err;
        tooLongForStore.add(key);
      }
    }
  });
  after(async () => {
    client?.destroy();
    await server?.close();
    await origin?.close();
  });

  it('has at least 200 keys of every kind the issue names', () => {
    assert.ok(VALID.length >= 200, `${VALID.length} valid keys`);
    const all = CORPUS.map((k) => k.key);
    for (const [what, test] of [
      ['CJK', /[\u4e00-\u9fff]/],
      ['kana', /[\u3040-\u30ff]/],
      ['emoji', /\p{Extended_Pictographic}/u],
      ['NFD accent', /\u0301/],
      ['space', / /],
      ['%', /%/],
      ['+', /\+/],
      ['#', /#/],
      ['?', /\?/],
      [';', /;/],
      ['&', /&/],
      ['=', /=/],
      ["'", /'/],
      ['"', /"/],
      ['control', /[\x01-\x1f\x7f]/],
      ['..', /\.\./],
    ] as const) {
      assert.ok(
        all.some((k) => test.test(k)),
        `no ${what} key`,
      );
    }
    assert.ok(
      all.some((k) => Buffer.byteLength(k) === 1024),
      'a 1,024-byte key',
    );
    assert.ok(
      VALID.some((a) => VALID.some((b) => a.key !== b.key && a.key.normalize('NFC') === b.key.normalize('NFC'))),
      'keys that differ only in normalization',
    );
    assert.deepEqual(keyCorpus({ seed: SEED }), CORPUS, 'the same seed gives the same corpus');
  });

  it('PUT, GET, HEAD, list, copy and delete each key with the AWS SDK, byte for byte', async () => {
    const stored = VALID.filter((k) => !tooLongForStore.has(k.key));
    await each(VALID, async ({ key }) => {
      const body = bodyFor(key);
      const put = client.send(
        new PutObjectCommand({
          Bucket: 'corpus',
          Key: key,
          Body: body,
          ContentType: 'text/plain',
          Metadata: { utf8: META_BYTES, plain: 'ascii value' },
        }),
      );
      if (tooLongForStore.has(key)) {
        await assert.rejects(put, storeLimit, `${show(key)}: the store's key limit, a clean 400`);
        return;
      }
      await put;
      const got = await client.send(new GetObjectCommand({ Bucket: 'corpus', Key: key }));
      assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), `GET body of ${show(key)}`);
      assert.deepEqual(got.Metadata, { utf8: META_BYTES, plain: 'ascii value' }, `GET metadata of ${show(key)}`);
      const head = await client.send(new HeadObjectCommand({ Bucket: 'corpus', Key: key }));
      assert.equal(head.ContentLength, body.length, `HEAD of ${show(key)}`);
      assert.deepEqual(head.Metadata, { utf8: META_BYTES, plain: 'ascii value' }, `HEAD metadata of ${show(key)}`);
      await client.send(new CopyObjectCommand({ Bucket: 'copies', Key: key, CopySource: `corpus/${encodeKey(key)}` }));
      const copy = await client.send(new GetObjectCommand({ Bucket: 'copies', Key: key }));
      assert.ok(Buffer.from(await copy.Body!.transformToByteArray()).equals(body), `copy of ${show(key)}`);
      assert.deepEqual(copy.Metadata, { utf8: META_BYTES, plain: 'ascii value' }, `copied metadata of ${show(key)}`);
    });
    const expected = byteOrder(stored.map((k) => k.key));
    assert.deepEqual(await listAll(client, 'corpus'), expected, 'every key listed once, as itself, in UTF-8 byte order');
    assert.deepEqual(await listAll(client, 'copies'), expected);
    await each(stored, async ({ key }) => {
      await client.send(new DeleteObjectCommand({ Bucket: 'corpus', Key: key }));
    });
    // multi-object delete: the keys go in an XML body (control characters as character references)
    for (let i = 0; i < stored.length; i += 100) {
      const batch = stored.slice(i, i + 100);
      const r = await client.send(new DeleteObjectsCommand({ Bucket: 'copies', Delete: { Objects: batch.map((k) => ({ Key: k.key })) } }));
      assert.deepEqual(r.Errors ?? [], [], `DeleteObjects errors (FUZZ_SEED=${SEED})`);
      assert.deepEqual(
        byteOrder((r.Deleted ?? []).map((d) => d.Key ?? '')),
        byteOrder(batch.map((k) => k.key)),
        'DeleteObjects names each key as itself',
      );
    }
    assert.deepEqual(await listAll(client, 'corpus'), []);
    assert.deepEqual(await listAll(client, 'copies'), []);
  });

  it('keys S3 forbids get a clear 400, never a 500', async () => {
    await each(REFUSED, async ({ key, refused }) => {
      await assert.rejects(
        client.send(new PutObjectCommand({ Bucket: 'corpus', Key: key, Body: 'x' })),
        (err: Error) => httpStatus(err) === 400 && err.name === refused,
        `PUT ${show(key)} -> 400 ${refused}`,
      );
      for (const method of ['GET', 'HEAD', 'DELETE']) {
        const r = await rawSigned(server.url, { method, path: `/corpus/${encodeKey(key)}` });
        assert.equal(r.status, 400, `${method} ${show(key)}: ${r.body}`);
        if (method === 'GET') assert.match(r.body, new RegExp(`<Code>${refused}</Code>`));
      }
      const web = await anon(server.url, `/mirror/${encodeKey(key)}`);
      assert.equal(web.status, 400, `anonymous GET ${show(key)}`);
    });
  });

  it('a mirror fill, then anonymous and signed GET/HEAD: body, metadata and x-oss-tag byte for byte', async () => {
    await each(VALID, async ({ key }) => {
      const url = `/mirror/${encodeKey(key)}`;
      const tag = tagOctets(origin.url + key);
      const first = await anon(server.url, url);
      assert.equal(first.status, 200, `fill of ${show(key)}: ${first.body.toString()}`);
      assert.ok(first.body.equals(bodyFor(key)), `fill body of ${show(key)}`);
      assert.deepEqual(octets(first.headers['x-oss-tag'] as string), tag, `fill x-oss-tag of ${show(key)}`);
      // a key the store cannot hold is served from the origin and not kept
      if (tooLongForStore.has(key)) return;
      await poll(
        async () =>
          (await rawSigned(server.url, { method: 'HEAD', path: `/mirror/${encodeKey(key)}` })).status === 200 ? true : undefined,
        `the fill of ${show(key)} to be stored`,
      );
      for (const method of ['GET', 'HEAD']) {
        const a = await anon(server.url, url, method);
        assert.equal(a.status, 200, `anonymous ${method} ${show(key)}`);
        assert.deepEqual(octets(a.headers['x-oss-tag'] as string), tag, `anonymous ${method} x-oss-tag of ${show(key)}`);
        assert.equal(a.headers['x-amz-meta-src'], META_BYTES, `anonymous ${method} metadata of ${show(key)}`);
        assert.equal(
          a.headers['content-disposition'],
          origin.files.get(key)?.headers?.['content-disposition'],
          `content-disposition of ${show(key)}`,
        );
        if (method === 'GET') assert.ok(a.body.equals(bodyFor(key)), `anonymous GET body of ${show(key)}`);
        const s = await rawSigned(server.url, { method, path: `/mirror/${encodeKey(key)}` });
        assert.equal(s.status, 200, `signed ${method} ${show(key)}: ${s.body}`);
        assert.deepEqual(octets(s.headers['x-oss-tag'] as string), tag, `signed ${method} x-oss-tag of ${show(key)}`);
        assert.equal(s.headers['x-amz-meta-src'], META_BYTES, `signed ${method} metadata of ${show(key)}`);
        if (method === 'GET') assert.equal(s.body, bodyFor(key).toString('utf8'), `signed GET body of ${show(key)}`);
      }
    });
    for (const { key } of VALID) if (!tooLongForStore.has(key)) assert.equal(origin.hits.get(key), 1, `one origin fetch for ${show(key)}`);
  });

  it('a redirect Location is the new key percent-encoded (RFC 3986, UTF-8); the simulator says the same', async () => {
    await each(VALID, async ({ key }) => {
      const k = `r/${key}`;
      const r = await anon(server.url, `/redirs/${encodeKey(k)}`);
      if (Buffer.byteLength(k) > 1024) {
        assert.equal(r.status, 400, `${show(k)} is too long`);
        return;
      }
      assert.equal(r.status, 301, `redirect of ${show(k)}`);
      assert.equal(r.headers.location, `https://new.example.com/moved/${encodeKey(key)}`, `Location of ${show(k)}`);
      const sim = await rawSigned(server.url, {
        method: 'POST',
        path: '/-/rules/explain',
        body: JSON.stringify({ bucket: 'redirs', key: k }),
      });
      assert.equal(sim.status, 200, sim.body);
      const j = JSON.parse(sim.body) as { outcome: { kind: string; location?: string } };
      assert.equal(j.outcome.kind, 'redirect');
      assert.equal(j.outcome.location, r.headers.location, `the simulator's Location for ${show(k)}`);
      const m = await rawSigned(server.url, {
        method: 'POST',
        path: '/-/rules/explain',
        body: JSON.stringify({ bucket: 'mirror', key, status: 404 }),
      });
      const plan = (JSON.parse(m.body) as { outcome: { kind: string; plan?: { urls: string[] } } }).outcome;
      assert.equal(plan.kind, 'mirror', `simulated mirror of ${show(key)}`);
      assert.equal(plan.plan?.urls[0], origin.url + encodeKey(key), `the simulator's origin URL for ${show(key)}`);
    });
  });

  it('the simulator CLI prints the Location and escapes control characters', async () => {
    const env = { ...process.env, OSPREY_ACCESS_KEY_ID: server.accessKeyId, OSPREY_SECRET_ACCESS_KEY: server.secretAccessKey };
    for (const key of ['r/日本語 🙂 ctl\x1b[31m\x07.txt']) {
      const { stdout } = await run(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(ROOT, 'src/main.ts'),
          'rules',
          'explain',
          '--endpoint',
          server.url,
          '--bucket',
          'redirs',
          '--key',
          key,
        ],
        { cwd: ROOT, env },
      );
      assert.ok(stdout.includes(`Location: https://new.example.com/moved/${encodeKey(key.slice(2))}`), stdout);
      assert.doesNotMatch(stdout, /[\x00-\x08\x0b-\x1f\x7f]/, 'no control character reaches the terminal');
    }
  });

  it('an Internal rewrite serves the new key, byte for byte', async () => {
    await each(VALID, async ({ key }) => {
      if (Buffer.byteLength(`i/${key}`) > 1024) return;
      try {
        await client.send(new PutObjectCommand({ Bucket: 'redirs', Key: `d/${key}`, Body: bodyFor(key) }));
      } catch (err) {
        if (storeLimit(err)) return;
        throw err;
      }
      const r = await anon(server.url, `/redirs/${encodeKey(`i/${key}`)}`);
      assert.equal(r.status, 200, `Internal rewrite of ${show(key)}`);
      assert.ok(r.body.equals(bodyFor(key)), `rewritten body of ${show(key)}`);
    });
  });

  it('osprey import then osprey verify: every key copied with the tag a fill would store; verify at parity', async () => {
    // a key list has one key per line: a key with CR or LF cannot be listed
    const listed = VALID.filter((k: CorpusKey) => !/[\r\n]/.test(k.key) && !tooLongForStore.has(k.key));
    const dir = await tmpDir('osprey-corpus-');
    const keyFile = path.join(dir, 'keys.txt');
    await writeFile(keyFile, `${listed.map((k) => k.key).join('\n')}\n`);
    await client.send(new CreateBucketCommand({ Bucket: 'import' }));
    const common = ['--endpoint', server.url, '--bucket', 'import', '--origin', origin.url, '--keys', keyFile, '--log-interval', '0'];
    const imp = await runCli(['import', ...common, '--concurrency', '8'], { cwd: dir });
    assert.equal(imp.code, 0, `import (FUZZ_SEED=${SEED}): ${imp.stdout}${imp.stderr}`);
    const ver = await runCli(['verify', ...common], { cwd: dir });
    assert.equal(ver.code, 0, `verify (FUZZ_SEED=${SEED}): ${ver.stdout}${ver.stderr}`);
    await each(listed, async ({ key }) => {
      const r = await rawSigned(server.url, { method: 'GET', path: `/import/${encodeKey(key)}` });
      assert.equal(r.status, 200, `imported ${show(key)}: ${r.body}`);
      assert.equal(r.body, bodyFor(key).toString('utf8'), `imported body of ${show(key)}`);
      assert.deepEqual(octets(r.headers['x-oss-tag'] as string), tagOctets(origin.url + key), `imported x-oss-tag of ${show(key)}`);
      assert.equal(
        r.headers['content-disposition'],
        origin.files.get(key)?.headers?.['content-disposition'],
        `imported content-disposition of ${show(key)}`,
      );
    });
    assert.deepEqual(await listAll(client, 'import'), byteOrder(listed.map((k) => k.key)));
  });
});

describe('header values built from data never turn an answer into a 500 (issue 15 defect 1)', () => {
  let server: TestServer;
  let origin: Origin;
  let client: S3Client;
  const returned = '日本 🙂 naïve';
  before(async () => {
    origin = await startOrigin('/site/');
    server = await startOsprey();
    client = s3(server);
    await client.send(new CreateBucketCommand({ Bucket: 'hvals', ACL: 'public-read' }));
    const xml = `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber>
      <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${origin.url}</MirrorURL>
        <MirrorHeaders><Set><Key>x-sent</Key><Value>${returned}</Value></Set></MirrorHeaders>
        <MirrorReturnHeaders><ReturnHeader><Key>x-oss-meta-returned</Key><Value>${returned}</Value></ReturnHeader></MirrorReturnHeaders></Redirect>
    </RoutingRule></RoutingRules></WebsiteConfiguration>`;
    const r = await rawSigned(server.url, { method: 'PUT', path: '/hvals', query: { website: '' }, body: xml });
    assert.equal(r.status, 200, r.body);
    // the same rule without MirrorReturnHeaders
    await client.send(new CreateBucketCommand({ Bucket: 'hvplain', ACL: 'public-read' }));
    const plain = await rawSigned(server.url, {
      method: 'PUT',
      path: '/hvplain',
      query: { website: '' },
      body: xml.replace(/<MirrorReturnHeaders>.*<\/MirrorReturnHeaders>/s, ''),
    });
    assert.equal(plain.status, 200, plain.body);
  });
  after(async () => {
    client?.destroy();
    await server?.close();
    await origin?.close();
  });

  it('a mirrored 日本語.txt, `photo 🙂.css` and NFD café.txt read back with the tag as UTF-8, on the fill and after', async () => {
    for (const key of ['日本語.txt', 'photo 🙂.css', 'cafe\u0301.txt', 'été.txt']) {
      origin.files.set(key, { body: Buffer.from(`body of ${key}`) });
      for (const round of ['fill', 'stored GET', 'stored HEAD']) {
        const r = await anon(server.url, `/hvals/${encodeKey(key)}`, round === 'stored HEAD' ? 'HEAD' : 'GET');
        assert.equal(r.status, 200, `${round} of ${show(key)}: ${r.body.toString()}`);
        assert.deepEqual(
          octets(r.headers['x-oss-tag'] as string),
          Buffer.from(`MIRROR ${origin.url}${key}`),
          `${round} tag of ${show(key)}`,
        );
        assert.equal(
          r.headers['x-oss-meta-returned'] ?? r.headers['x-amz-meta-returned'],
          utf8(returned),
          `${round}: MirrorReturnHeaders text as UTF-8`,
        );
        if (round === 'fill')
          await poll(
            async () =>
              (await rawSigned(server.url, { method: 'HEAD', path: `/hvals/${encodeKey(key)}` })).status === 200 ? true : undefined,
            'the fill',
          );
      }
    }
  });

  it('a MirrorHeaders Set value in CJK reaches the origin as its UTF-8 octets (the fill used to fail: 424)', async () => {
    origin.files.set('sent.txt', { body: Buffer.from('sent') });
    const r = await anon(server.url, '/hvals/sent.txt');
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(origin.seen.get('sent.txt')?.['x-sent'], utf8(returned));
  });

  it('a tag as stored by the build before the fix (text with CJK) reads correctly: no new origin fetch', async () => {
    // the import's origin marker stores the same text a fill stored: `MIRROR <decoded URL>`
    const put = await rawSigned(server.url, {
      method: 'PUT',
      path: '/hvals/old.txt',
      headers: { 'x-osprey-mirror-source': 'http://o.example/%E6%97%A5%E6%9C%AC/%F0%9F%99%82%20x.txt' },
      body: 'kept',
    });
    assert.equal(put.status, 200, put.body);
    for (const method of ['GET', 'HEAD']) {
      const r = await rawSigned(server.url, { method, path: '/hvals/old.txt' });
      assert.equal(r.status, 200, `${method}: ${r.body}`);
      assert.deepEqual(octets(r.headers['x-oss-tag'] as string), Buffer.from('MIRROR http://o.example/日本/🙂 x.txt'));
    }
  });

  it('user metadata octets that hold 0xA0 (voilà, 報告) are signed and returned as sent (SigV4 trims ASCII spaces only)', async () => {
    const meta = { a: utf8('voilà'), b: utf8('報告'), c: utf8(' à ') };
    // a Buffer body: with a string body Node writes the request head as UTF-8 (a client quirk, not the server's)
    await client.send(new PutObjectCommand({ Bucket: 'hvals', Key: 'meta.txt', Body: Buffer.from('x'), Metadata: meta }));
    const h = await client.send(new HeadObjectCommand({ Bucket: 'hvals', Key: 'meta.txt' }));
    assert.deepEqual(h.Metadata, { a: utf8('voilà'), b: utf8('報告'), c: utf8('à') });
  });

  it('a response-content-disposition override with a UTF-8 file name goes out as its UTF-8 octets', async () => {
    const cd = 'attachment; filename="日本 上.txt"';
    await client.send(new PutObjectCommand({ Bucket: 'hvplain', Key: 'override.txt', Body: Buffer.from('x') }));
    const r = await rawSigned(server.url, { method: 'GET', path: '/hvplain/override.txt', query: { 'response-content-disposition': cd } });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers['content-disposition'], utf8(cd));
  });

  it("an origin's UTF-8 Content-Disposition of a small stored object keeps its octets (上 holds 0x0A in its code point)", async () => {
    const cd = utf8('inline; filename="上海 été.txt"');
    origin.files.set('cd.txt', { body: Buffer.from('small'), headers: { 'content-disposition': cd } });
    const fill = await anon(server.url, '/hvplain/cd.txt');
    assert.equal(fill.status, 200);
    await poll(
      async () => ((await rawSigned(server.url, { method: 'HEAD', path: '/hvplain/cd.txt' })).status === 200 ? true : undefined),
      'the fill',
    );
    for (const method of ['GET', 'HEAD']) {
      const r = await anon(server.url, '/hvplain/cd.txt', method);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-disposition'], cd, `${method}: the stored octets, not Node's re-decoding`);
    }
  });
});
