import { performance } from 'node:perf_hooks';
import type { Databases } from '../../../store/db';
import { endChallenge, openActiveChallenge } from '../../autopilot/end-challenge';
import { percentile } from '../../autopilot/run';
import { Rng } from '../../seed/prng';

/**
 * One step of the refresh bench: the platform ends `count` challenges, one at a time (end-challenge.ts, as autopilot
 * does; they are opened before the step, untimed, so an ending only completes one), at `rate` per second — or, with rate null, each as soon as one of the callers is free — and `concurrency`
 * callers take them in end order and refresh each (`call`), at most `concurrency` at once. A challenge is ended
 * right before it is handed over, never ahead in a pool: the sequencer rates a stream's events in end order, and an
 * event ended ahead but not yet asked for would turn every rating before it into a rerate (phase D) — the ending
 * is timed on its own instead. Latency is from the call (the POST) to its answer that the stats are updated; the
 * wait of an ended challenge for a free caller is counted apart.
 */

export interface CallOutcome {
  /** the stats were updated when the answer came (200); false: 202 or an error */
  done: boolean;
  /** HTTP status (the direct path: 200) or null (no answer) */
  status: number | null;
  /** to the stats being updated: for a 202, to the workflow's result, awaited after it */
  latencyMs: number;
  rated: boolean;
  rerate: boolean;
  error?: string;
}

export interface Figures {
  p50: number;
  p99: number;
  max: number;
}

export interface StepResult {
  path: 'temporal' | 'direct';
  /** challenges ended per second offered; null: as fast as the callers take them */
  rate: number | null;
  count: number;
  concurrency: number;
  /** first ending to last answer */
  seconds: number;
  /** challenges refreshed per second, sustained: answers per second from the step's first answer to its last */
  challengesPerSec: number;
  latencyMs: Figures;
  /** answers by status ("error": none) */
  statuses: Record<string, number>;
  /** calls not done when answered (202, errors) */
  notDone: number;
  failed: number;
  firstError?: string;
  rated: number;
  /** calls whose rating was a rerate from an earlier event */
  rerates: number;
  /** the platform's endings: time each, and the rate they kept */
  ending: Figures & { perSec: number };
  /** an ended challenge waiting for a free caller */
  queuedMs: Figures;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

export function figures(values: readonly number[]): Figures {
  const s = [...values].sort((a, b) => a - b);
  return { p50: round1(percentile(s, 50)), p99: round1(percentile(s, 99)), max: round1(s.at(-1) ?? 0) };
}

export async function runStep(opts: {
  dbs: Databases;
  path: 'temporal' | 'direct';
  rate: number | null;
  count: number;
  concurrency: number;
  seed: number;
  /** names the step's randomness (which challenges are opened, their outcomes) */
  label: string;
  call: (challengeId: string) => Promise<CallOutcome>;
  progress?: (line: string) => void;
}): Promise<StepResult> {
  const rng = new Rng(opts.seed, `bench-refresh/${opts.path}/${opts.label}`);
  const queue: Array<{ challengeId: string; endedAt: number }> = [];
  const outcomes: CallOutcome[] = [];
  const answeredAt: number[] = [];
  const endMs: number[] = [];
  const queuedMs: number[] = [];
  let produced = false;
  let idle = opts.concurrency;
  // every change of the queue or of a caller's state wakes whoever waits for one, and they look again
  const waiters = new Set<() => void>();
  const poke = () => {
    for (const w of waiters) w();
    waiters.clear();
  };
  const changed = () => new Promise<void>((r) => waiters.add(r));

  // untimed: the challenges to end, opened ahead (ACTIVE, as the platform runs them), so an ending does not open one
  for (let i = 0; i < opts.count; i++) await openActiveChallenge(opts.dbs, { rng: rng.fork(`open/${i}`) });

  const started = performance.now();
  let lastEnd = started;
  const producer = (async () => {
    try {
      for (let i = 0; i < opts.count; i++) {
        if (opts.rate !== null) {
          const wait = (i * 1000) / opts.rate - (performance.now() - started);
          if (wait > 0) await sleep(wait);
        } else {
          while (idle === 0 || queue.length > 0) await changed();
        }
        const t = performance.now();
        const e = await endChallenge(opts.dbs, { rng: rng.fork(`ending/${i}`) });
        lastEnd = performance.now();
        endMs.push(lastEnd - t);
        queue.push({ challengeId: e.challengeId, endedAt: lastEnd });
        poke();
      }
    } finally {
      produced = true;
      poke();
    }
  })();

  const callers = Array.from({ length: opts.concurrency }, async () => {
    for (;;) {
      const job = queue.shift();
      if (!job) {
        if (produced) return;
        await changed();
        continue;
      }
      idle--;
      poke(); // the queue moved: the producer may end the next one
      queuedMs.push(performance.now() - job.endedAt);
      outcomes.push(await opts.call(job.challengeId));
      answeredAt.push(performance.now());
      idle++;
      poke();
    }
  });
  const ticker = setInterval(() => {
    const n = outcomes.length;
    opts.progress?.(
      `${((performance.now() - started) / 1000).toFixed(1)} s: ended ${endMs.length}, answered ${n}, waiting ${queue.length}`,
    );
  }, 2000);
  try {
    await producer;
    await Promise.all(callers);
  } finally {
    clearInterval(ticker);
  }
  const seconds = (performance.now() - started) / 1000;

  const statuses: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.status === null ? 'error' : String(o.status);
    statuses[k] = (statuses[k] ?? 0) + 1;
  }
  const failed = outcomes.filter((o) => o.error !== undefined);
  return {
    path: opts.path,
    rate: opts.rate,
    count: outcomes.length,
    concurrency: opts.concurrency,
    seconds: Math.round(seconds * 100) / 100,
    challengesPerSec:
      answeredAt.length < 2 ? 0 : round1((answeredAt.length - 1) / Math.max((answeredAt.at(-1)! - answeredAt[0]!) / 1000, 1e-3)),
    latencyMs: figures(outcomes.filter((o) => o.error === undefined).map((o) => o.latencyMs)),
    statuses,
    notDone: outcomes.filter((o) => !o.done).length,
    failed: failed.length,
    ...(failed[0] ? { firstError: failed[0].error } : {}),
    rated: outcomes.filter((o) => o.rated).length,
    rerates: outcomes.filter((o) => o.rerate).length,
    ending: { ...figures(endMs), perSec: round1(endMs.length / Math.max((lastEnd - started) / 1000, 1e-3)) },
    queuedMs: figures(queuedMs),
  };
}
