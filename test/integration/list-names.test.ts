/**
 * Listing keys whose names are hard to carry (issue 19: the S3 driver asks its store with
 * `encoding-type=url` and reads the answer itself): control characters, `%`, `+`, `&<>"'`,
 * leading and trailing spaces, tabs, CR/LF, CJK, emoji, decomposed (NFD) accents beside their
 * composed (NFC) twins. The exact set written is listed back with the AWS SDK v3 — flat, under each
 * prefix, with a delimiter, with start-after, in pages of 2 and of 1,000, with and without
 * `EncodingType: 'url'` — and compared, in order, with S3's own answer computed from the set.
 * Runs on whichever driver startOsprey() picks (the S3 pass: OSPREY_TEST_DRIVER=s3). The store's
 * continuation token as RGW writes it (the raw key, control characters as `&#x01;`) is read in
 * test/unit/s3-list-page.test.ts: RGW follows on from it only after a short delimiter page, which
 * takes thousands of keys (list-s3-short-pages.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3, startOsprey } from '../helpers/osprey.ts';
import type { TestServer } from '../helpers/osprey.ts';

const CTL = 'ctl\x01\x1f\x7f';
const DIRS = [`${CTL}/`, '100% +/', ' sp ace /', '日本語/', '🙂 emoji👨‍👩‍👧/', 'cafe\u0301/', 'caf\u00e9/', 'amp&<lt>"q\'/'];
const NAMES = [
  'a.txt',
  `${CTL}.txt`,
  '50% off+more.txt',
  ' lead and trail ',
  '中文 🙂.txt',
  'nai\u0308ve.txt',
  'na\u00efve.txt',
  'amp&<lt>"q\'.txt',
  'tab\t.txt',
  'crlf\r\n.txt',
  '%2F%20+.txt',
];
const KEYS = [...NAMES, ...DIRS.flatMap((d) => NAMES.map((n) => d + n))];

const bytes = (s: string) => Buffer.from(s, 'utf8');
const byteOrder = (a: string, b: string) => Buffer.compare(bytes(a), bytes(b));

/** S3's answer for the whole listing (all pages): keys and common prefixes, in UTF-8 byte order */
function expected(keys: string[], opts: { prefix?: string; delimiter?: string; startAfter?: string }): string[] {
  const out = new Set<string>();
  for (const k of keys) {
    if (opts.prefix && !k.startsWith(opts.prefix)) continue;
    const rest = k.slice(opts.prefix?.length ?? 0);
    const at = opts.delimiter ? rest.indexOf(opts.delimiter) : -1;
    const name = at >= 0 ? k.slice(0, (opts.prefix?.length ?? 0) + at + (opts.delimiter?.length ?? 0)) : k;
    if (opts.startAfter !== undefined && byteOrder(name, opts.startAfter) <= 0) continue;
    out.add(at >= 0 ? `P:${name}` : `K:${name}`);
  }
  return [...out].sort((a, b) => byteOrder(a.slice(2), b.slice(2)));
}

/** what `client` lists, all pages: `K:key` and `P:prefix` in the order given */
async function listed(
  client: S3Client,
  bucket: string,
  opts: { prefix?: string; delimiter?: string; startAfter?: string; maxKeys: number; url: boolean },
): Promise<string[]> {
  const decode = (s: string | undefined) => (opts.url ? decodeURIComponent((s ?? '').replace(/\+/g, ' ')) : (s ?? ''));
  const out: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        MaxKeys: opts.maxKeys,
        ...(opts.prefix !== undefined && { Prefix: opts.prefix }),
        ...(opts.delimiter !== undefined && { Delimiter: opts.delimiter }),
        ...(token === undefined && opts.startAfter !== undefined && { StartAfter: opts.startAfter }),
        ...(token !== undefined && { ContinuationToken: token }),
        ...(opts.url && { EncodingType: 'url' as const }),
      }),
    );
    pages++;
    const entries = [
      ...(page.Contents ?? []).map((o) => `K:${decode(o.Key)}`),
      ...(page.CommonPrefixes ?? []).map((p) => `P:${decode(p.Prefix)}`),
    ].sort((a, b) => byteOrder(a.slice(2), b.slice(2)));
    assert.ok(entries.length <= opts.maxKeys, `a page of ${entries.length} for MaxKeys ${opts.maxKeys}`);
    out.push(...entries);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (page.IsTruncated) assert.ok(token, 'a truncated page names where to go on');
  } while (token !== undefined && pages < 500);
  return out;
}

describe('listing keys with control characters, % + &, spaces, CJK, emoji and NFD/NFC accents (issue 19)', () => {
  let server: TestServer;
  let client: S3Client;

  before(async () => {
    server = await startOsprey();
    client = s3(server);
    await client.send(new CreateBucketCommand({ Bucket: 'names' }));
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < KEYS.length) {
          const key = KEYS[next++] as string;
          await client.send(new PutObjectCommand({ Bucket: 'names', Key: key, Body: key }));
        }
      }),
    );
  });

  after(async () => {
    client?.destroy();
    await server?.close();
  });

  const cases: { name: string; prefix?: string; delimiter?: string; startAfter?: string }[] = [
    { name: 'every key' },
    { name: 'the root with a delimiter', delimiter: '/' },
    ...DIRS.map((d) => ({ name: `prefix ${JSON.stringify(d)}`, prefix: d })),
    ...DIRS.map((d) => ({ name: `prefix ${JSON.stringify(d)} with a delimiter`, prefix: d, delimiter: '/' })),
    { name: "prefix 'ca' (NFD and NFC twins) with a delimiter", prefix: 'ca', delimiter: '/' },
    { name: 'start-after a control-character key, with a delimiter', startAfter: `${CTL}.txt`, delimiter: '/' },
    { name: 'start-after inside a common prefix, with a delimiter', startAfter: `${CTL}/a.txt`, delimiter: '/' },
    { name: 'start-after a common prefix itself, with a delimiter', startAfter: '日本語/', delimiter: '/' },
    { name: "start-after inside '日本語/', flat", startAfter: '日本語/a.txt' },
  ];
  for (const c of cases) {
    it(`lists ${c.name}: exactly the keys written, in UTF-8 byte order, in pages of 2 and 1,000, plain and url-encoded`, async () => {
      const want = expected(KEYS, c);
      assert.ok(want.length > 0);
      for (const maxKeys of [2, 1000])
        for (const url of [false, true]) {
          const got = await listed(client, 'names', { ...c, maxKeys, url });
          assert.deepEqual(got, want, `MaxKeys ${maxKeys}, EncodingType ${url ? 'url' : 'none'}`);
        }
    });
  }
});
