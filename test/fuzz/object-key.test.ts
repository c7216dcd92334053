/**
 * Fuzz: object key decoding and validation (src/service/names.ts decodePathPart +
 * validateObjectKey, and the router that applies them, src/http/route.ts). STYLE §2.12: a key is
 * valid UTF-8, 1..1024 bytes, has no NUL and no '.' or '..' segment. The reference model below is
 * written from that rule, not from the module.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { route } from '../../src/http/route.ts';
import { decodePathPart, validateObjectKey } from '../../src/service/names.ts';
import { assertS3Error, fuzz, percentEncodeAll, resultOrS3Error } from './budget.ts';

/** Valid UTF-8 iff decoding (invalid sequences become U+FFFD) and re-encoding gives the bytes back. */
function isUtf8(bytes: Uint8Array): boolean {
  const b = Buffer.from(bytes);
  return Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

/** The reference model: is `key` (a JS string) an acceptable object key? */
function modelAccepts(key: string): boolean {
  if (key.length === 0) return false;
  if (!key.isWellFormed()) return false; // a lone surrogate: the bytes were not UTF-8
  if (Buffer.byteLength(key, 'utf8') > 1024) return false;
  if (key.includes('\0')) return false;
  return key.split('/').every((seg) => seg !== '.' && seg !== '..');
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
/** pieces that sit next to the rules' edges: dots, slashes, NUL, BOM, multi-byte characters */
const piece = fc.oneof(
  fc.constantFrom('.', '..', '/', '\0', 'a', '\uFEFF', 'é', '€', '😀', ' ', '%', '...'),
  loneSurrogate,
  fc.string({ unit: 'binary', maxLength: 8 }),
);
/** strings, including ones close to 1024 bytes (a 4-byte character straddling the limit) */
const keyString = fc.oneof(
  fc.array(piece, { maxLength: 24 }).map((p) => p.join('')),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.tuple(fc.integer({ min: 1016, max: 1026 }), fc.array(piece, { maxLength: 3 })).map(([n, p]) => 'k'.repeat(n) + p.join('')),
  fc.tuple(fc.integer({ min: 250, max: 260 }), fc.constantFrom('😀', 'é', '€')).map(([n, c]) => c.repeat(n)),
);

/** byte strings: random, valid UTF-8, and valid UTF-8 with a byte changed or cut */
const keyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  keyString.filter((s) => s.isWellFormed()).map((s) => new Uint8Array(Buffer.from(s, 'utf8'))),
  fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([s, at, b]) => {
    const bytes = new Uint8Array(Buffer.from(s, 'utf8'));
    bytes[at % bytes.length] = b;
    return bytes;
  }),
  fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.nat()).map(([s, cut]) => {
    const bytes = Buffer.from(s, 'utf8');
    return new Uint8Array(bytes.subarray(0, cut % bytes.length));
  }),
);

const ROUTE_OPTS = { domains: ['s3.local'], bindDomains: {} };

describe('fuzz: object keys', () => {
  it('validateObjectKey accepts exactly the keys the reference model accepts', async () => {
    await fuzz(
      fc.property(keyString, (key) => {
        const r = resultOrS3Error(() => validateObjectKey(key));
        assert.equal(r.ok, modelAccepts(key), `key ${JSON.stringify(key.slice(0, 80))} (${key.length} code units)`);
        if (!r.ok) {
          assert.ok(r.err.code === 'InvalidObjectName' || r.err.code === 'KeyTooLongError', r.err.code);
          if (r.err.code === 'KeyTooLongError') assert.ok(Buffer.byteLength(key, 'utf8') > 1024);
        }
      }),
      { ms: 800, minRuns: 50 },
    );
  });

  it('decodePathPart of percent-encoded bytes gives back exactly those bytes, or refuses invalid UTF-8', async () => {
    await fuzz(
      fc.property(keyBytes, fc.boolean(), (bytes, upper) => {
        const raw = upper ? percentEncodeAll(bytes).toUpperCase() : percentEncodeAll(bytes);
        const r = resultOrS3Error(() => decodePathPart(raw));
        if (!isUtf8(bytes)) {
          assert.equal(r.ok, false, `invalid UTF-8 ${Buffer.from(bytes).toString('hex')} was accepted`);
          if (!r.ok) assert.equal(r.err.code, 'InvalidObjectName');
          return;
        }
        assert.ok(r.ok, `valid UTF-8 ${Buffer.from(bytes).toString('hex')} was refused`);
        // a byte-exact round trip: nothing is dropped (a leading BOM, say) or replaced
        assert.equal(Buffer.from(r.value, 'utf8').toString('hex'), Buffer.from(bytes).toString('hex'));
      }),
      { ms: 800, minRuns: 50 },
    );
  });

  it('decodePathPart of arbitrary request-target text returns a string or InvalidObjectName', async () => {
    const rawChar = fc.oneof(
      fc.constantFrom('%', '%2', '%zz', '%2F', '%00', '%C3', '%A9', '%EF%BB%BF', '/', '.', 'a', '\u00e9', '\u00ff'),
      fc.string({ unit: 'binary', maxLength: 4 }),
    );
    await fuzz(
      fc.property(
        fc.array(rawChar, { maxLength: 30 }).map((p) => p.join('')),
        (raw) => {
          const r = resultOrS3Error(() => decodePathPart(raw));
          if (r.ok) assert.equal(typeof r.value, 'string');
          else assert.equal(r.err.code, 'InvalidObjectName');
          // printable ASCII without '%' is taken as it is
          if (/^[\x21-\x24\x26-\x7e]*$/.test(raw)) assert.deepEqual(r, { ok: true, value: raw });
        },
      ),
      { ms: 700, minRuns: 50 },
    );
  });

  it('the router hands on only keys the model accepts, byte for byte as sent', async () => {
    await fuzz(
      fc.property(keyBytes, fc.constantFrom('GET', 'PUT', 'HEAD', 'DELETE'), fc.boolean(), (bytes, method, vhost) => {
        const url = vhost ? `/${percentEncodeAll(bytes)}` : `/fuzz-bucket/${percentEncodeAll(bytes)}`;
        let ep;
        try {
          ep = route(method, url, vhost ? 'fuzz-bucket.s3.local' : '127.0.0.1:9000', ROUTE_OPTS);
        } catch (err) {
          assertS3Error(err);
          // refused: then the bytes were not an acceptable key (an empty key is a bucket request)
          assert.ok(bytes.length > 0, `${err.code}: ${err.message}`);
          assert.ok(!isUtf8(bytes) || !modelAccepts(Buffer.from(bytes).toString('utf8')), `acceptable key refused: ${err.code}`);
          return;
        }
        assert.equal(ep.bucket, 'fuzz-bucket');
        if (bytes.length === 0) {
          assert.equal(ep.key, undefined);
          return;
        }
        assert.ok(ep.key !== undefined);
        assert.ok(modelAccepts(ep.key), `route accepted ${JSON.stringify(ep.key.slice(0, 80))}`);
        assert.equal(Buffer.from(ep.key, 'utf8').toString('hex'), Buffer.from(bytes).toString('hex'));
      }),
      { ms: 800, minRuns: 50 },
    );
  });

  it('regression: a leading U+FEFF (BOM) is part of the key, not dropped', () => {
    assert.equal(decodePathPart('%EF%BB%BFkey'), '\uFEFFkey');
    assert.equal(decodePathPart('%EF%BB%BF'), '\uFEFF');
    assert.equal(route('GET', '/fuzz-bucket/%EF%BB%BFa', '127.0.0.1', ROUTE_OPTS).key, '\uFEFFa');
  });
});
