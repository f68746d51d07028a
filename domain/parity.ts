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

const Seed = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: '--seed must be 1-64 letters, digits, - or _' });

export const ParityOptions = z
  .object({
    mode: z.enum(['sample', 'full', 'user']),
    samples: z
      .number()
      .int()
      .min(1, { error: '--samples must be at least 1' })
      .max(MAX_SAMPLES, { error: `--samples must be at most ${MAX_SAMPLES}; use --full to check every member` })
      .optional(),
    /** picks the sample (and, with --full, the response-shape sample); recorded so the run can be repeated */
    seed: Seed.optional(),
    userId: z.number().int().positive({ error: '--user-id must be a positive whole number' }).optional(),
    /** examples kept per category */
    examples: z
      .number()
      .int()
      .min(0, { error: '--examples must be between 0 and 1000' })
      .max(1000, { error: '--examples must be between 0 and 1000' })
      .default(10),
    /** members whose API responses are compared (response-shape): a per-member check, so bounded */
    shapeSamples: z.number().int().min(1).max(500).default(20),
  })
  .superRefine((o, ctx) => {
    if (o.mode === 'sample' && o.samples === undefined) ctx.addIssue({ code: 'custom', message: 'sampled parity needs --samples N' });
    if (o.mode !== 'sample' && o.samples !== undefined)
      ctx.addIssue({ code: 'custom', message: '--samples applies only to a sampled run (not with --full or --user-id)' });
    if (o.mode === 'user' && o.userId === undefined) ctx.addIssue({ code: 'custom', message: '--user-id needs a member id' });
    if (o.mode !== 'user' && o.userId !== undefined)
      ctx.addIssue({ code: 'custom', message: '--user-id cannot be combined with --samples or --full' });
    if (o.mode === 'user' && o.seed !== undefined) ctx.addIssue({ code: 'custom', message: '--seed has no effect with --user-id' });
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

export interface CategoryResult extends Findings {
  /** reported, never failing: e.g. a null newRating on a challenge its metadata says is unrated */
  warnings?: Findings;
  ms: number;
}

export interface ParityReport {
  passed: boolean;
  categories: Record<ParityCategory, CategoryResult>;
}

export function summarizeParity(results: ReadonlyArray<readonly [ParityCategory, CategoryResult]>): ParityReport {
  const categories = Object.fromEntries(results) as Record<ParityCategory, CategoryResult>;
  const missing = PARITY_CATEGORIES.filter((c) => !categories[c]);
  if (missing.length > 0) throw new Error(`parity report lacks ${missing.join(', ')}`);
  return { passed: PARITY_CATEGORIES.every((c) => categories[c].count === 0), categories };
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
  passed: boolean;
  mode: ParityOptions['mode'];
  seed?: string;
  /** members sampled (sampled runs) */
  samples?: number;
  sampleHash?: string;
  coversAllMembers: boolean;
  dataWatermark: string | null;
  createdAt: string;
}

export interface ParityGate {
  passed: boolean;
  reason: string;
  /** the evidence the decision rests on */
  evidenceIds: number[];
  /** parity runs taken on other data (before it last changed): they no longer count */
  stale: number;
  currentWatermark: string;
}

/**
 * The parity gate, over the runs taken on the current data: it passes after one clean full run (or a sampled one
 * that covered every member), or two clean sampled runs of at least GATE_MIN_SAMPLES members on different samples
 * (different seeds and different member sets). Any run on the current data that found a difference blocks it: the data has not changed since.
 * Single-member runs are spot checks and never count.
 */
export function evaluateParityGate(evidence: readonly GateEvidence[], currentWatermark: string): ParityGate {
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
  const newestFirst = [...current].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id);
  const full = newestFirst.find((e) => e.mode === 'full' || e.coversAllMembers);
  if (full)
    return {
      ...base,
      passed: true,
      reason: `clean ${full.mode === 'full' ? 'full' : 'all-member sampled'} run #${full.id} on the current data`,
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

/** Two findings of one category as one: counts added, the first `limit` examples in a stable order. */
export function merge(a: Findings, b: Findings, limit: number): Findings {
  const key = (e: Findings['examples'][number]) => `${String(e.userId ?? 0).padStart(20, '0')}/${e.track}/${e.type}/${e.field}`;
  return {
    count: a.count + b.count,
    examples: [...a.examples, ...b.examples].sort((x, y) => key(x).localeCompare(key(y))).slice(0, limit),
  };
}
