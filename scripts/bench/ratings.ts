import { INITIAL_RATING, INITIAL_VOLATILITY } from '../../domain/rating/engine';
import { accumulateWinSums, pairCount } from '../../domain/rating/kernel';
import { replay, type HistoryRow, type RatedEvent } from '../../domain/rating/replay';

/**
 * `npm run bench -- ratings`: engine-only replay of a medium-sized rated history held in memory (≈50k members,
 * ≈1M participant results: Development challenges of 10–40, Marathon Matches of 100–400), generated
 * deterministically. Reports events/s, rating updates/s, win-probability pair evaluations/s (one erf per
 * unordered pair) and the pair loop's share of the replay time, measured by running the kernel alone over the
 * same events with the same pre-event states in the same process. Each timing is the best of RUNS. The goal is
 * judged on the whole replay's rate (pairs / replay time), the stricter reading. No database, no assertions.
 */

const MEMBERS = 50_000;
const TARGET_RESULTS = 1_000_000;
const MM_SHARE = 0.3; // of participant results
const GOAL_PAIRS_PER_SECOND = 20_000_000;
const SEED = 20240501;
const RUNS = 3;

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Two streams (Development, Marathon Match) with skewed member activity and skill-driven scores. */
export function generateHistory(seed = SEED): { development: RatedEvent[]; marathon: RatedEvent[] } {
  const rnd = prng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const skill = Array.from({ length: MEMBERS }, () => gauss());
  // Activity ∝ 1/(rank+10): a few members compete very often, most rarely.
  const cumulative = new Float64Array(MEMBERS);
  let total = 0;
  for (let i = 0; i < MEMBERS; i++) cumulative[i] = total += 1 / (i + 10);
  const pickMember = () => {
    const x = rnd() * total;
    let lo = 0;
    let hi = MEMBERS - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const start = Date.UTC(2005, 0, 1);
  const span = Date.UTC(2025, 0, 1) - start;
  const makeStream = (prefix: string, results: number, min: number, max: number): RatedEvent[] => {
    const events: RatedEvent[] = [];
    for (let made = 0, k = 0; made < results; k++) {
      const size = min + Math.floor(rnd() * (max - min + 1));
      const members = new Set<number>();
      while (members.size < size) members.add(pickMember());
      const participants = [...members].map((m) => ({
        userId: String(100000 + m),
        // Coarse scores so ties occur, as in real results.
        score: Math.round((50 + 15 * (skill[m]! + 0.8 * gauss())) * 4) / 4,
      }));
      events.push({ challengeId: `${prefix}-${k}`, endDate: new Date(start + Math.floor(rnd() * span)), participants });
      made += size;
    }
    return events;
  };
  return {
    development: makeStream('dev', TARGET_RESULTS * (1 - MM_SHARE), 10, 40),
    marathon: makeStream('mm', TARGET_RESULTS * MM_SHARE, 100, 400),
  };
}

/** Per event, the kernel's inputs as the engine lays them out (rated first), from the replay's history rows. */
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
    const v2 = Float64Array.from(ordered, (h) => (h.oldRating === null ? INITIAL_VOLATILITY : (h.oldVolatility ?? INITIAL_VOLATILITY)) ** 2);
    return { r, v2, rated: rated.length, n: ordered.length };
  });
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

export async function benchRatings(opts: { json: boolean }): Promise<void> {
  const tGen = process.hrtime.bigint();
  const streams = generateHistory();
  const generateSeconds = seconds(tGen);
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
    dataset: { members: MEMBERS, events, developmentEvents: streams.development.length, marathonEvents: streams.marathon.length, participantResults: updates, pairEvaluations: pairs },
    generateSeconds: round(generateSeconds),
    replaySeconds: round(replaySeconds),
    eventsPerSecond: Math.round(events / replaySeconds),
    ratingUpdatesPerSecond: Math.round(updates / replaySeconds),
    pairEvaluationsPerSecond: Math.round(pairs / replaySeconds),
    pairLoopSeconds: round(kernelSeconds),
    pairLoopOnlyEvaluationsPerSecond: Math.round(pairs / kernelSeconds),
    pairLoopShare: round(kernelSeconds / replaySeconds),
    goalPairEvaluationsPerSecond: GOAL_PAIRS_PER_SECOND,
    goalMet: pairs / replaySeconds >= GOAL_PAIRS_PER_SECOND,
    checksum: round(checksum),
  };
  if (opts.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
    return;
  }
  const m = (x: number) => `${(x / 1e6).toFixed(2)}M`;
  const lines = [
    `ratings bench: ${events} events (${streams.development.length} Development, ${streams.marathon.length} Marathon Match), ${updates} participant results, ${MEMBERS} members`,
    `  generated in ${report.generateSeconds}s; replay ${report.replaySeconds}s (best of ${RUNS})`,
    `  events/s                 ${report.eventsPerSecond}`,
    `  rating updates/s         ${m(report.ratingUpdatesPerSecond)}`,
    `  pair evaluations/s       ${m(report.pairEvaluationsPerSecond)} over the whole replay (${m(pairs)} pairs)`,
    `  pair loop alone          ${report.pairLoopSeconds}s → ${m(report.pairLoopOnlyEvaluationsPerSecond)}/s; ${(report.pairLoopShare * 100).toFixed(1)}% of replay time`,
    `  goal ≥ ${m(GOAL_PAIRS_PER_SECOND)} pair evaluations/s on one core: ${report.goalMet ? 'met' : 'NOT met'}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
