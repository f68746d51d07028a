import { z } from 'zod';
import { CONCURRENCY, concurrencyMessage } from './limits';
import { ThrottleSettings, type DbHealth } from './throttle';
import type { UnmappedSubTrack } from './mapping';

/** Phase A options, as the runbook names them. Validated at the CLI and again as the workflow's input. */
export const BackfillOptions = z
  .object({
    userIds: z
      .array(z.number().int().positive({ error: 'user ids are positive integers' }))
      .max(10_000, { error: 'at most 10,000 --user-id values; run a full backfill instead' })
      .optional(),
    /** ChallengeTrack id (UUID) or track name (DEVELOPMENT, DATA_SCIENCE, DESIGN, QUALITY_ASSURANCE) */
    track: z.string().min(1, { error: '--track-id must not be empty: a ChallengeTrack id or a track name such as DEVELOPMENT' }).optional(),
    /** ChallengeType id (UUID) or type name, as the API's enum spells it or the catalogue does (MARATHON_MATCH, Marathon Match) */
    type: z.string().min(1, { error: '--type-id must not be empty: a ChallengeType id or a type name such as Challenge' }).optional(),
    skipHistory: z.boolean().default(false),
    skipRerate: z.boolean().default(false),
    /** no rating work at all: no continuation, no re-ranking, no memberMaxRating (legacy's numbers are still copied) */
    skipRatings: z.boolean().default(false),
    /** ignore the checkpoints of an unfinished earlier run with the same options: start over */
    restart: z.boolean().default(false),
    /** where to write the ids of the members processed (the runbook's processed-user-ids file) */
    processedUserIdsPath: z.string().min(1, { error: '--processed-user-ids-path must not be empty' }).optional(),
    concurrency: z
      .number()
      .int()
      .min(CONCURRENCY.min, { error: concurrencyMessage() })
      .max(CONCURRENCY.max, { error: concurrencyMessage() })
      .default(4),
    limit: z.number().int().positive({ error: '--limit must be a positive whole number' }).optional(),
    batchSize: z
      .number()
      .int()
      .min(1, { error: '--batch-size must be between 1 and 5000' })
      .max(5000, { error: '--batch-size must be between 1 and 5000' })
      .default(500),
    csvOnly: z.boolean().default(false),
    csvPath: z.string().min(1, { error: '--csv-path must not be empty' }).optional(),
    /** live reads first: the run slows down or waits while the database is under strain (domain/throttle.ts) */
    throttle: ThrottleSettings.prefault({}),
  })
  .refine((o) => !o.csvOnly || o.csvPath !== undefined, {
    error: '--csv-only needs --csv-path <dir or file.csv> to write the CSV files to',
    path: ['csvPath'],
  })
  .refine((o) => o.csvPath === undefined || o.csvOnly, { error: '--csv-path only applies with --csv-only', path: ['csvPath'] });

export type BackfillOptions = z.infer<typeof BackfillOptions>;
/** What callers pass (defaults not yet applied): the workflows parse it. */
export type BackfillOptionsInput = z.input<typeof BackfillOptions>;

/** A keyset range of userId, inclusive at both ends. */
export type UserRange = readonly [number, number];

/** Per-step wall time in ms, summed over batches. */
export interface Timings {
  preload: number;
  aggregate: number;
  statsWrite: number;
  historyWrite: number;
  rerate: number;
  derived: number;
}

export const zeroTimings = (): Timings => ({ preload: 0, aggregate: 0, statsWrite: 0, historyWrite: 0, rerate: 0, derived: 0 });

export function addTimings(a: Timings, b: Timings): Timings {
  return {
    preload: a.preload + b.preload,
    aggregate: a.aggregate + b.aggregate,
    statsWrite: a.statsWrite + b.statsWrite,
    historyWrite: a.historyWrite + b.historyWrite,
    rerate: a.rerate + b.rerate,
    derived: a.derived + b.derived,
  };
}

/** A member whose batch share was heaviest: set-based SQL has no per-member clock, so weight is rows. */
export interface HeavyMember {
  userId: number;
  rows: number;
}

export interface BatchResult {
  range: UserRange;
  members: number;
  /** user ids referenced by source rows but absent from `member`: skipped, reported */
  missingMembers: number;
  missingSample: number[];
  statsRows: number;
  historyRows: number;
  staleRemoved: number;
  rerated: number;
  timings: Timings;
  heaviest: HeavyMember[];
  ms: number;
  /** the batch had committed before (a retried or resumed batch): these are the counts it recorded then */
  resumed?: boolean;
}

export interface BackfillTotals {
  members: number;
  missingMembers: number;
  missingSample: number[];
  statsRows: number;
  historyRows: number;
  staleRemoved: number;
  rerated: number;
  batches: number;
  timings: Timings;
  heaviest: HeavyMember[];
}

export const zeroTotals = (): BackfillTotals => ({
  members: 0,
  missingMembers: 0,
  missingSample: [],
  statsRows: 0,
  historyRows: 0,
  staleRemoved: 0,
  rerated: 0,
  batches: 0,
  timings: zeroTimings(),
  heaviest: [],
});

const SAMPLE = 10;

export function addBatch(t: BackfillTotals, b: BatchResult): BackfillTotals {
  return {
    members: t.members + b.members,
    missingMembers: t.missingMembers + b.missingMembers,
    missingSample: [...t.missingSample, ...b.missingSample].slice(0, SAMPLE),
    statsRows: t.statsRows + b.statsRows,
    historyRows: t.historyRows + b.historyRows,
    staleRemoved: t.staleRemoved + b.staleRemoved,
    rerated: t.rerated + b.rerated,
    batches: t.batches + 1,
    timings: addTimings(t.timings, b.timings),
    heaviest: [...t.heaviest, ...b.heaviest].sort((x, y) => y.rows - x.rows || x.userId - y.userId).slice(0, SAMPLE),
  };
}

export interface BackfillProgress {
  state: 'preparing' | 'running' | 'throttled' | 'paused' | 'finalizing' | 'done' | 'failed';
  membersDone: number;
  membersTotal: number;
  rowsWritten: number;
  batchesDone: number;
  batchesTotal: number;
  inFlight: number;
  concurrency: number;
  membersPerSec: number;
  etaSeconds: number | null;
  totals: BackfillTotals;
  lastError?: string;
  /** while the run holds itself back for live reads: batches allowed now, why, and the last reading */
  throttle?: { allowed: number; reasons: string[]; health?: DbHealth };
}

/** Progress at a moment of working time: what the recent rate is measured from. */
export type ProgressSample = readonly [atMs: number, done: number];

/** The window the reported rate covers: recent enough to follow a retune, a throttle or a resume. */
export const RATE_WINDOW_MS = 30_000;
/** Running with nothing finished for this long: stalled, no ETA. */
export const STALLED_AFTER_MS = 120_000;

/**
 * Items per second over the last `windowMs` of samples (oldest sample in the window to the newest), or undefined
 * when the window holds fewer than two samples or no time: the caller then falls back to the run's average.
 */
export function recentRate(samples: readonly ProgressSample[], nowMs: number, windowMs = RATE_WINDOW_MS): number | undefined {
  const inWindow = samples.filter(([t]) => nowMs - t <= windowMs);
  if (inWindow.length < 2) return undefined;
  const [t0, d0] = inWindow[0]!;
  const [t1, d1] = inWindow[inWindow.length - 1]!;
  return t1 > t0 ? ((d1 - d0) * 1000) / (t1 - t0) : undefined;
}

/** One line for the Web UI's current details and logs, e.g. "backfill 42% · paused · 1,234 members/s · ETA –". */
export function progressLine(
  what: string,
  p: { state: string; done: number; total: number; perSec: number; etaSeconds: number | null },
  unit: string,
): string {
  const pct = p.total > 0 ? Math.min(100, Math.floor((100 * p.done) / p.total)) : 0;
  const eta = p.etaSeconds === null ? '–' : p.etaSeconds < 90 ? `${Math.ceil(p.etaSeconds)} s` : `${Math.round(p.etaSeconds / 60)} min`;
  return `${what} ${pct}% · ${p.state} · ${p.done.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')} ${unit} · ${Math.round(p.perSec).toLocaleString('en-US')}/s · ETA ${eta}`;
}

/** Rate and ETA from work done over elapsed active time. */
export function rateAndEta(done: number, total: number, elapsedMs: number): { membersPerSec: number; etaSeconds: number | null } {
  const membersPerSec = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const etaSeconds = membersPerSec > 0 ? Math.max(0, (total - done) / membersPerSec) : null;
  return { membersPerSec, etaSeconds };
}

// --- The contract between the backfill workflows and their activities (payloads: ids and ranges, never rows) ---

/** Which members one batch covers: a keyset range of userId, or explicit ids. */
export type Scope = { range: UserRange } | { userIds: number[] };

/** What prepare resolves once for a run; batches get the part they need. */
export interface BatchPlan {
  trackId?: string;
  /** only this ChallengeType's rows are written */
  typeId?: string;
  /** batches record their commit (platform.backfillCheckpoint) under runKey, and a retried or resumed batch that finds it skips */
  checkpoint?: boolean;
  fullRun: boolean;
  /** identifies the run for CSV part files and checkpoints (a continued run keeps the stopped run's) */
  runKey: string;
  /** identifies this execution's rating replay (computed once per run and process; a continued run computes it anew) */
  replayKey?: string;
  /**
   * a refresh's batch (live, between whole re-rankings): a row newly rated in a partition whose ranks we compute gets
   * the rank it has among the stored ratings now, instead of none until the next re-ranking
   */
  provisionalRanks?: boolean;
  /** the batches join the run's reading of Challenge, taken when it began (store/backfill/challenge-snapshot.ts) */
  challengeSnapshot?: boolean;
}

export interface BackfillPlan extends BatchPlan {
  trackName?: string;
  typeName?: string;
  /** batches an unfinished earlier run with the same options already committed (skipped) */
  resumedBatches?: number;
  /** legacy rows of the run's members on sub-tracks the mapping does not know: not placed, reported */
  unmapped?: UnmappedSubTrack[];
  ranges: UserRange[];
  userIds: number[];
  membersTotal: number;
}

/** The part of a run's plan each batch needs. */
export function batchPlanOf(p: BatchPlan): BatchPlan {
  return {
    trackId: p.trackId,
    typeId: p.typeId,
    fullRun: p.fullRun,
    runKey: p.runKey,
    replayKey: p.replayKey,
    checkpoint: p.checkpoint,
    challengeSnapshot: p.challengeSnapshot,
  };
}

export interface BatchInput {
  scope: Scope;
  options: BackfillOptions;
  plan: BatchPlan;
  /** attempts a batch gets for an error that is not an outage (an outage is waited out); default DEFAULT_BATCH_ATTEMPTS */
  maxAttempts?: number;
}

export interface FinalizeResult {
  ranksChanged: number;
  orphansRemoved: number;
  csvFiles: string[];
}

/**
 * Where a dry run's CSV files go: `--csv-path dir` → dir/memberStats.csv and dir/memberStatsHistory.csv;
 * `--csv-path file.csv` → that file for the stats, and the history beside it (file-history.csv).
 */
export function csvTargets(csvPath: string): { dir: string; stats: string; history: string } {
  const slash = csvPath.replace(/\/+$/, '');
  if (/\.csv$/i.test(slash)) {
    const cut = slash.lastIndexOf('/');
    return { dir: cut >= 0 ? slash.slice(0, cut) || '/' : '.', stats: slash, history: slash.replace(/\.csv$/i, '-history.csv') };
  }
  return { dir: slash || '/', stats: `${slash}/memberStats.csv`, history: `${slash}/memberStatsHistory.csv` };
}

/** The options that decide which rows a run writes: a run with the same ones continues an unfinished one. */
export function resumeKeyOf(o: BackfillOptions): string {
  return JSON.stringify([o.track ?? null, o.type ?? null, o.limit ?? null, o.batchSize, o.skipHistory, o.skipRerate, o.skipRatings]);
}
