/**
 * Shared settings for the fast-check fuzz tests in test/fuzz/ (STYLE §4 "Fuzz the parsers",
 * after undici's test/fuzzing): every property runs under a time budget so that one file
 * finishes in a few seconds on a 2-core machine.
 *
 *   FUZZ_SEED=<int>      replay with a fixed seed (fast-check prints the seed and path of a failure)
 *   FUZZ_PATH=<path>     with FUZZ_SEED, replay exactly the failing case fast-check reported
 *   FUZZ_BUDGET_MS=<ms>  time budget of each property (default: the one the test asks for)
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { S3Error } from '../../src/errors.ts';

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, not '${v}'`);
  return n;
}

const SEED = envInt('FUZZ_SEED');
const PATH = process.env.FUZZ_PATH || undefined;
const BUDGET = envInt('FUZZ_BUDGET_MS');

export interface Budget {
  /** stop generating new cases after this long (fast-check interruptAfterTimeLimit) */
  ms: number;
  /** the most cases to run (fewer when the time budget runs out first) */
  maxRuns?: number;
  /** the property always runs at least this many cases, past the time budget if it must (no empty properties) */
  minRuns?: number;
}

/**
 * Run a property under a time budget. Fails with fast-check's report (counterexample, seed, path)
 * when a case fails. When the budget let fewer than `minRuns` cases run, the rest run after it.
 */
export async function fuzz<Ts>(prop: fc.IRawProperty<Ts, boolean>, budget: Budget): Promise<void> {
  const ms = BUDGET ?? budget.ms;
  const details = await fc.check(prop as fc.IRawProperty<Ts, true>, {
    numRuns: budget.maxRuns ?? 1_000_000,
    interruptAfterTimeLimit: ms,
    markInterruptAsFailure: false,
    ...(SEED !== undefined && { seed: SEED }),
    ...(SEED !== undefined && PATH !== undefined && { path: PATH }),
  });
  // fast-check reports a run interrupted before its first case as failed, with no counterexample
  const starved = details.interrupted && details.counterexample === null;
  if (details.failed && !starved) throw new Error(fc.defaultReportMessage(details));
  const min = budget.minRuns ?? 10;
  if (details.numRuns >= min || PATH !== undefined) return;
  // a loaded machine ran fewer cases than the minimum in the budget: run the rest without one,
  // so a property always covers at least `min` cases (slower, never flaky)
  const rest = await fc.check(prop as fc.IRawProperty<Ts, true>, { numRuns: min - details.numRuns, seed: details.seed + 1 });
  if (rest.failed) throw new Error(fc.defaultReportMessage(rest));
  assert.ok(
    details.numRuns + rest.numRuns >= min,
    `only ${details.numRuns + rest.numRuns} cases ran (seed ${details.seed}); at least ${min} were expected`,
  );
}

/**
 * Call `fn`; return what it returns, or the S3Error it throws. Any other exception fails the
 * property. `InternalError` (a 500) counts as a failure too: a parser must refuse bad input as the
 * client's fault.
 */
export function resultOrS3Error<T>(fn: () => T): { ok: true; value: T } | { ok: false; err: S3Error } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    assertS3Error(err);
    return { ok: false, err };
  }
}

export async function resultOrS3ErrorAsync<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; err: S3Error }> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    assertS3Error(err);
    return { ok: false, err };
  }
}

export function assertS3Error(err: unknown): asserts err is S3Error {
  if (!(err instanceof S3Error)) {
    const e = err as { name?: unknown; message?: unknown } | null;
    throw new Error(`expected an S3Error, got ${typeof e?.name === 'string' ? e.name : typeof err}: ${String(e?.message ?? err)}`, {
      cause: err,
    });
  }
  assert.ok(err.status >= 400 && err.status < 500, `a client error was expected, got ${err.code} (${err.status}): ${err.message}`);
}

/**
 * Reject when `p` has not settled after `ms`: a stream that neither ends nor fails is a hang. The
 * bound is generous (it is not a benchmark); a stuck decoder never settles at all.
 */
export async function settlesWithin<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms (a hang)`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Bytes as lower-case %XX escapes, every one (decodes to exactly those bytes). */
export function percentEncodeAll(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += '%' + b.toString(16).padStart(2, '0');
  return s;
}
