/**
 * Fuzz: XML request bodies (src/http/xml.ts readCapped + parseXml, and the parsers built on it:
 * DeleteObjects in src/http/handlers/bucket.ts, CompleteMultipartUpload in
 * src/http/handlers/multipart.ts, PutBucketWebsite's parseWebsiteXml in src/origin/rules.ts).
 * Whatever the body, the outcome is a parsed value or an S3Error that blames the client (4xx),
 * never another exception (which the server would answer as a 500); bodies over the cap and
 * nesting over 32 levels are refused.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Ctx } from '../../src/http/context.ts';
import type { Deps } from '../../src/http/deps.ts';
import { BucketService } from '../../src/service/buckets.ts';
import { MultipartService } from '../../src/service/multipart.ts';
import { ObjectService } from '../../src/service/objects.ts';
import type { StorageDriver } from '../../src/storage/driver.ts';
import { deleteObjects } from '../../src/http/handlers/bucket.ts';
import { completeMultipartUpload } from '../../src/http/handlers/multipart.ts';
import { parseXml, readCapped } from '../../src/codec/xml.ts';
import { parseWebsiteXml } from '../../src/rules/rules.ts';
import { validateObjectKey } from '../../src/service/names.ts';
import { fuzz, resultOrS3Error, resultOrS3ErrorAsync, settlesWithin } from './budget.ts';

const FIXTURES = new URL('../fixtures/website/', import.meta.url);
/** documentation and client samples (AWS, OSS, aws CLI, ali-oss, Go SDK): seeds for mutation */
const WEBSITE_SAMPLES = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.xml') && !f.endsWith('.get.xml'))
  .map((f) => readFileSync(new URL(f, FIXTURES), 'utf8'));

// ---- generators ------------------------------------------------------------------------------

/** element names: ASCII, non-ASCII, namespaced, and names that are JavaScript object keys */
const elementName = fc.oneof(
  fc.constantFrom('Delete', 'Object', 'Key', 'Quiet', 'Part', 'PartNumber', 'ETag', 'a', 'b', '_x', 'x-y', 'é', 'Ωmega', 's3:Key', ':a'),
  fc.constantFrom('constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,8}$/),
);

/** characters XML 1.0 allows (§2.2 Char), so a generated document is well-formed */
const xmlChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom('\t', '\n', '\r', ' ', '&', '<', '>', '"', "'", ']]>', 'é', '€', '😀', '\uFEFF', '\uFFFD') },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: 'binary', minLength: 1, maxLength: 1 })
      .filter((c) => /^[\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]$/u.test(c)),
  },
);
const xmlText = fc.array(xmlChar, { maxLength: 24 }).map((c) => c.join(''));

/** escape text content; \r as a reference, since a raw one would be read as a line end */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}
/** text as it may be written: escaped, as a CDATA section, or with numeric references */
const writeText = (s: string) =>
  fc
    .constantFrom<(s: string) => string>(
      esc,
      (t) => (t.includes(']]>') ? esc(t) : `<![CDATA[${t}]]>`.replace(/\r/g, ']]>&#13;<![CDATA[')),
      (t) => [...t].map((c) => (/[A-Za-z0-9]/.test(c) ? c : `&#x${c.codePointAt(0)!.toString(16)};`)).join(''),
    )
    .map((f) => f(s));

interface Tree {
  name: string;
  attr: string;
  kids: (Tree | string)[];
}
const attribute = fc.oneof(
  fc.constant(''),
  fc.constantFrom(' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"', ' a="/>"', " b='>'", ' c="1" d="2"'),
);
const tree: fc.Arbitrary<Tree> = fc.letrec<{ node: Tree }>((tie) => ({
  node: fc.record({
    name: elementName,
    attr: attribute,
    kids: fc.array(fc.oneof({ depthSize: 'small', withCrossShrink: true }, xmlText.chain(writeText), tie('node')), { maxLength: 4 }),
  }),
})).node;
function render(t: Tree): string {
  const inner = t.kids.map((k) => (typeof k === 'string' ? k : render(k))).join('');
  return inner === '' && t.attr === '' ? `<${t.name}/>` : `<${t.name}${t.attr}>${inner}</${t.name}>`;
}
const prolog = fc.constantFrom('', '<?xml version="1.0" encoding="UTF-8"?>\n', '<!-- c -->', '<?pi x?>', '\uFEFF', ' \n');

/** small edits that make a well-formed document near-valid: delete, insert, duplicate, truncate */
function mutate(doc: string): fc.Arbitrary<string> {
  const at = fc.nat({ max: doc.length });
  return fc.oneof(
    fc.constant(doc),
    fc.tuple(at, fc.integer({ min: 1, max: 8 })).map(([i, n]) => doc.slice(0, i) + doc.slice(i + n)),
    fc
      .tuple(
        at,
        fc.constantFrom(
          '<',
          '>',
          '/',
          '&',
          ';',
          '"',
          '<!--',
          ']]>',
          '<!DOCTYPE x>',
          '<a>',
          '</a>',
          '&amp',
          '&#',
          '&#x110000;',
          '\0',
          '<?',
          '<![CDATA[',
        ),
      )
      .map(([i, s]) => doc.slice(0, i) + s + doc.slice(i)),
    fc
      .tuple(at, at)
      .map(([i, j]) => doc.slice(0, Math.min(i, j)) + doc.slice(Math.min(i, j), Math.max(i, j)).repeat(2) + doc.slice(Math.max(i, j))),
    at.map((i) => doc.slice(0, i)),
  );
}
const nearValidXml = fc.tuple(prolog, tree).chain(([p, t]) => mutate(p + render(t)));

// ---- the handlers, run on a fake request (a real Readable body; only the response is faked) ----

class FakeResponse {
  statusCode = 200;
  headersSent = false;
  body: Buffer | undefined;
  private readonly headers = new Map<string, string>();
  setHeader(name: string, value: string): this {
    this.headers.set(name.toLowerCase(), value);
    return this;
  }
  getHeader(name: string): string | undefined {
    return this.headers.get(name.toLowerCase());
  }
  hasHeader(name: string): boolean {
    return this.headers.has(name.toLowerCase());
  }
  getHeaderNames(): string[] {
    return [...this.headers.keys()];
  }
  removeHeader(name: string): void {
    this.headers.delete(name.toLowerCase());
  }
  end(body?: Buffer): void {
    this.body = body;
    this.headersSent = true;
  }
}

function fakeCtx(body: Buffer, op: 'DeleteObjects' | 'CompleteMultipartUpload'): { ctx: Ctx; res: FakeResponse } {
  const req = Object.assign(Readable.from(body.length > 0 ? [body] : []), { headers: {}, method: 'POST' }) as unknown as IncomingMessage;
  const res = new FakeResponse();
  const query = new Map(op === 'CompleteMultipartUpload' ? [['uploadId', 'up1']] : [['delete', '']]);
  const endpoint = {
    op,
    scope: 'write' as const,
    bucket: 'fuzz-bucket',
    ...(op === 'CompleteMultipartUpload' && { key: 'obj' }),
    query,
    style: 'path' as const,
  };
  const ctx: Ctx = {
    req,
    res: res as unknown as ServerResponse,
    reqId: 'fuzz',
    started: 0n,
    endpoint,
    dialect: 's3',
    bytesIn: 0,
    bytesOut: 0,
  };
  return { ctx, res };
}

function fakeDeps(): { deps: Deps; deleted: string[]; completed: { partNumber: number; etag: string }[][] } {
  const deleted: string[] = [];
  const completed: { partNumber: number; etag: string }[][] = [];
  const driver = {
    getBucket: async () => ({ name: 'fuzz-bucket', acl: 'private', created: new Date(0) }),
    headObject: async () => undefined,
    deleteObject: async (_b: string, key: string) => {
      deleted.push(key);
    },
    completeMultipartUpload: async (_b: string, _k: string, _u: string, parts: { partNumber: number; etag: string }[]) => {
      completed.push(parts);
      return { etag: 'e' };
    },
  } as unknown as StorageDriver;
  // the real services over a fake store: the handlers reach the driver only through them
  const objects = new ObjectService(driver, { forget: () => {} }, { maxObjectSize: 5 * 1024 ** 3 });
  const deps = { buckets: new BucketService(driver, { region: 'us-east-1' }), objects, multipart: new MultipartService(driver, objects) };
  return { deps: deps as unknown as Deps, deleted, completed };
}

// ---- properties ------------------------------------------------------------------------------

describe('fuzz: XML bodies', () => {
  it('parseXml: arbitrary strings parse or fail with an S3Error', async () => {
    const soup = fc
      .array(
        fc.oneof(
          fc.constantFrom(
            '<',
            '>',
            '</',
            '/>',
            '<a>',
            '</a>',
            '<?xml',
            '?>',
            '<!--',
            '-->',
            '<![CDATA[',
            ']]>',
            '&',
            ';',
            '&#',
            '="',
            "'",
            'x',
            ' ',
          ),
          fc.string({ maxLength: 3 }),
        ),
        { maxLength: 30 },
      )
      .map((p) => p.join(''));
    await fuzz(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), soup), (text) => {
        const r = resultOrS3Error(() => parseXml(text));
        if (r.ok) assert.equal(typeof r.value, 'object');
      }),
      { ms: 500, minRuns: 100 },
    );
  });

  it('parseXml: generated near-valid documents parse or fail with an S3Error', async () => {
    await fuzz(
      fc.property(nearValidXml, fc.constantFrom([], ['Delete.Object'], ['CompleteMultipartUpload.Part']), (text, arrays) => {
        resultOrS3Error(() => parseXml(text, arrays));
      }),
      { ms: 700, minRuns: 100 },
    );
  });

  it('parseXml: nesting deeper than 32 levels is refused with MalformedXML, whatever the element names', async () => {
    const open = fc.oneof(
      elementName.map((n) => [`<${n}>`, `</${n}>`] as const),
      fc.constantFrom(['<a x="/>">', '</a>'] as const, ["<a y='<b>'>", '</a>'] as const),
    );
    await fuzz(
      fc.property(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 3000 })), open, (depth, [o, c]) => {
        const r = resultOrS3Error(() => parseXml(o.repeat(depth) + 'x' + c.repeat(depth)));
        if (depth > 32) {
          assert.equal(r.ok, false, `${depth} levels of ${o} were accepted`);
          if (!r.ok) assert.equal(r.err.code, 'MalformedXML');
        }
      }),
      { ms: 500, minRuns: 50 },
    );
  });

  it('readCapped: bodies over the cap are refused with MaxMessageLengthExceeded, others read whole', async () => {
    await fuzz(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 4096 }),
        fc.array(fc.integer({ min: 0, max: 1500 }), { maxLength: 8 }),
        async (limit, sizes) => {
          const pieces = sizes.map((n, i) => Buffer.alloc(n, 0x41 + (i % 26)));
          const total = sizes.reduce((a, b) => a + b, 0);
          const r = await resultOrS3ErrorAsync(() =>
            settlesWithin(readCapped(Readable.from(pieces.filter((p) => p.length > 0)), limit), 2000, 'readCapped'),
          );
          if (total > limit) {
            assert.equal(r.ok, false);
            if (!r.ok) assert.equal(r.err.code, 'MaxMessageLengthExceeded');
          } else {
            assert.ok(r.ok, 'a body within the cap was refused');
            assert.ok(r.value.equals(Buffer.concat(pieces)));
          }
        },
      ),
      { ms: 300, minRuns: 30 },
    );
  });

  it('DeleteObjects: a generated <Delete> deletes exactly its valid keys, in order', async () => {
    const key = fc.oneof(xmlText, fc.constantFrom('.', '..', 'a/../b', 'a/./b', ' ', 'k'.repeat(1025), '😀'.repeat(257)));
    const doc = fc
      .tuple(
        fc.array(fc.tuple(key, fc.boolean()), { maxLength: 12 }),
        fc.constantFrom('', '<Quiet>true</Quiet>', '<Quiet>false</Quiet>'),
        attribute,
      )
      .chain(([keys, quiet, attr]) =>
        fc.tuple(
          fc.constant(keys.map(([k]) => k)),
          fc
            .tuple(
              ...keys.map(([k, cdata]) =>
                cdata && !k.includes(']]>') && !k.includes('\r') ? fc.constant(`<![CDATA[${k}]]>`) : writeText(k),
              ),
            )
            .map(
              (written) =>
                `<?xml version="1.0" encoding="UTF-8"?><Delete${attr}>${quiet}${written.map((w) => `<Object><Key>${w}</Key></Object>`).join('')}</Delete>`,
            ),
        ),
      );
    await fuzz(
      fc.asyncProperty(doc, async ([keys, xml]) => {
        const { ctx, res } = fakeCtx(Buffer.from(xml), 'DeleteObjects');
        const { deps, deleted } = fakeDeps();
        const r = await resultOrS3ErrorAsync(() => settlesWithin(deleteObjects(ctx, deps), 2000, 'deleteObjects'));
        assert.ok(r.ok, `a well-formed <Delete> was refused: ${r.ok ? '' : `${r.err.code}: ${r.err.message}`}\n${xml}`);
        const valid = keys.filter((k) => resultOrS3Error(() => validateObjectKey(k)).ok);
        assert.deepEqual(deleted, valid);
        assert.equal(res.statusCode, 200);
        assert.ok(res.body !== undefined);
        parseXml(res.body.toString('utf8')); // the answer is well-formed XML, whatever the keys
      }),
      { ms: 600, minRuns: 30 },
    );
  });

  it('DeleteObjects / CompleteMultipartUpload: near-valid bodies are answered or refused with an S3Error', async () => {
    const body = fc.oneof(
      nearValidXml,
      fc
        .array(fc.tuple(xmlText, fc.nat({ max: 20000 })), { maxLength: 5 })
        .chain((parts) =>
          mutate(
            `<CompleteMultipartUpload>${parts.map(([e, n]) => `<Part><PartNumber>${n}</PartNumber><ETag>${esc(e)}</ETag></Part>`).join('')}</CompleteMultipartUpload>`,
          ),
        ),
      fc
        .array(xmlText, { maxLength: 5 })
        .chain((keys) => mutate(`<Delete>${keys.map((k) => `<Object><Key>${esc(k)}</Key></Object>`).join('')}</Delete>`)),
    );
    await fuzz(
      fc.asyncProperty(
        body,
        fc.constantFrom<'DeleteObjects' | 'CompleteMultipartUpload'>('DeleteObjects', 'CompleteMultipartUpload'),
        async (xml, op) => {
          const { ctx } = fakeCtx(Buffer.from(xml), op);
          const { deps } = fakeDeps();
          await resultOrS3ErrorAsync(() =>
            settlesWithin((op === 'DeleteObjects' ? deleteObjects : completeMultipartUpload)(ctx, deps), 2000, op),
          );
        },
      ),
      { ms: 600, minRuns: 50 },
    );
  });

  it('CompleteMultipartUpload: a generated part list reaches the driver exactly', async () => {
    const etag = fc.stringMatching(/^[0-9a-f]{32}(-[0-9]{1,3})?$/);
    const part = fc.tuple(fc.integer({ min: 1, max: 10000 }), etag, fc.boolean(), fc.constantFrom('', ' ', '\n  '));
    await fuzz(
      fc.asyncProperty(fc.array(part, { minLength: 1, maxLength: 10 }), async (parts) => {
        const xml =
          '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
          parts
            .map(
              ([n, e, quoted, ws]) =>
                `${ws}<Part>${ws}<ETag>${quoted ? '&quot;' + e + '&quot;' : e}</ETag><PartNumber>${ws}${n}${ws}</PartNumber></Part>`,
            )
            .join('') +
          '</CompleteMultipartUpload>';
        const { ctx, res } = fakeCtx(Buffer.from(xml), 'CompleteMultipartUpload');
        const { deps, completed } = fakeDeps();
        const r = await resultOrS3ErrorAsync(() => settlesWithin(completeMultipartUpload(ctx, deps), 2000, 'completeMultipartUpload'));
        assert.ok(r.ok, `refused: ${r.ok ? '' : r.err.message}\n${xml}`);
        // a part number listed twice in a row counts once, the later entry wins (issue 17, as RGW does)
        const listed = parts.filter((p, i) => parts[i + 1]?.[0] !== p[0]);
        assert.deepEqual(completed, [listed.map(([n, e]) => ({ partNumber: n, etag: e }))]);
        assert.equal(res.statusCode, 200);
      }),
      { ms: 400, minRuns: 30 },
    );
  });

  it('parseWebsiteXml: mutated documentation samples give a configuration or an S3Error', async () => {
    const value = fc.oneof(
      fc.constantFrom(
        '',
        '0',
        '1',
        '-1',
        '404',
        '99999999999999999999',
        'true',
        'TRUE',
        'Mirror',
        'External',
        'AliCDN',
        'http://127.0.0.1:1/',
        'https://[::1]/',
        'file:///etc/passwd',
        '/',
        '..',
        'a/b',
      ),
      xmlText.map(esc),
    );
    const edited = fc.constantFrom(...WEBSITE_SAMPLES).chain((sample) => {
      // replace the text of some elements, then maybe break the document a little
      const texts = [...sample.matchAll(/>([^<>]+)</g)].map((m) => m.index + 1);
      return fc.array(fc.tuple(fc.constantFrom(...(texts.length > 0 ? texts : [0])), value), { maxLength: 4 }).chain((edits) => {
        let doc = sample;
        for (const [at, v] of edits.sort((a, b) => b[0] - a[0])) {
          const end = doc.indexOf('<', at);
          if (end > at) doc = doc.slice(0, at) + v + doc.slice(end);
        }
        return fc.oneof(fc.constant(doc), mutate(doc));
      });
    });
    await fuzz(
      fc.property(
        fc.oneof(
          { weight: 4, arbitrary: edited },
          { weight: 1, arbitrary: nearValidXml.map((x) => `<WebsiteConfiguration>${x}</WebsiteConfiguration>`) },
        ),
        fc.integer({ min: -1, max: 60 }),
        (xml, maxRules) => {
          const r = resultOrS3Error(() => parseWebsiteXml(xml, { maxRules }));
          if (r.ok) assert.ok(r.value.dialect === 'oss' || r.value.dialect === 's3');
        },
      ),
      { ms: 600, minRuns: 50 },
    );
  });

  it('oversized and pathological large bodies are refused or parsed, and in bounded time', async () => {
    const snippet = fc.constantFrom(
      '<a>',
      '</a>',
      '<a',
      '<!--',
      '-->',
      '<![CDATA[',
      '&amp;',
      '&#x41;',
      '<a x="/>">',
      '<é>',
      'x',
      ' ',
      '"',
      "'",
      '<?p ?>',
    );
    await fuzz(
      fc.property(
        fc.array(snippet, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 16 * 1024, max: 300 * 1024 }),
        fc.boolean(),
        (parts, bytes, wrap) => {
          const unit = parts.join('');
          const body = unit.repeat(Math.ceil(bytes / unit.length));
          const text = wrap ? `<WebsiteConfiguration><IndexDocument><Suffix>${body}</Suffix></IndexDocument></WebsiteConfiguration>` : body;
          const t0 = performance.now();
          const r = resultOrS3Error(() => parseWebsiteXml(text));
          // a hang guard, not a benchmark: a linear parser takes milliseconds here
          assert.ok(performance.now() - t0 < 5000, `${Buffer.byteLength(text)} bytes took ${Math.round(performance.now() - t0)} ms`);
          if (Buffer.byteLength(text) > 128 * 1024) {
            assert.equal(r.ok, false);
            if (!r.ok) assert.equal(r.err.code, 'MalformedXML');
          }
          resultOrS3Error(() => parseXml(text));
        },
      ),
      { ms: 600, maxRuns: 200, minRuns: 5 },
    );
  });

  it('regressions: names that are Object.prototype keys and deep non-ASCII nesting are MalformedXML, not a 500', () => {
    for (const doc of [
      '<constructor/>',
      '<Delete><prototype>x</prototype></Delete>',
      '<a><__proto__/></a>',
      '<é>'.repeat(1000) + '</é>'.repeat(1000),
      '<a x="/>">'.repeat(200) + '</a>'.repeat(200),
    ]) {
      const r = resultOrS3Error(() => parseXml(doc));
      assert.equal(r.ok, false, doc.slice(0, 40));
      if (!r.ok) assert.equal(r.err.code, 'MalformedXML');
    }
    // what stays legal: names that fast-xml-parser renames, and 32 levels
    assert.deepEqual(parseXml('<a><toString>x</toString></a>'), { a: { __toString: 'x' } });
    assert.equal(typeof parseXml('<é>'.repeat(32) + '</é>'.repeat(32)), 'object');
  });
});
