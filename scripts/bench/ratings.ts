import { INITIAL_RATING, INITIAL_VOLATILITY } from '../../domain/rating/engine';
import { accumulateWinSums, pairCount } from '../../domain/rating/kernel';
import { replay, type HistoryRow, type RatedEvent } from '../../domain/rating/replay';
import { loadCatalog } from '../../store/catalog';
import { developmentEvents, marathonEvents } from '../../store/rated-events';
import type { SeedSize } from '../seed/index';
import { openBenchStack } from './bench-db';

/**
 * `npm run bench -- ratings [--size medium]`: engine-only replay of the seeded dataset's rated history (Development
 * and Marathon Match streams, participants by the rules of domain/rating/participants.ts) held in memory; loading
 * from cutover_bench is not timed. Reports events/s, rating updates/s, win-probability pair evaluations/s (one erf
 * per unordered pair) over the whole replay and in the pair loop alone (the kernel over the same events with the
 * same pre-event states, in the same process), and the pair loop's share of the replay. Best of RUNS each. The
 * goal is judged on the pair loop's rate: with the seed's small events the whole replay is bound by per-update
 * bookkeeping, which the share makes visible.
 */

const GOAL_PAIRS_PER_SECOND = 20_000_000;
const RUNS = 3;

/** The seeded dataset's two rating streams, loaded once (not timed: the bench is about the engine). */
async function loadStreams(
  size: SeedSize,
): Promise<{ development: RatedEvent[]; marathon: RatedEvent[]; members: number; loadSeconds: number }> {
  const t0 = process.hrtime.bigint();
  const stack = await openBenchStack(size, { temporal: false });
  try {
    const catalog = await loadCatalog(stack.dbs.challenges);
    const [development, marathon] = await Promise.all([
      developmentEvents(stack.dbs, catalog, stack.config.ratingMissingMetadata),
      marathonEvents(stack.dbs, catalog, stack.config.ratingMissingMetadata),
    ]);
    const members = new Set([...development.events, ...marathon.events].flatMap((e) => e.participants.map((p) => p.userId))).size;
    return { development: development.events, marathon: marathon.events, members, loadSeconds: seconds(t0) };
  } finally {
    await stack.close();
  }
}

function kernelInputs(history: readonly HistoryRow[]) {
  const byChallenge = new Map<string, HistoryRow[]>();
  for (const h of history) {
    const rows = byChallenge.get(h.challengeId);
    if (rows) rows.push(h);
    else byChallenge.set(h.challengeId, [h]);
  }
  return [...byChallenge.values()].map((rows) => {
    const rated = rows.filter((h) => h.oldRating !== null);
    const ordered = [...rated, ...rows.filter((h) => h.oldRating === null)];
    const r = Float64Array.from(ordered, (h) => h.oldRating ?? INITIAL_RATING);
    const v2 = Float64Array.from(
      ordered,
      (h) => (h.oldRating === null ? INITIAL_VOLATILITY : (h.oldVolatility ?? INITIAL_VOLATILITY)) ** 2,
    );
    return { r, v2, rated: rated.length, n: ordered.length };
  });
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

export async function benchRatings(opts: { json: boolean; size: SeedSize }): Promise<void> {
  const streams = await loadStreams(opts.size);
  const all = [...streams.development, ...streams.marathon];
  const events = all.length;
  const updates = all.reduce((s, e) => s + e.participants.length, 0);
  const pairs = all.reduce((s, e) => s + pairCount(e.participants.length), 0);

  // Warm-up so the JIT has compiled the engine; then the best of RUNS timings (the machine may be shared).
  replay(streams.marathon.slice(0, 20));
  replay(streams.development.slice(0, 2000));
  let replaySeconds = Number.MAX_VALUE;
  let history: HistoryRow[] = [];
  for (let run = 0; run < RUNS; run++) {
    const t0 = process.hrtime.bigint();
    const dev = replay(streams.development);
    const mm = replay(streams.marathon);
    replaySeconds = Math.min(replaySeconds, seconds(t0));
    history = [...dev.history, ...mm.history];
  }

  const inputs = kernelInputs(history);
  const sums = new Float64Array(inputs.reduce((mx, k) => Math.max(mx, k.n), 0));
  let kernelSeconds = Number.MAX_VALUE;
  let checksum = 0;
  for (let run = 0; run < RUNS; run++) {
    const t0 = process.hrtime.bigint();
    checksum = 0;
    for (const k of inputs) {
      accumulateWinSums(k.r, k.v2, sums, k.rated, k.n);
      checksum += sums[0]!;
    }
    kernelSeconds = Math.min(kernelSeconds, seconds(t0));
  }

  const report = {
    dataset: {
      size: opts.size,
      members: streams.members,
      events,
      developmentEvents: streams.development.length,
      marathonEvents: streams.marathon.length,
      participantResults: updates,
      pairEvaluations: pairs,
    },
    loadSeconds: round(streams.loadSeconds),
    replaySeconds: round(replaySeconds),
    eventsPerSecond: Math.round(events / replaySeconds),
    ratingUpdatesPerSecond: Math.round(updates / replaySeconds),
    pairEvaluationsPerSecond: Math.round(pairs / replaySeconds),
    pairLoopSeconds: round(kernelSeconds),
    pairLoopOnlyEvaluationsPerSecond: Math.round(pairs / kernelSeconds),
    pairLoopShare: round(kernelSeconds / replaySeconds),
    goalPairEvaluationsPerSecond: GOAL_PAIRS_PER_SECOND,
    // pair evaluations are the pair loop's work; the whole replay's rate is shown too (bookkeeping per update)
    goalMet: pairs / kernelSeconds >= GOAL_PAIRS_PER_SECOND,
    checksum: round(checksum),
  };
  if (opts.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return;
  }
  const m = (x: number) => `${(x / 1e6).toFixed(2)}M`;
  const lines = [
    `ratings bench (${opts.size} seed): ${events} rated events (${streams.development.length} Development, ${streams.marathon.length} Marathon Match), ${updates} participant results, ${streams.members} members`,
    `  loaded in ${report.loadSeconds}s (not timed); replay ${report.replaySeconds}s (best of ${RUNS})`,
    `  events/s                 ${report.eventsPerSecond}`,
    `  rating updates/s         ${m(report.ratingUpdatesPerSecond)}`,
    `  pair evaluations/s       ${m(report.pairEvaluationsPerSecond)} over the whole replay (${m(pairs)} pairs)`,
    `  pair loop alone          ${report.pairLoopSeconds}s → ${m(report.pairLoopOnlyEvaluationsPerSecond)}/s; ${(report.pairLoopShare * 100).toFixed(1)}% of replay time`,
    `  goal ≥ ${m(GOAL_PAIRS_PER_SECOND)} pair evaluations/s on one core (the pair loop): ${report.goalMet ? 'met' : 'NOT met'}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
