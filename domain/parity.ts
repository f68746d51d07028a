import { z } from 'zod';

/**
 * Phase B, parity: the categories, the run options, the report and the gate — pure, shared by the workflow, the
 * activities, the CLI and tests. The SQL of each category lives in store/parity/.
 */

export const PARITY_CATEGORIES = [
  'track-summary',
  'rating-mismatch',
  'history-count',
  'history-order',
  'rank-completeness',
  'most-recent-violations',
  'non-null-rows',
  'response-shape',
] as const;
export type ParityCategory = (typeof PARITY_CATEGORIES)[number];

/** Sampled ids travel in activity payloads: bounded well under Temporal's 2 MB. Larger → run --full. */
export const MAX_SAMPLES = 10_000;
export const DEFAULT_SAMPLES = 50;
/** The runbook's sampled gate: two clean runs of `--samples 50` (or more) on different samples. Smaller ones are spot checks. */
export const GATE_MIN_SAMPLES = 50;
/**
 * How far back the cutover's runs look under live traffic: a member changed this recently may still wait for its
 * refresh (the legacy pipeline writes first, our refresh follows), so its findings are deferred and re-checked.
 */
export const LIVE_LAG_GRACE_SECONDS = 30;
/**
 * Under live traffic: how old a clean re-check (mode 'changed') may be for the gate to hold on it. The data it
 * covers is "as of" its snapshot; older than this, run another (`parity --changed-since <base>`).
 */
export const RECHECK_FRESH_MINUTES = 15;
/** Deferred member ids kept per category (counts are exact; ids beyond this are not listed). */
export const MAX_DEFERRED_IDS = 1000;

const Seed = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: '--seed must be 1-64 letters, digits, - or _' });

export const ParityOptions = z
  .object({
    /** 'changed': a re-check of every member changed since the snapshot of parity evidence `since` */
    mode: z.enum(['sample', 'full', 'user', 'changed']),
    samples: z
      .number()
      .int()
      .min(1, { error: '--samples must be at least 1' })
      .max(MAX_SAMPLES, { error: `--samples must be at most ${MAX_SAMPLES}; use --full to check every member` })
      .optional(),
    /** picks the sample (and, with --full, the response-shape sample); recorded so the run can be repeated */
    seed: Seed.optional(),
    userId: z.number().int().positive({ error: '--user-id must be a positive whole number' }).optional(),
    /** mode 'changed': the parity evidence whose snapshot the re-check starts from */
    since: z.number().int().positive({ error: '--changed-since must be a parity evidence id' }).optional(),
    /** examples kept per category */
    examples: z
      .number()
      .int()
      .min(0, { error: '--examples must be between 0 and 1000' })
      .max(1000, { error: '--examples must be between 0 and 1000' })
      .default(10),
    /** members whose API responses are compared (response-shape): a per-member check, so bounded */
    shapeSamples: z.number().int().min(1).max(500).default(20),
    /**
     * under live traffic (the cutover): members changed this many seconds before the run's snapshot count as changed
     * since it — their refresh may still be in flight — so they are deferred and re-checked (LIVE_LAG_GRACE_SECONDS)
     */
    lagGraceSeconds: z.number().int().min(0).max(600).default(0),
  })
  .superRefine((o, ctx) => {
    if (o.mode === 'sample' && o.samples === undefined) ctx.addIssue({ code: 'custom', message: 'sampled parity needs --samples N' });
    if (o.mode !== 'sample' && o.samples !== undefined)
      ctx.addIssue({ code: 'custom', message: '--samples applies only to a sampled run (not with --full or --user-id)' });
    if (o.mode === 'user' && o.userId === undefined) ctx.addIssue({ code: 'custom', message: '--user-id needs a member id' });
    if (o.mode !== 'user' && o.userId !== undefined)
      ctx.addIssue({ code: 'custom', message: '--user-id cannot be combined with --samples or --full' });
    if (o.mode === 'user' && o.seed !== undefined) ctx.addIssue({ code: 'custom', message: '--seed has no effect with --user-id' });
    if (o.mode === 'changed' && o.since === undefined)
      ctx.addIssue({ code: 'custom', message: '--changed-since needs a parity evidence id' });
    if (o.mode !== 'changed' && o.since !== undefined)
      ctx.addIssue({ code: 'custom', message: '--changed-since cannot be combined with --samples, --full or --user-id' });
    if (o.mode === 'changed' && o.seed !== undefined)
      ctx.addIssue({ code: 'custom', message: '--seed has no effect with --changed-since' });
  });
export type ParityOptions = z.infer<typeof ParityOptions>;
/** What callers pass (defaults not yet applied): the workflow parses it. */
export type ParityInput = z.input<typeof ParityOptions>;

/** Which members the categories look at: every member present in `member`, or these ids. */
export type ParityScope = { all: true } | { userIds: number[] };

export interface CategoryInput {
  category: ParityCategory;
  scope: ParityScope;
  shapeUserIds: number[];
  examples: number;
  /** the run's snapshot (pg_snapshot text): findings of members changed since are deferred, not counted */
  snapshot?: string;
}

/**
 * Where a run starts from under live traffic: the snapshot taken after change capture was on (every later change
 * to a compared table marks its members in platform."changedMember"), its time, and the capture epoch (bumped
 * whenever changes may have gone unmarked: capture (re)installed, a compared table truncated).
 */
export interface ParityStart {
  snapshot: string;
  snapshotAt: string;
  epoch: number;
}

/** A re-check's scope: the members changed since its base's snapshot, or every member when too many changed. */
export interface RecheckScope {
  /** the base evidence */
  since: number;
  /** members changed since the base's snapshot (present in `member`), counted up to MAX_SAMPLES + 1 */
  changedMembers: number;
  /** why the re-check compares every member instead */
  ranAsFull?: string;
}

export interface ParityPlan {
  scope: ParityScope;
  /** response-shape members (a prefix of the seeded order) */
  shapeUserIds: number[];
  seed?: string;
  /** md5 of the sorted member ids in scope: "different samples" means different hashes */
  sampleHash: string;
  membersInScope: number;
  membersTotal: number;
  coversAllMembers: boolean;
  watermark: DataWatermark;
  /** absent when change capture is unavailable (then only the current-data rule can use the run) */
  start?: ParityStart;
  /** why change capture is unavailable, when it is */
  captureOff?: string;
  recheck?: RecheckScope;
}

/** The scope of a re-check over the changed members: bounded by MAX_SAMPLES, beyond that a full run. */
export function recheckScope(changed: readonly number[], max = MAX_SAMPLES): { scope: ParityScope; ranAsFull?: string } {
  if (changed.length > max)
    return { scope: { all: true }, ranAsFull: `more than ${max} members changed since the base: compared every member instead` };
  return { scope: { userIds: [...changed] } };
}

/** One difference: where (member, track/type or legacy family), which field, and both sides' values. */
export interface ParityExample {
  userId: number | null;
  track: string | null;
  type: string | null;
  field: string;
  legacy: unknown;
  unified: unknown;
}

export interface Findings {
  count: number;
  examples: ParityExample[];
}

/** Findings of members changed since the run's snapshot: not counted (the data moved under the run), re-checked later. */
export interface Deferred {
  /** deferred findings */
  count: number;
  /** their distinct members, ascending, at most MAX_DEFERRED_IDS */
  userIds: number[];
}

export interface CategoryResult extends Findings {
  /** reported, never failing: e.g. a null newRating on a challenge its metadata says is unrated */
  warnings?: Findings;
  /** findings of members changed since the run's snapshot (not in `count`) */
  deferred?: Deferred;
  ms: number;
}

export interface DeferredSummary {
  /** deferred findings over every category */
  findings: number;
  /** distinct members deferred (exact unless a category listed MAX_DEFERRED_IDS) */
  members: number;
  /** the first few */
  userIds: number[];
}

export interface ParityReport {
  /** no finding outside the deferred members */
  passed: boolean;
  categories: Record<ParityCategory, CategoryResult>;
  deferred: DeferredSummary;
}

export function summarizeParity(results: ReadonlyArray<readonly [ParityCategory, CategoryResult]>): ParityReport {
  const categories = Object.fromEntries(results) as Record<ParityCategory, CategoryResult>;
  const missing = PARITY_CATEGORIES.filter((c) => !categories[c]);
  if (missing.length > 0) throw new Error(`parity report lacks ${missing.join(', ')}`);
  const members = [...new Set(PARITY_CATEGORIES.flatMap((c) => categories[c].deferred?.userIds ?? []))].sort((a, b) => a - b);
  const deferred = {
    findings: PARITY_CATEGORIES.reduce((n, c) => n + (categories[c].deferred?.count ?? 0), 0),
    members: members.length,
    userIds: members.slice(0, 10),
  };
  return { passed: PARITY_CATEGORIES.every((c) => categories[c].count === 0), categories, deferred };
}

/**
 * What the data looked like: per table row count, content hash (order-independent) and, for our tables, the
 * latest updatedAt; `value` digests them all. Any insert, delete or changed value changes `value`; so does a
 * writer touching updatedAt even when it writes back the same content.
 */
export interface DataWatermark {
  value: string;
  tables: Record<string, { rows: number; hash: string; maxUpdatedAt?: string | null }>;
}

/** The watermark evidence is stored under: a run during which the data changed matches no data state. */
export function runWatermark(start: string, end: string): string {
  return start === end ? start : `changed-during-run:${start}:${end}`;
}

/** One stored parity run, as the gate reads it. */
export interface GateEvidence {
  id: number;
  /** no finding outside the deferred members */
  passed: boolean;
  mode: ParityOptions['mode'];
  seed?: string;
  /** members sampled (sampled runs) */
  samples?: number;
  sampleHash?: string;
  coversAllMembers: boolean;
  dataWatermark: string | null;
  createdAt: string;
  /** the snapshot the run started from (pg_snapshot text) and its time: absent on runs before change capture */
  snapshot?: string;
  snapshotAt?: string;
  /** the change-capture epoch as of the snapshot */
  epoch?: number;
  /** mode 'changed': the base evidence it re-checks from */
  since?: number;
  /** mode 'changed': members changed since the base's snapshot */
  changedMembers?: number;
  membersInScope?: number;
  /** members whose findings were deferred (changed since the run's snapshot) */
  deferredMembers?: number;
}

/** The evidence input as the parity workflow stores it, read back tolerantly (older rows lack the newer fields). */
export const StoredParityInput = z.object({
  mode: z.enum(['sample', 'full', 'user', 'changed']),
  seed: z.string().optional(),
  samples: z.number().int().optional(),
  sampleHash: z.string().optional(),
  coversAllMembers: z.boolean().default(false),
  membersInScope: z.number().int().optional(),
  snapshot: z.string().optional(),
  snapshotAt: z.string().optional(),
  epoch: z.number().int().optional(),
  since: z.number().int().optional(),
  changedMembers: z.number().int().optional(),
});

/** A stored parity row → what the gate reads; undefined when its input does not parse. */
export function gateEvidenceOf(row: {
  id: number;
  passed: boolean;
  input: unknown;
  /** result.deferred.members, when loaded */
  deferredMembers?: unknown;
  dataWatermark: string | null;
  createdAt: string;
}): GateEvidence | undefined {
  const i = StoredParityInput.safeParse(row.input);
  if (!i.success) return undefined;
  const deferred = typeof row.deferredMembers === 'number' ? { deferredMembers: row.deferredMembers } : {};
  return { id: row.id, passed: row.passed, ...i.data, ...deferred, dataWatermark: row.dataWatermark, createdAt: row.createdAt };
}

export interface ParityGate {
  passed: boolean;
  reason: string;
  /** the evidence the decision rests on */
  evidenceIds: number[];
  /** parity runs taken on other data (before it last changed): they no longer count */
  stale: number;
  currentWatermark: string;
  /**
   * under live traffic: the base evidence a re-check should start from (`parity --changed-since <id>`); absent when
   * a re-check cannot help (no base, or a run on the current data already found differences)
   */
  recheckSince?: number;
  /** under live traffic: the time the evidence covers the data up to (the re-check's snapshot) */
  asOf?: string;
}

/**
 * The parity gate. It holds on either rule:
 * - **current data** — over the runs taken on the current data (data watermark): one clean full run (or a sampled
 *   one that covered every member), or two clean sampled runs of at least GATE_MIN_SAMPLES members on different
 *   samples (different seeds and different member sets); any run on the current data that found a difference
 *   blocks it. Single-member runs are spot checks and never count.
 * - **live traffic** (liveParityRule) — a clean base taken from a snapshot plus a fresh clean re-check of every
 *   member changed since.
 */
export function evaluateParityGate(
  evidence: readonly GateEvidence[],
  currentWatermark: string,
  now: Date | string = new Date(),
): ParityGate {
  const onCurrent = currentDataRule(evidence, currentWatermark);
  if (onCurrent.passed) return onCurrent;
  const live = liveParityRule(evidence, typeof now === 'string' ? now : now.toISOString());
  if (!live) return onCurrent;
  // a run on the current data found differences: a re-check of the same data would only find them again
  const failedNow = evidence.some((e) => e.dataWatermark === currentWatermark && e.mode !== 'user' && !e.passed);
  const base = {
    stale: onCurrent.stale,
    currentWatermark,
    ...(failedNow ? {} : { recheckSince: live.recheckSince }),
    ...(live.asOf ? { asOf: live.asOf } : {}),
  };
  if (live.passed) return { ...base, passed: true, reason: live.reason, evidenceIds: live.evidenceIds };
  return {
    ...base,
    passed: false,
    reason: `${onCurrent.reason}; under live traffic: ${live.reason}`,
    evidenceIds: [...new Set([...onCurrent.evidenceIds, ...live.evidenceIds])],
  };
}

function currentDataRule(evidence: readonly GateEvidence[], currentWatermark: string): ParityGate {
  const current = evidence.filter((e) => e.dataWatermark === currentWatermark && e.mode !== 'user');
  const stale = evidence.filter((e) => e.dataWatermark !== currentWatermark && e.mode !== 'user').length;
  const base = { stale, currentWatermark };
  const failed = current.filter((e) => !e.passed);
  if (failed.length > 0) {
    return {
      ...base,
      passed: false,
      reason: `${failed.length} parity run(s) on the current data found differences`,
      evidenceIds: failed.map((e) => e.id),
    };
  }
  const newestFirst = [...current].sort(newest);
  const full = newestFirst.find((e) => e.mode === 'full' || e.coversAllMembers);
  if (full)
    return {
      ...base,
      passed: true,
      reason: `clean ${full.mode === 'full' ? 'full' : full.mode === 'sample' ? 'all-member sampled' : 'all-member'} run #${full.id} on the current data`,
      evidenceIds: [full.id],
    };
  const sampled = newestFirst.filter((e) => e.mode === 'sample' && (e.samples ?? 0) >= GATE_MIN_SAMPLES);
  const small = newestFirst.filter((e) => e.mode === 'sample' && (e.samples ?? 0) < GATE_MIN_SAMPLES).length;
  for (const [i, a] of sampled.entries()) {
    const b = sampled.slice(i + 1).find((x) => x.seed !== a.seed && x.sampleHash !== a.sampleHash);
    if (b)
      return {
        ...base,
        passed: true,
        reason: `clean sampled runs #${b.id} and #${a.id} on different samples of the current data`,
        evidenceIds: [b.id, a.id],
      };
  }
  const reason =
    sampled.length === 0
      ? small > 0
        ? `${small} clean sampled run(s) of fewer than ${GATE_MIN_SAMPLES} members: the gate needs --samples ${GATE_MIN_SAMPLES} (or more), or --full`
        : stale > 0
          ? `no parity run on the current data (${stale} older run(s) no longer count: the data changed since)`
          : 'no parity run yet'
      : `one clean sample so far: run another with a different --seed (--samples ${GATE_MIN_SAMPLES} or more), or run --full`;
  return { ...base, passed: false, reason, evidenceIds: sampled.map((e) => e.id) };
}

const newest = (a: GateEvidence, b: GateEvidence) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id;
const later = (a: GateEvidence, b: GateEvidence) => a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id);

interface LiveVerdict {
  passed: boolean;
  reason: string;
  evidenceIds: number[];
  recheckSince: number;
  asOf?: string;
}

/**
 * The gate under live traffic, where the data never stays still long enough for a run on "the current data". A
 * **base**: one clean full run (or all-member run), or two clean sampled runs of at least GATE_MIN_SAMPLES members
 * on different samples — each with a snapshot (the run deferred the members that changed after it). Its **root**
 * is the base run with the earliest snapshot. A **re-check** of the base: a clean run of mode 'changed' since the
 * root, whose snapshot is later than every base run's evidence (so every member the base deferred had changed
 * before it, and is in its scope), taken within RECHECK_FRESH_MINUTES. Together they cover every member as of the
 * re-check's snapshot, except the members the re-check itself deferred (changed after it). Broken by a full or
 * sampled run that found differences after the base, or a re-check that found differences after the clean one (a
 * later clean re-check supersedes a failed one: it compared every member changed since the base again). Newest
 * base first; undefined when no base exists.
 */
export function liveParityRule(evidence: readonly GateEvidence[], now: string): LiveVerdict | undefined {
  const runs = evidence.filter((e) => e.mode !== 'user');
  const started = runs.filter((e) => e.snapshot !== undefined && e.snapshotAt !== undefined).sort(newest);
  const bases: GateEvidence[][] = started.filter((e) => e.passed && (e.mode === 'full' || e.coversAllMembers)).map((e) => [e]);
  const sampled = started.filter((e) => e.passed && e.mode === 'sample' && (e.samples ?? 0) >= GATE_MIN_SAMPLES);
  for (const [i, a] of sampled.entries()) {
    const b = sampled.slice(i + 1).find((x) => x.seed !== a.seed && x.sampleHash !== a.sampleHash);
    if (b) bases.push([b, a]);
  }
  const done = (base: GateEvidence[]) => base.reduce((m, e) => (later(e, m) ? e : m));
  bases.sort((x, y) => newest(done(x), done(y)));
  let first: LiveVerdict | undefined;
  for (const base of bases) {
    const verdict = judgeBase(runs, base, now);
    if (verdict.passed) return verdict;
    first ??= verdict;
  }
  return first;
}

function judgeBase(runs: readonly GateEvidence[], base: GateEvidence[], now: string): LiveVerdict {
  const root = base.reduce((m, e) => (e.snapshotAt! < m.snapshotAt! || (e.snapshotAt === m.snapshotAt && e.id < m.id) ? e : m));
  const oldest = base.reduce((m, e) => (later(m, e) ? e : m));
  const finished = base.reduce((m, e) => (later(e, m) ? e : m)).createdAt;
  const ids = [...base].sort((a, b) => a.id - b.id).map((e) => e.id);
  const named = `clean base #${ids.join(',#')}`;
  const how = `parity --changed-since ${root.id}`;
  const common = { recheckSince: root.id };
  const isRecheck = (e: GateEvidence) => e.mode === 'changed' && !e.coversAllMembers;
  const brokenBy = runs.filter((e) => !e.passed && !isRecheck(e) && later(e, oldest)).sort(newest)[0];
  if (brokenBy)
    return {
      ...common,
      passed: false,
      reason: `parity run #${brokenBy.id} after the ${named} found differences`,
      evidenceIds: [brokenBy.id],
    };
  const rechecks = runs
    // a re-check run after the base was complete (its coverage point, snapshotAt, is moved back by the lag grace)
    .filter((e) => e.mode === 'changed' && e.since === root.id && e.snapshotAt !== undefined && e.createdAt > finished)
    .sort(newest);
  const clean = rechecks.find((e) => e.passed);
  const failedAfter = runs.filter((e) => isRecheck(e) && !e.passed && later(e, oldest) && (!clean || later(e, clean))).sort(newest)[0];
  const scopeOf = (e: GateEvidence) => `${e.changedMembers ?? e.membersInScope ?? '?'} changed member(s)`;
  if (failedAfter)
    return {
      ...common,
      passed: false,
      reason: `re-check #${failedAfter.id} of ${scopeOf(failedAfter)} found differences after the ${named}: fix them, then ${how}`,
      evidenceIds: [failedAfter.id],
    };
  if (!clean)
    return {
      ...common,
      passed: false,
      reason: `${named} as of ${root.snapshotAt}, but the data changed since and no re-check covers it: ${how}`,
      evidenceIds: ids,
    };
  const verdict = `${named} + re-check #${clean.id} of ${scopeOf(clean)}, ${clean.deferredMembers ?? 0} deferred, as of ${clean.snapshotAt}`;
  const evidenceIds = [...ids, clean.id];
  if (Date.parse(clean.snapshotAt!) < Date.parse(now) - RECHECK_FRESH_MINUTES * 60_000)
    return {
      ...common,
      asOf: clean.snapshotAt,
      passed: false,
      reason: `${verdict} — older than ${RECHECK_FRESH_MINUTES} minutes: ${how}`,
      evidenceIds,
    };
  return { ...common, asOf: clean.snapshotAt, passed: true, reason: verdict, evidenceIds };
}

/** Two findings of one category as one: counts added, the first `limit` examples in a stable order. */
export function merge(a: Findings, b: Findings, limit: number): Findings {
  const key = (e: Findings['examples'][number]) => `${String(e.userId ?? 0).padStart(20, '0')}/${e.track}/${e.type}/${e.field}`;
  return {
    count: a.count + b.count,
    examples: [...a.examples, ...b.examples].sort((x, y) => key(x).localeCompare(key(y))).slice(0, limit),
  };
}
