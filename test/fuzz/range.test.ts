/**
 * Fuzz: the Range header parser (src/http/respond.ts parseRange). Its documented outcomes are:
 * no range (undefined: no header, or a form RFC 9110 lets a server ignore, such as several ranges
 * or another unit), one satisfiable range, or InvalidRange (416) with a Content-Range header that names the size.
 * The reference model below parses the header by hand (no regular expression) with BigInt, so
 * huge numbers cannot round.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseRange } from '../../src/http/respond.ts';
import { fuzz, resultOrS3Error } from './budget.ts';

type Outcome = { kind: 'ignore' } | { kind: 'range'; start: number; end: number } | { kind: '416' };

const isDigits = (s: string) => [...s].every((c) => c >= '0' && c <= '9');

/**
 * RFC 9110 §14.1.2 for one byte-range-spec, as Osprey answers it: `first-last`, `first-`,
 * `-suffix`. Like MinIO, a `last` below `first` is refused with 416 rather than ignored.
 */
function model(value: string, size: number): Outcome {
  const v = value.trim();
  if (!v.startsWith('bytes=')) return { kind: 'ignore' };
  const spec = v.slice('bytes='.length);
  const dash = spec.indexOf('-');
  if (dash < 0 || spec.indexOf('-', dash + 1) >= 0) return { kind: 'ignore' };
  const first = spec.slice(0, dash);
  const last = spec.slice(dash + 1);
  if (!isDigits(first) || !isDigits(last) || (first === '' && last === '')) return { kind: 'ignore' };
  const n = BigInt(size);
  if (first === '') {
    const suffix = BigInt(last);
    if (suffix === 0n || n === 0n) return { kind: '416' };
    return { kind: 'range', start: Number(suffix >= n ? 0n : n - suffix), end: size - 1 };
  }
  const start = BigInt(first);
  if (start >= n) return { kind: '416' };
  if (last === '') return { kind: 'range', start: Number(start), end: size - 1 };
  const end = BigInt(last);
  if (end < start) return { kind: '416' };
  return { kind: 'range', start: Number(start), end: Number(end >= n ? n - 1n : end) };
}

function actual(value: string, size: number): Outcome {
  const r = resultOrS3Error(() => parseRange(value, size));
  if (!r.ok) {
    assert.equal(r.err.code, 'InvalidRange');
    assert.equal(r.err.status, 416);
    assert.equal(r.err.detail.headers?.['Content-Range'], `bytes */${size}`);
    return { kind: '416' };
  }
  if (r.value === undefined) return { kind: 'ignore' };
  return { kind: 'range', start: r.value.start, end: r.value.end };
}

/** what a served range must be, whatever the header said */
function checkBounds(o: Outcome, size: number): void {
  if (o.kind !== 'range') return;
  assert.ok(Number.isSafeInteger(o.start) && Number.isSafeInteger(o.end), `non-integer range ${o.start}-${o.end}`);
  assert.ok(o.start >= 0 && o.start <= o.end && o.end <= size - 1, `range ${o.start}-${o.end} outside [0, ${size - 1}]`);
}

/** object sizes: empty, tiny, around powers of two, and up to S3's 5 TiB object limit */
const size = fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 0, max: 5 * 1024 ** 4 }));
/** a position relative to the size (so edges are hit often), or a huge/zero-padded one */
const pos = (n: number) =>
  fc.oneof(
    fc.integer({ min: -2, max: 2 }).map((d) => String(Math.max(0, n + d))),
    fc.integer({ min: 0, max: Math.max(0, n + 2) }).map(String),
    fc.constantFrom('0', '00', '1', '18446744073709551616', '99999999999999999999999999'),
    fc.integer({ min: 0, max: 9 }).map((z) => '0'.repeat(z) + String(n)),
  );

describe('fuzz: Range header', () => {
  it('valid single ranges over a random size match the reference model and stay within [0, size-1]', async () => {
    const gen = size.chain((n) =>
      fc.tuple(
        fc.constant(n),
        fc.oneof(
          fc.tuple(pos(n), pos(n)).map(([a, b]) => `bytes=${a}-${b}`),
          pos(n).map((a) => `bytes=${a}-`),
          pos(n).map((b) => `bytes=-${b}`),
        ),
        fc.constantFrom('', ' ', '\t'),
      ),
    );
    await fuzz(
      fc.property(gen, ([n, header, pad]) => {
        const value = pad + header + pad;
        const got = actual(value, n);
        checkBounds(got, n);
        assert.deepEqual(got, model(value, n), `Range: ${JSON.stringify(value)} over ${n} bytes`);
      }),
      { ms: 900, minRuns: 100 },
    );
  });

  it('arbitrary header strings give only the documented outcomes, as the model says', async () => {
    const token = fc.oneof(
      fc.constantFrom(
        'bytes=',
        'Bytes=',
        'bytes ',
        'items=',
        '-',
        ',',
        ' ',
        '0',
        '1',
        '9',
        '00',
        '=',
        ';',
        '\t',
        '\u0660',
        '\uFF11',
        '+',
        'e3',
        '0x1',
        '.',
      ),
      fc.nat({ max: 1 << 30 }).map(String),
      fc.string({ maxLength: 6 }),
    );
    const header = fc.oneof(
      fc.array(token, { maxLength: 10 }).map((t) => t.join('')),
      fc.array(token, { maxLength: 8 }).map((t) => 'bytes=' + t.join('')),
      fc.string({ unit: 'binary', maxLength: 40 }),
    );
    await fuzz(
      fc.property(header, size, (value, n) => {
        const got = actual(value, n);
        checkBounds(got, n);
        assert.deepEqual(got, model(value, n), `Range: ${JSON.stringify(value)} over ${n} bytes`);
      }),
      { ms: 900, minRuns: 100 },
    );
  });

  it('no Range header is no range', () => {
    assert.equal(parseRange(undefined, 10), undefined);
  });
});
