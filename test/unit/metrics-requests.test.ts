/**
 * The request metrics are counted in plain numbers and printed at scrape time (metrics/index.ts,
 * ScrapedMetric). Their text must be what prom-client's own Counter and Histogram print for the same
 * requests: fed here with generated requests (bound values, over the last bound, zero bytes), and
 * compared line by line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { Metrics } from '../../src/metrics/index.ts';
import { MirrorActivity } from '../../src/mirror/activity.ts';
import { prng } from '../helpers/seeded.ts';

const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const NAMES = ['osprey_requests_total', 'osprey_request_duration_seconds', 'osprey_request_bytes_total', 'osprey_response_bytes_total'];

function requestLines(text: string): string[] {
  return text.split('\n').filter((l) => NAMES.some((n) => l.includes(` ${n} `) || l.startsWith(`${n}{`) || l.startsWith(`${n}_`)));
}

describe('request metrics', () => {
  it('print what prom-client prints for the same requests', async () => {
    const rnd = prng(19);
    const ours = new Metrics(new MirrorActivity(), { defaultMetrics: false });
    const reg = new Registry();
    const registers = [reg];
    const requests = new Counter({
      name: NAMES[0]!,
      help: 'Requests answered, by S3 operation and HTTP status',
      labelNames: ['op', 'status'],
      registers,
    });
    const latency = new Histogram({
      name: NAMES[1]!,
      help: 'Time from request to the end of the response, by operation',
      labelNames: ['op'],
      buckets: BOUNDS,
      registers,
    });
    const bytesIn = new Counter({ name: NAMES[2]!, help: 'Body bytes received from clients, by operation', labelNames: ['op'], registers });
    const bytesOut = new Counter({ name: NAMES[3]!, help: 'Body bytes sent to clients, by operation', labelNames: ['op'], registers });
    const ops = ['GetObject', 'PutObject', 'HeadObject', 'Unknown'];
    const statuses = [200, 206, 304, 404, 503];
    for (let i = 0; i < 5_000; i++) {
      const op = ops[Math.floor(rnd() * ops.length)]!;
      const status = statuses[Math.floor(rnd() * statuses.length)]!;
      const pick = rnd();
      // on a bound, just over one, past the last one, or anywhere
      const seconds = pick < 0.2 ? BOUNDS[Math.floor(rnd() * BOUNDS.length)]! : pick < 0.3 ? 61 + rnd() * 100 : rnd() * rnd() * 2;
      const inBytes = op === 'PutObject' ? Math.floor(rnd() * 10_000) : 0;
      const outBytes = rnd() < 0.3 ? 0 : Math.floor(rnd() * 100_000);
      ours.request(op, status, seconds, inBytes, outBytes);
      requests.inc({ op, status: String(status) });
      latency.observe({ op }, seconds);
      if (inBytes > 0) bytesIn.inc({ op }, inBytes);
      if (outBytes > 0) bytesOut.inc({ op }, outBytes);
    }
    const sort = (l: string[]) => [...l].sort();
    const got = requestLines(await ours.text());
    const want = requestLines(await reg.metrics());
    assert.ok(want.length > 4 * BOUNDS.length, `the reference printed ${want.length} lines`);
    // the sums are floating point, added in the same order: equal to the last digit
    assert.deepEqual(sort(got), sort(want));
  });

  it('print nothing for an operation before its first request, and a byte counter only once it is above 0', async () => {
    const ours = new Metrics(new MirrorActivity(), { defaultMetrics: false });
    assert.deepEqual(
      requestLines(await ours.text()).filter((l) => !l.startsWith('#')),
      [],
    );
    ours.request('GetObject', 200, 0.0005, 0, 0);
    const lines = requestLines(await ours.text());
    assert.ok(lines.includes('osprey_requests_total{op="GetObject",status="200"} 1'));
    assert.ok(lines.includes('osprey_request_duration_seconds_bucket{le="0.001",op="GetObject"} 1'));
    assert.ok(!lines.some((l) => l.startsWith('osprey_response_bytes_total{')));
  });
});
