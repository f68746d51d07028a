import { performance } from 'node:perf_hooks';
import { refreshActivities } from '../../../activities/refresh';
import { ratingOrder, type ChallengeRefreshResult, type RatingDone, type RatingRequest } from '../../../domain/refresh';
import { eventsFrom, rerateStream, type Stream } from '../../../domain/rerate';
import type { Stack } from '../../../lib/stack';
import { loadCatalog } from '../../../store/catalog';
import { storeEvidence } from '../../../store/evidence';
import { loadStream } from '../../../store/rerate/stream';
import { finalizeRerate, writeRerateRows } from '../../../store/rerate/write';

/**
 * Phase E's refresh without Temporal, for the bench's baseline: the same work as the refreshChallenge workflow, by
 * the same functions, called in process — refreshChallengeMembers (the activity function: every participant in one
 * transaction, on record), then for a rated challenge the stream's rating through an in-process sequencer that
 * does what workflows/refresh/sequencer.ts does (pending ends batched, rateEnded on them in rating order; when that
 * answers rerateFrom, the stream rerated from there — phase D's rerate as one replay and one write, no chunks —
 * then recordRatedFrom), then the evidence row. Where the time went is kept per call.
 */

export interface DirectTimes {
  members: number;
  /** from asking for the rating to having it (queued behind other batches included) */
  rating: number;
  evidence: number;
}

export interface SequencerStats {
  batches: number;
  /** rateEnded: calls and their time (ms) */
  rateEnded: number[];
  /** rerates run (rateEnded answered rerateFrom): their time (ms) */
  rerates: number[];
  /** steps run again after a deadlock */
  retries: number;
}

/**
 * Postgres's deadlock and serialization failures, and two transactions racing to set one member's mostRecent row
 * (its partial unique index): the transaction rolled back whole and may simply run again.
 */
const transient = (e: unknown) => {
  const { code, constraint } = e as { code?: string; constraint?: string };
  return code === '40P01' || code === '40001' || (code === '23505' && constraint === 'memberStatsHistory_mostRecent');
};

/**
 * A step run again when it lost a deadlock, as the workflow's activity is (there after RETRY_UNTIL_UP's 1 s, here
 * after a few ms: the direct path has no reason to wait); every other error is the step's.
 */
async function retried<T>(counter: { retries: number }, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 10 || !transient(e)) throw e;
      counter.retries++;
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
    }
  }
}

type Waiter = { request: RatingRequest; resolve: (d: RatingDone) => void; reject: (e: unknown) => void };

export function directRefresher(stack: Stack) {
  const acts = refreshActivities({ dbs: stack.dbs, config: stack.config });
  const catalog = loadCatalog(stack.dbs.challenges);
  const stats: SequencerStats = { batches: 0, rateEnded: [], rerates: [], retries: 0 };
  const queues = new Map<Stream, { pending: Waiter[]; running: boolean }>();

  /** phase D's rerate of a stream from one event forward, in process (what the rerate workflow's activities do) */
  async function rerateFrom(stream: Stream, from: string): Promise<void> {
    const cat = await catalog;
    const loaded = await loadStream(stack.dbs, cat, stream, stack.config.ratingMissingMetadata);
    const tail = eventsFrom(loaded.events, from) ?? [];
    const r = rerateStream(tail, loaded.stored, loaded.rowless);
    await stack.dbs.members.transaction().execute((tx) => writeRerateRows(tx, cat, stream, r.rows, loaded.challenges));
    await finalizeRerate(stack.dbs.members, cat, stream, [...r.states.keys()].map(Number));
  }

  async function drain(stream: Stream): Promise<void> {
    const q = queues.get(stream)!;
    q.running = true;
    try {
      while (q.pending.length > 0) {
        const batch = q.pending.splice(0, q.pending.length).sort((a, b) => ratingOrder(a.request, b.request));
        stats.batches++;
        try {
          const ids = [...new Set(batch.map((w) => w.request.challengeId))];
          let t = performance.now();
          const r = await retried(stats, () => acts.rateEnded({ stream, challengeIds: ids }));
          stats.rateEnded.push(performance.now() - t);
          const done = new Map<string, RatingDone>(r.done.map((d) => [d.challengeId, d]));
          if (r.rerateFrom) {
            t = performance.now();
            await retried(stats, () => rerateFrom(stream, r.rerateFrom!));
            for (const id of await retried(stats, () => acts.recordRatedFrom({ stream, from: r.rerateFrom! })))
              done.set(id, { challengeId: id, rows: 0, rerateFrom: r.rerateFrom });
            stats.rerates.push(performance.now() - t);
          }
          for (const w of batch) w.resolve(done.get(w.request.challengeId) ?? { challengeId: w.request.challengeId, rows: 0 });
        } catch (e) {
          for (const w of batch) w.reject(e);
        }
      }
    } finally {
      q.running = false;
    }
  }

  function requestRating(stream: Stream, request: RatingRequest): Promise<RatingDone> {
    let q = queues.get(stream);
    if (!q) queues.set(stream, (q = { pending: [], running: false }));
    const answer = new Promise<RatingDone>((resolve, reject) => q.pending.push({ request, resolve, reject }));
    if (!q.running) void drain(stream);
    return answer;
  }

  let n = 0;
  async function refresh(challengeId: string): Promise<{ result: ChallengeRefreshResult; times: DirectTimes }> {
    const caller = { clientId: 'bench-direct', via: 'cli' as const };
    let t = performance.now();
    const r = await retried(stats, () => acts.refreshChallengeMembers({ challengeId, caller }));
    const times: DirectTimes = { members: performance.now() - t, rating: 0, evidence: 0 };
    let rated: RatingDone | undefined;
    if (r.stream) {
      t = performance.now();
      rated = await requestRating(r.stream, { challengeId: r.challengeId, endAt: Date.parse(r.endDate) });
      times.rating = performance.now() - t;
    }
    const result: ChallengeRefreshResult = {
      ...r,
      rated: rated ? { rows: rated.rows, ...(rated.rerateFrom ? { rerateFrom: rated.rerateFrom } : {}) } : null,
    };
    t = performance.now();
    await retried(stats, () =>
      storeEvidence(stack.dbs.members, {
        kind: 'refresh',
        workflowId: `bench/refresh-direct/${r.challengeId}`,
        runId: `${process.pid}-${++n}`,
        passed: true,
        input: { challengeId, clientId: caller.clientId, via: caller.via },
        result,
      }),
    );
    times.evidence = performance.now() - t;
    return { result, times };
  }

  return { refresh, stats };
}
