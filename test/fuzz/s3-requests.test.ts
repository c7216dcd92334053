/**
 * Fuzz the request logic around objects: conditional headers (RFC 9110 §13.2.2 evaluation order),
 * x-amz-copy-source parsing, user metadata through a real server (PUT then HEAD), and
 * ListObjectsV2 continuation tokens through a real server (every key exactly once, in UTF-8 byte
 * order, whatever the page size). Properties, not "does not throw": each compares with a model.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Ctx } from '../../src/http/context.ts';
import { parseCopySource } from '../../src/http/handlers/object-write.ts';
import { checkConditions } from '../../src/http/respond.ts';
import { S3Error } from '../../src/errors.ts';
import type { ObjectInfo } from '../../src/storage/driver.ts';
import { startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';
import { rawSigned } from '../helpers/raw.ts';
import { fuzz, resultOrS3Error } from './budget.ts';

// ---------------------------------------------------------------------------------------------
// conditional headers

const ETAG = 'd41d8cd98f00b204e9800998ecf8427e';
const OTHER = '0cc175b9c0f1b6a831c399e269772661';

/** An entity-tag list as clients write it: quoted or not, weak or not, with spaces, '*'. */
const tagList = fc
  .array(
    fc.record({
      tag: fc.constantFrom(ETAG, OTHER, '*'),
      quoted: fc.boolean(),
      weak: fc.boolean(),
      pad: fc.constantFrom('', ' ', '  '),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((items) => ({
    text: items
      .map(({ tag, quoted, weak, pad }) => pad + (tag === '*' ? '*' : `${weak ? 'W/' : ''}${quoted ? `"${tag}"` : tag}`))
      .join(','),
    matches: items.some(({ tag }) => tag === '*' || tag === ETAG),
  }));

const LM = Date.UTC(2026, 5, 1, 12, 0, 0) + 700; // stored with milliseconds; HTTP dates have seconds
/** A date header: an HTTP-date a few seconds around Last-Modified, or text that is no date. */
const dateHeader = fc.oneof(
  fc.integer({ min: -3, max: 3 }).map((s) => ({ text: new Date(LM - 700 + s * 1000).toUTCString(), seconds: Math.floor(LM / 1000) + s })),
  fc.constantFrom('yesterday', '', 'Mon, 99 Foo 2026 00:00:00 GMT').map((text) => ({ text, seconds: undefined })),
);

type Outcome = 'ok' | 412 | 304;

/** RFC 9110 §13.2.2: If-Match, else If-Unmodified-Since (412); then If-None-Match, else If-Modified-Since (304 for GET/HEAD). */
function model(h: {
  ifMatch?: { matches: boolean };
  ifNoneMatch?: { matches: boolean };
  ius?: { seconds: number | undefined };
  ims?: { seconds: number | undefined };
}): Outcome {
  const lm = Math.floor(LM / 1000);
  if (h.ifMatch) {
    if (!h.ifMatch.matches) return 412;
  } else if (h.ius?.seconds !== undefined && lm > h.ius.seconds) return 412;
  if (h.ifNoneMatch) {
    if (h.ifNoneMatch.matches) return 304;
  } else if (h.ims?.seconds !== undefined && lm <= h.ims.seconds) return 304;
  return 'ok';
}

describe('fuzz: conditional GET headers', () => {
  it('checkConditions answers as RFC 9110 §13.2.2 orders the four headers', async () => {
    const info = {
      bucket: 'b',
      key: 'k',
      size: 0,
      etag: ETAG,
      lastModified: new Date(LM),
      meta: { headers: {}, userMeta: {}, system: {} },
    } as ObjectInfo;
    await fuzz(
      fc.property(fc.record({ ifMatch: tagList, ifNoneMatch: tagList, ius: dateHeader, ims: dateHeader }, { requiredKeys: [] }), (h) => {
        const headers: Record<string, string> = {};
        if (h.ifMatch) headers['if-match'] = h.ifMatch.text;
        if (h.ifNoneMatch) headers['if-none-match'] = h.ifNoneMatch.text;
        if (h.ius) headers['if-unmodified-since'] = h.ius.text;
        if (h.ims) headers['if-modified-since'] = h.ims.text;
        const ctx = { req: { headers } } as unknown as Ctx;
        let got: Outcome = 'ok';
        try {
          checkConditions(ctx, info);
        } catch (err) {
          assert.ok(err instanceof S3Error, String(err));
          assert.ok(err.status === 412 || err.status === 304, `${err.code} ${err.status}`);
          got = err.status;
        }
        assert.equal(got, model(h), JSON.stringify(headers));
      }),
      { ms: 800, minRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// copy source

const bucketName = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}[a-z0-9]$/);
const keyPiece = fc.oneof(
  fc.constantFrom('/', '%', '+', '?', '#', '&', '=', ' ', 'a', 'é', '😀', '..x', '~', "'", '(', '*', '\\', '%2F'),
  fc.string({ unit: 'grapheme', maxLength: 3 }),
);
const objectKey = fc
  .array(keyPiece, { minLength: 1, maxLength: 10 })
  .map((p) => p.join(''))
  .filter(
    (k) =>
      k.length > 0 &&
      k.isWellFormed() &&
      !k.includes('\0') &&
      Buffer.byteLength(k) <= 1024 &&
      k.split('/').every((s) => s !== '.' && s !== '..'),
  );

describe('fuzz: x-amz-copy-source', () => {
  it('bucket/key encoded as clients encode it (segments or whole, leading slash or not, a versionId) parses back to exactly that bucket and key', async () => {
    await fuzz(
      fc.property(
        bucketName,
        objectKey,
        fc.constantFrom('segments', 'whole'),
        fc.boolean(),
        fc.boolean(),
        (bucket, key, style, slash, version) => {
          const encoded = style === 'whole' ? encodeURIComponent(key) : key.split('/').map(encodeURIComponent).join('/');
          const raw = `${slash ? '/' : ''}${bucket}/${encoded}${version ? '?versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY' : ''}`;
          const r = resultOrS3Error(() => parseCopySource(raw));
          assert.ok(r.ok, `${raw}: ${r.ok ? '' : r.err.message}`);
          assert.deepEqual(r.value, { bucket, key });
        },
      ),
      { ms: 800, minRuns: 200 },
    );
  });

  it('any text: a bucket and a valid key, or a client error', async () => {
    await fuzz(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 40 }),
          fc
            .array(fc.constantFrom('/', '%', '%2', '%FF', '?', 'a', 'bkt', '..', '.', '%00', '%2F'), { maxLength: 12 })
            .map((p) => p.join('')),
        ),
        (raw) => {
          const r = resultOrS3Error(() => parseCopySource(raw));
          if (r.ok) {
            assert.ok(r.value.key.length > 0 && !r.value.key.includes('\0'));
            assert.ok(r.value.key.split('/').every((s) => s !== '.' && s !== '..'));
          }
        },
      ),
      { ms: 600, minRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// through a real server: user metadata, list continuation

describe('fuzz over HTTP: user metadata and list continuation tokens', () => {
  let server: TestServer;
  let n = 0;
  before(async () => {
    server = await startOsprey();
  });
  after(async () => {
    await server.close();
  });

  /** header-safe text: visible ASCII and Latin-1, inner spaces and tabs (a header value's edges are trimmed by HTTP) */
  const metaValue = fc
    .array(fc.oneof(fc.constantFrom(' ', '\t', 'é', 'ÿ', '"', ',', ';', '=', '%'), fc.string({ unit: 'grapheme-ascii', maxLength: 4 })), {
      maxLength: 8,
    })
    .map((p) =>
      p
        .join('')
        .replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '')
        .trim(),
    );
  const metaName = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,15}$/);

  it('x-amz-meta-* sent on PUT come back on HEAD exactly (names lower-cased), or the PUT is refused as too large', async () => {
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/meta-fuzz' })).status, 200);
    await fuzz(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(metaName, metaValue), { maxLength: 5, selector: ([k]) => k }),
        fc.boolean(),
        async (entries, upper) => {
          const key = `m${n++}`;
          const headers: Record<string, string> = {};
          for (const [k, v] of entries) headers[`x-amz-meta-${upper ? k.toUpperCase() : k}`] = v;
          const put = await rawSigned(server.url, { method: 'PUT', path: `/meta-fuzz/${key}`, body: 'x', headers });
          const size = entries.reduce((s, [k, v]) => s + k.length + Buffer.byteLength(v, 'latin1'), 0);
          if (put.status !== 200) {
            assert.equal(put.status, 400, put.body);
            assert.ok(size > 2048, `refused ${JSON.stringify(entries)}: ${put.body}`);
            return;
          }
          const head = await rawSigned(server.url, { method: 'HEAD', path: `/meta-fuzz/${key}` });
          const back = Object.fromEntries(
            Object.entries(head.headers)
              .filter(([k]) => k.startsWith('x-amz-meta-'))
              .map(([k, v]) => [k.slice(11), String(v)]),
          );
          assert.deepEqual(back, Object.fromEntries(entries.map(([k, v]) => [k, v])));
        },
      ),
      { ms: 1200, minRuns: 20 },
    );
  });

  // keys whose UTF-8 order differs from JavaScript's UTF-16 order (an astral character against U+E000..U+FFFD)
  const ALPHABET = ['a', 'b', '/', 'é', '😀', '\ue000', '\uff5e', 'z', '-'];
  const keySet = fc
    .uniqueArray(
      fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 4 }).map((p) => p.join('')),
      { minLength: 1, maxLength: 12 },
    )
    .map((ks) => ks.filter((k) => k.split('/').every((s) => s !== '.' && s !== '..')))
    .filter((ks) => ks.length > 0);
  const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

  function unescapeXml(s: string): string {
    return s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  }

  it('paging with continuation tokens lists every key (or common prefix) exactly once, in UTF-8 byte order, at most max-keys a page', async () => {
    await fuzz(
      fc.asyncProperty(
        keySet,
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom('', 'a', 'b', '😀'),
        fc.boolean(),
        async (keys, maxKeys, prefix, useDelimiter) => {
          const bucket = `list-fuzz-${n++}`;
          assert.equal((await rawSigned(server.url, { method: 'PUT', path: `/${bucket}` })).status, 200);
          for (const k of keys)
            assert.equal(
              (await rawSigned(server.url, { method: 'PUT', path: `/${bucket}/${encodeURIComponent(k).replace(/%2F/g, '/')}`, body: k }))
                .status,
              200,
            );
          // the model: S3 orders keys by their UTF-8 bytes; a delimiter rolls keys up into common prefixes
          const entries = new Set<string>();
          for (const k of keys.filter((x) => x.startsWith(prefix))) {
            const cut = useDelimiter ? k.indexOf('/', prefix.length) : -1;
            entries.add(cut < 0 ? k : k.slice(0, cut + 1));
          }
          const want = [...entries].sort(utf8Order);
          const got: string[] = [];
          let token: string | undefined;
          for (let page = 0; page < 40; page++) {
            const query: Record<string, string> = {
              'list-type': '2',
              'max-keys': String(maxKeys),
              prefix,
              ...(useDelimiter && { delimiter: '/' }),
              ...(token !== undefined && { 'continuation-token': token }),
            };
            const r = await rawSigned(server.url, { path: `/${bucket}`, query });
            assert.equal(r.status, 200, r.body);
            const items = [
              ...[...r.body.matchAll(/<Contents><Key>([^<]*)<\/Key>/g)].map((m) => unescapeXml(m[1] ?? '')),
              ...[...r.body.matchAll(/<CommonPrefixes><Prefix>([^<]*)<\/Prefix>/g)].map((m) => unescapeXml(m[1] ?? '')),
            ].sort(utf8Order);
            assert.ok(items.length <= maxKeys, `a page of ${items.length} > max-keys ${maxKeys}`);
            got.push(...items);
            if (!r.body.includes('<IsTruncated>true</IsTruncated>')) break;
            token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(r.body)?.[1];
            assert.ok(token, 'a truncated page names its continuation');
          }
          assert.deepEqual(got, want);
        },
      ),
      { ms: 1500, minRuns: 15 },
    );
  });

  it('any continuation token: a page or 400 InvalidArgument, never a server error', async () => {
    assert.equal((await rawSigned(server.url, { method: 'PUT', path: '/token-fuzz' })).status, 200);
    await fuzz(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 30 }),
          fc.base64String({ maxLength: 40 }),
          fc.string({ unit: 'binary', maxLength: 20 }).map((s) => Buffer.from(s).toString('base64url')),
        ),
        async (token) => {
          const r = await rawSigned(server.url, { path: '/token-fuzz', query: { 'list-type': '2', 'continuation-token': token } });
          assert.ok(
            r.status === 200 || (r.status === 400 && /<Code>InvalidArgument<\/Code>/.test(r.body)),
            `${JSON.stringify(token)}: ${r.status} ${r.body}`,
          );
        },
      ),
      { ms: 600, minRuns: 30 },
    );
  });
});
