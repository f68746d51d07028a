import { performance } from 'node:perf_hooks';
import type { Databases } from '../../store/db';
import { Rng } from '../seed/prng';
import { endChallenge, type EndedChallenge } from './end-challenge';
import { callEnded, type CallOptions, type CallResult } from './http';
import { CallPlanner, type Delivery, type FaultRates } from './plan';

/**
 * The live autopilot: ends challenges at a steady rate for a while (end-challenge.ts, one at a time, in end-date
 * order) and calls the API for each as the fault plan says (plan.ts: dropped, duplicated, held back). Calls run
 * concurrently with the endings; the run waits for every call it made before it reports.
 */

export interface RunOptions extends FaultRates {
  /** endings per second */
  rate: number;
  durationSeconds: number;
  seed: number;
  apiUrl: string;
  token: string;
  /** progress lines (stderr); none when absent */
  progress?: (line: string) => void;
  /** per call (tests shorten the backoff) */
  call?: CallOptions;
  /** consecutive failed endings that stop the run (default 5) */
  maxEndFailures?: number;
  /** stops ending challenges early (Ctrl-C): the calls already planned are still made and reported */
  signal?: AbortSignal;
}

export interface RunSummary {
  ended: number;
  /** endings whose call was made (once or twice) */
  called: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  /** HTTP calls made: called + duplicated */
  requests: number;
  /** retries over all calls (503, refused connections) */
  retries: number;
  /** calls without a 2xx answer after their retries */
  failed: number;
  /** the first few of them, for the operator */
  failures: { challengeId: string; status: number | null; error?: string }[];
  /** final answers by status ("error" = no answer) */
  responses: Record<string, number>;
  latencyMs: { p50: number; p99: number; max: number };
  /** every challenge ended, in end order */
  challengeIds: string[];
  /** the ones whose call was dropped */
  droppedIds: string[];
  /** challenges opened because none was ACTIVE */
  created: number;
  /** legacy-rated endings */
  rated: number;
  endFailures: number;
  seed: number;
  rate: { target: number; achieved: number };
  durationSeconds: number;
  apiUrl: string;
}

/** Nearest-rank percentile of ascending values (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

export async function runAutopilot(dbs: Databases, opts: RunOptions): Promise<RunSummary> {
  const root = new Rng(opts.seed, 'autopilot');
  const planner = new CallPlanner({ drop: opts.drop, duplicate: opts.duplicate, reorder: opts.reorder }, root.fork('calls'));
  const results: CallResult[] = [];
  const responses: Record<string, number> = {};
  const ended: EndedChallenge[] = [];
  const inflight = new Set<Promise<void>>();
  let endFailures = 0;
  let consecutiveFailures = 0;
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;

  // the latest call made in end order: a held-back call is sent once that one (a later ending's) has been answered
  let lastInOrder: Promise<void> = Promise.resolve();
  const fire = (d: Delivery) => {
    const after = lastInOrder;
    const p = (async () => {
      if (d.reordered) await after;
      if (d.delayMs > 0) await sleep(d.delayMs);
      const r = await callEnded(opts.apiUrl, opts.token, d.challengeId, opts.call);
      results.push(r);
      const key = r.status === null ? 'error' : String(r.status);
      responses[key] = (responses[key] ?? 0) + 1;
    })();
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (!d.reordered && d.copy === 1) lastInOrder = p;
  };

  const report = () => {
    if (!opts.progress) return;
    const s = planner.stats;
    const lat = results.map((r) => r.latencyMs).sort((a, b) => a - b);
    const codes = Object.entries(responses)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
    opts.progress(
      `${elapsed().toFixed(1)}s ended ${s.ended} (${round1(s.ended / Math.max(elapsed(), 1e-3))}/s) called ${s.called} dropped ${s.dropped} ` +
        `duplicated ${s.duplicated} held ${s.held} | ${codes || 'no answers yet'} | p50 ${Math.round(percentile(lat, 50))}ms ` +
        `p99 ${Math.round(percentile(lat, 99))}ms | in flight ${inflight.size}`,
    );
  };
  const ticker = setInterval(report, 1000);
  try {
    const interval = 1000 / opts.rate;
    const total = opts.durationSeconds * 1000;
    for (let i = 0; ; i++) {
      const due = i * interval;
      if (due >= total || opts.signal?.aborted) break;
      const wait = due - (performance.now() - started);
      if (wait > 0) await sleep(wait);
      if (opts.signal?.aborted) break;
      let e: EndedChallenge;
      try {
        e = await endChallenge(dbs, { rng: root.fork(`ending/${i}`) });
        consecutiveFailures = 0;
      } catch (err) {
        endFailures++;
        consecutiveFailures++;
        opts.progress?.(`ending a challenge failed: ${(err as Error).message}`);
        if (consecutiveFailures >= (opts.maxEndFailures ?? 5)) throw err;
        continue;
      }
      ended.push(e);
      for (const d of planner.add(e.challengeId)) fire(d);
    }
    for (const d of planner.flush()) fire(d);
    while (inflight.size > 0) await Promise.all([...inflight]);
  } finally {
    clearInterval(ticker);
  }
  report();

  const s = planner.stats;
  const lat = results.map((r) => r.latencyMs).sort((a, b) => a - b);
  const failures = results.filter((r) => r.status === null || r.status < 200 || r.status > 299);
  const seconds = elapsed();
  return {
    ended: s.ended,
    called: s.called,
    dropped: s.dropped,
    duplicated: s.duplicated,
    reordered: s.reordered,
    requests: results.length,
    retries: results.reduce((n, r) => n + r.retries, 0),
    failed: failures.length,
    failures: failures.slice(0, 5).map((r) => ({ challengeId: r.challengeId, status: r.status, ...(r.error ? { error: r.error } : {}) })),
    responses,
    latencyMs: { p50: round1(percentile(lat, 50)), p99: round1(percentile(lat, 99)), max: round1(lat.at(-1) ?? 0) },
    challengeIds: ended.map((e) => e.challengeId),
    droppedIds: [...planner.dropped],
    created: ended.filter((e) => e.created).length,
    rated: ended.filter((e) => e.ratedMembers > 0).length,
    endFailures,
    seed: opts.seed,
    rate: { target: opts.rate, achieved: round1(s.ended / Math.max(Math.min(seconds, opts.durationSeconds), 1e-3)) },
    durationSeconds: round1(seconds),
    apiUrl: opts.apiUrl,
  };
}
