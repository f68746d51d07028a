import { z } from 'zod';
import { evaluateParityGate, GATE_MIN_SAMPLES, gateEvidenceOf, type GateEvidence, type ParityCategory, type ParityGate } from './parity';
import { STREAMS, type Stream } from './rerate';

/**
 * The go/no-go gates of the runbook, evaluated from stored evidence (platform.evidence) — pure, shared by the
 * store (store/gates.ts), the CLI (`gates`) and the cutover workflow (through an activity).
 *
 * Which evidence counts:
 * - `parity` is the parity gate as domain/parity.ts evaluates it, with its own recency rule: only runs on the
 *   current data (the data watermark) count. `since` does not apply to it.
 * - `most-recent`, `non-null`, `response-shape` and `history-order` read the categories of the parity runs the
 *   parity gate counted (its evidenceIds): every one of them must have the category clean. `response-shape` and
 *   `history-order` also hold on the newest passed switch verification (kind `switch`), unless a counted parity
 *   run found differences in the category — a difference found on the current data is not outweighed.
 * - every other piece of evidence counts only when created at or after `since` (e.g. the cutover's start).
 * - "any passed" gates (refresh-m2m, rerate-*): one passed piece is enough; a later failure does not undo it.
 *   "newest decides" gates (reports, the switch verification): the newest piece is the current state.
 */

export const GATES = [
  'parity',
  'most-recent',
  'non-null',
  'response-shape',
  'history-order',
  'refresh-m2m',
  'rerate-develop',
  'rerate-marathon',
  'reports',
] as const;
export type GateId = (typeof GATES)[number];

/** Members whose responses / history a check must have covered (the runbook's "for 5 members"). */
export const GATE_MEMBERS = 5;

/** What each gate asks, in the runbook's words (for tables and help). */
export const GATE_DESCRIPTIONS: Record<GateId, string> = {
  parity: `two clean parity runs at ${GATE_MIN_SAMPLES} on different samples, or a clean full run, on the current data`,
  'most-recent': 'zero mostRecent violation groups',
  'non-null': 'non-null rating rows ≥ legacy',
  'response-shape': `API responses identical to legacy for ${GATE_MEMBERS} members`,
  'history-order': `chronological history for ${GATE_MEMBERS} members`,
  'refresh-m2m': 'a refresh through the API with an M2M token succeeded',
  'rerate-develop': 'a Development rerate succeeded',
  'rerate-marathon': 'a Marathon Match rerate succeeded',
  reports: 'report queries non-null and agreeing',
};

/** How many parity runs the gate looks at (as store/parity/gate.ts does). */
export const PARITY_EVIDENCE_LIMIT = 1000;

/**
 * The result fields the gates read of evidence other than parity (the store loads only these, so a gate
 * evaluation never pulls whole result documents): the stream of a rerate or promote, what a promote came from, why
 * a run stopped or did not pass (error, reason, refused: one line; problems: a list of lines).
 */
export const RESULT_FIELDS = ['stream', 'promotedFrom', 'error', 'reason', 'refused', 'problems'] as const;

/** The evidence kinds the gates read. */
export const GATE_KINDS = ['parity', 'refresh', 'rerate', 'rerate-member', 'rerate-preview', 'switch', 'reports'] as const;

/** One row of platform.evidence as the gates read it. */
export interface StoredEvidence {
  id: number;
  kind: string;
  workflowId: string;
  runId: string;
  passed: boolean;
  input: unknown;
  /** absent when not loaded (the store loads parity results only for the runs the parity gate counted) */
  result?: unknown;
  dataWatermark: string | null;
  /** ISO time */
  createdAt: string;
}

/** One gate: whether it holds, why (and when it does not, what to run), and the evidence the answer rests on. */
export interface GateResult {
  gate: GateId;
  holds: boolean;
  reason: string;
  evidenceIds: number[];
}

export interface GoNoGo<G extends string = GateId> {
  go: boolean;
  /** the gates that do not hold, and runbook gates missing from the results */
  failing: G[];
}

const CLI = 'npm run cutover --';
const PARITY_FIX = `run \`${CLI} parity --full\` (or \`${CLI} parity --samples ${GATE_MIN_SAMPLES}\` twice with different --seed)`;

/** `--since`: an ISO time with an offset (…Z or …+02:00), or a day (YYYY-MM-DD, from 00:00 UTC); normalised to UTC. */
export const SinceTime = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], {
    error: '--since must be an ISO time such as 2025-01-31T12:00:00Z (or a day, 2025-01-31)',
  })
  .transform((v) => new Date(v.length === 10 ? `${v}T00:00:00Z` : v).toISOString());

const ms = (iso: string): number => {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`not an ISO time: ${iso}`);
  return t;
};
const newestFirst = (a: StoredEvidence, b: StoredEvidence) => ms(b.createdAt) - ms(a.createdAt) || b.id - a.id;
const ids = (rows: readonly StoredEvidence[]) => rows.map((r) => `#${r.id}`).join(', ');

// ---------------------------------------------------------------------------------------------------------------
// reading evidence tolerantly: older rows may lack fields, and a row that does not parse never counts

const ParityStoredInput = z.object({
  mode: z.enum(['sample', 'full', 'user', 'changed']),
  seed: z.string().optional(),
  samples: z.number().int().optional(),
  sampleHash: z.string().optional(),
  coversAllMembers: z.boolean().default(false),
  membersInScope: z.number().int().optional(),
  shapeSamples: z.number().int().optional(),
});

const Example = z.object({
  userId: z.number().nullable().optional(),
  track: z.string().nullable().optional(),
  type: z.string().nullable().optional(),
  field: z.string().optional(),
});
const ParityStoredResult = z.object({
  categories: z.record(z.string(), z.object({ count: z.number(), examples: z.array(Example).catch([]).default([]) })),
});

const Caller = z.object({ clientId: z.string(), via: z.string() });
/** The refresh workflow's caller: `input.caller` ({clientId, via}), or flat on the input as stored today. */
function callerOf(e: StoredEvidence): z.infer<typeof Caller> | undefined {
  const nested = z.object({ caller: Caller }).safeParse(e.input);
  if (nested.success) return nested.data.caller;
  const flat = Caller.safeParse(e.input);
  return flat.success ? flat.data : undefined;
}

const WithStream = z.object({ stream: z.enum(STREAMS) });
/** The stream of a rerate: the options' (stream rerate, member rerate), or the result's (a promoted preview). */
function streamOf(e: StoredEvidence): Stream | undefined {
  return WithStream.safeParse(e.input).data?.stream ?? WithStream.safeParse(e.result).data?.stream;
}

const field = (v: unknown, key: string): unknown => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined);
const whyStopped = (e: StoredEvidence): string => {
  const one = [field(e.result, 'error'), field(e.result, 'reason'), field(e.result, 'refused')].find(
    (v): v is string => typeof v === 'string' && v.trim() !== '',
  );
  const problems = field(e.result, 'problems');
  const why =
    one ??
    (Array.isArray(problems)
      ? problems
          .filter((p): p is string => typeof p === 'string')
          .slice(0, 3)
          .join('; ')
      : '');
  return why.trim() === '' ? '' : `: ${why.trim().slice(0, 300)}`;
};

/** A parity row as the parity gate reads it; undefined when its input does not parse. */
export function parityGateEvidence(e: StoredEvidence): GateEvidence | undefined {
  // the parity domain reads its own evidence (re-checks, snapshots and deferred members included)
  const deferred = (e.result as { deferred?: { members?: unknown } } | undefined)?.deferred?.members;
  return gateEvidenceOf({ ...e, ...(deferred === undefined ? {} : { deferredMembers: deferred }) });
}

/** The parity gate over the parity rows among `evidence` (other kinds are ignored). */
export function parityGateOf(evidence: readonly StoredEvidence[], currentWatermark: string): ParityGate {
  const rows = evidence.filter((e) => e.kind === 'parity').flatMap((e) => parityGateEvidence(e) ?? []);
  return evaluateParityGate(rows, currentWatermark);
}

// ---------------------------------------------------------------------------------------------------------------
// the gates

export interface GateOptions {
  /** ISO time: evidence created before it does not count (parity excepted: it keeps its current-data rule) */
  since?: string;
}

/** Every gate of the runbook over stored evidence (any order; kinds the gates do not read are ignored). */
export function evaluateGates(evidence: readonly StoredEvidence[], currentWatermark: string, opts: GateOptions = {}): GateResult[] {
  const since = opts.since === undefined ? undefined : SinceTime.parse(opts.since);
  const parity = parityGateOf(evidence, currentWatermark);
  const byId = new Map(evidence.map((e) => [e.id, e]));
  const counted = parity.evidenceIds.flatMap((id) => byId.get(id) ?? []);
  const sorted = [...evidence].sort(newestFirst);
  const recent = sorted.filter((e) => since === undefined || ms(e.createdAt) >= ms(since));
  const older = sorted.filter((e) => since !== undefined && ms(e.createdAt) < ms(since));
  const ctx: Ctx = { since, recent, older, counted };
  const switchVerification = newestSwitch(ctx);
  return [
    parityResult(parity, byId),
    categoryGate(ctx, 'most-recent', 'most-recent-violations', {
      noun: 'mostRecent violation group(s) (whole table)',
      fix: `re-backfill the members named (\`${CLI} backfill --user-id …\` sets mostRecent on each group's latest row), then ${PARITY_FIX}`,
    }),
    categoryGate(ctx, 'non-null', 'non-null-rows', {
      noun: 'unified key(s) with fewer non-null rating/rank rows than legacy',
      fix: `backfill the tracks and types named (\`${CLI} backfill --track-id … --type-id …\`), then ${PARITY_FIX}`,
    }),
    categoryGate(ctx, 'response-shape', 'response-shape', {
      noun: 'API response difference(s) from legacy',
      fix: `see \`${CLI} evidence <id>\` for the members and fields, fix them and re-backfill those members, then ${PARITY_FIX}`,
      coverage: (i) => i.shapeSamples,
      coverageNoun: "members' API responses compared",
      alternative: switchVerification,
    }),
    categoryGate(ctx, 'history-order', 'history-order', {
      noun: 'history order finding(s)',
      fix: `re-backfill the members named (\`${CLI} backfill --user-id …\`), then ${PARITY_FIX}`,
      coverage: (i) => i.membersInScope ?? (i.mode === 'sample' ? i.samples : undefined),
      coverageNoun: "members' history compared",
      alternative: switchVerification,
    }),
    refreshGate(ctx),
    ...STREAMS.map((s) => rerateGate(ctx, s)),
    reportsGate(ctx),
  ];
}

interface Ctx {
  since: string | undefined;
  /** every row created at or after `since`, newest first */
  recent: StoredEvidence[];
  /** rows created before `since`, newest first (they do not count; reasons name them) */
  older: StoredEvidence[];
  /** the parity rows the parity gate counted */
  counted: StoredEvidence[];
}

const sinceText = (ctx: Ctx) => (ctx.since ? ` since ${ctx.since}` : '');
const predates = (ctx: Ctx, e: StoredEvidence | undefined, what: string) =>
  e ? ` (${what} #${e.id} at ${e.createdAt} predates --since ${ctx.since}, so it does not count)` : '';

function parityResult(g: ParityGate, byId: Map<number, StoredEvidence>): GateResult {
  if (g.passed) return { gate: 'parity', holds: true, reason: g.reason, evidenceIds: g.evidenceIds };
  const failed = g.evidenceIds.filter((id) => byId.get(id)?.passed === false);
  const fix =
    failed.length > 0
      ? `see \`${CLI} evidence ${failed[0]}\` for the differences, fix them (re-backfill the members named: \`${CLI} backfill --user-id …\`), then ${PARITY_FIX}`
      : PARITY_FIX;
  return { gate: 'parity', holds: false, reason: `${g.reason} → ${fix}`, evidenceIds: g.evidenceIds };
}

type SwitchVerdict = { holds: boolean; reason: string; evidenceIds: number[] };

/** The newest switch verification since `since` (a switch to legacy — a rollback — verifies nothing). */
function newestSwitch(ctx: Ctx): SwitchVerdict {
  const isVerification = (e: StoredEvidence) => e.kind === 'switch' && field(e.input, 'to') !== 'legacy';
  const s = ctx.recent.find(isVerification);
  if (!s) {
    return {
      holds: false,
      reason: `no switch verification${sinceText(ctx)}${predates(ctx, ctx.older.find(isVerification), 'switch verification')}`,
      evidenceIds: [],
    };
  }
  return s.passed
    ? {
        holds: true,
        reason: `switch verification #${s.id} passed (unified reads verified, history order and mostRecent included)`,
        evidenceIds: [s.id],
      }
    : { holds: false, reason: `the newest switch verification #${s.id} failed${whyStopped(s)}`, evidenceIds: [s.id] };
}

function categoryGate(
  ctx: Ctx,
  gate: GateId,
  category: ParityCategory,
  o: {
    noun: string;
    fix: string;
    /** members a run covered; with `coverageNoun`, at least GATE_MEMBERS are needed */
    coverage?: (input: z.infer<typeof ParityStoredInput>) => number | undefined;
    coverageNoun?: string;
    /** another piece of evidence that makes the gate hold when parity cannot (the switch verification) */
    alternative?: SwitchVerdict;
  },
): GateResult {
  const orElse = (why: string, evidenceIds: number[] = []): GateResult => {
    const alt = o.alternative;
    if (alt?.holds) return { gate, holds: true, reason: `${alt.reason} (parity: ${why})`, evidenceIds: alt.evidenceIds };
    const fix = alt
      ? `${PARITY_FIX}, or \`${CLI} switch --to unified --reason …\` (its verification of members' reads counts)`
      : PARITY_FIX;
    return { gate, holds: false, reason: `${why}${alt ? `; ${alt.reason}` : ''} → ${fix}`, evidenceIds };
  };
  if (ctx.counted.length === 0) return orElse(`no parity run on the current data to read ${category} from`);
  const read = ctx.counted.map((e) => ({
    e,
    cat: ParityStoredResult.safeParse(e.result).data?.categories[category],
    input: ParityStoredInput.safeParse(e.input).data,
  }));
  const dirty = read.filter((r) => r.cat !== undefined && r.cat.count > 0);
  if (dirty.length > 0) {
    const n = dirty.reduce((s, r) => s + (r.cat?.count ?? 0), 0);
    const examples = dirty
      .flatMap((r) => r.cat?.examples ?? [])
      .slice(0, 3)
      .map((x) =>
        [x.userId == null ? null : `member ${x.userId}`, [x.track, x.type].filter((v) => v != null).join('/') || null, x.field]
          .filter(Boolean)
          .join(' '),
      );
    return {
      gate,
      holds: false,
      reason: `${n} ${o.noun} in parity ${ids(dirty.map((r) => r.e))} on the current data${examples.length ? ` (e.g. ${examples.join('; ')})` : ''} → ${o.fix.replace('<id>', String(dirty[0]?.e.id))}`,
      evidenceIds: dirty.map((r) => r.e.id),
    };
  }
  const missing = read.filter((r) => r.cat === undefined);
  if (missing.length > 0)
    return orElse(
      `parity ${ids(missing.map((r) => r.e))} records no ${category} category`,
      missing.map((r) => r.e.id),
    );
  const all = read.map((r) => r.e.id);
  if (o.coverage) {
    const covered = Math.max(0, ...read.map((r) => (r.input ? (o.coverage?.(r.input) ?? 0) : 0)));
    if (covered < GATE_MEMBERS)
      return orElse(
        `parity ${ids(read.map((r) => r.e))} clean in ${category}, but only ${covered} ${o.coverageNoun} (${GATE_MEMBERS} needed)`,
        all,
      );
    return {
      gate,
      holds: true,
      reason: `0 ${o.noun} in parity ${ids(read.map((r) => r.e))} on the current data (${covered} ${o.coverageNoun})`,
      evidenceIds: all,
    };
  }
  return { gate, holds: true, reason: `0 ${o.noun} in parity ${ids(read.map((r) => r.e))} on the current data`, evidenceIds: all };
}

function refreshGate(ctx: Ctx): GateResult {
  const m2m = (e: StoredEvidence) => {
    const c = callerOf(e);
    return e.kind === 'refresh' && e.passed && c !== undefined && c.via === 'api' && c.clientId.trim() !== '';
  };
  const hit = ctx.recent.find(m2m);
  if (hit) {
    const c = callerOf(hit);
    const challenge = field(hit.input, 'challengeId');
    return {
      gate: 'refresh-m2m',
      holds: true,
      reason: `refresh #${hit.id}${typeof challenge === 'string' ? ` of challenge ${challenge}` : ''} through the API by client ${c?.clientId} at ${hit.createdAt}`,
      evidenceIds: [hit.id],
    };
  }
  const refreshes = ctx.recent.filter((e) => e.kind === 'refresh');
  const vias = [...new Set(refreshes.filter((e) => e.passed).map((e) => callerOf(e)?.via ?? 'unknown caller'))];
  const failed = refreshes.filter((e) => !e.passed);
  const seen =
    refreshes.length === 0
      ? `no refresh evidence${sinceText(ctx)}`
      : `no refresh through the API with an M2M token${sinceText(ctx)}` +
        (vias.length ? ` (refreshes came via ${vias.join(', ')})` : '') +
        (failed.length ? ` (${failed.length} failed: ${ids(failed.slice(0, 5))})` : '');
  return {
    gate: 'refresh-m2m',
    holds: false,
    reason:
      `${seen}${predates(ctx, ctx.older.find(m2m), 'the latest M2M refresh')} → end a challenge so autopilot calls ` +
      `POST /members/stats/challenges/:id/ended with its M2M token (\`npm run autopilot -- --rate 1 --duration 10\` against a running ` +
      `\`npm run stack\`), or POST that route for an ended challenge with a token from \`${CLI} token --scope refresh:member_stats\``,
    evidenceIds: failed.map((e) => e.id),
  };
}

function rerateGate(ctx: Ctx, stream: Stream): GateResult {
  const gate: GateId = stream === 'develop' ? 'rerate-develop' : 'rerate-marathon';
  const name = stream === 'develop' ? 'Development' : 'Marathon Match';
  const ofStream = (e: StoredEvidence) => (e.kind === 'rerate' || e.kind === 'rerate-member') && streamOf(e) === stream;
  const hit = ctx.recent.find((e) => ofStream(e) && e.passed);
  if (hit) {
    const what =
      hit.kind === 'rerate-member'
        ? `member ${String(field(hit.input, 'userId') ?? '?')} rerate`
        : typeof field(hit.result, 'promotedFrom') === 'string'
          ? `promoted preview ${String(field(hit.result, 'promotedFrom'))}`
          : 'stream rerate';
    return { gate, holds: true, reason: `${name} ${what} #${hit.id} passed at ${hit.createdAt}`, evidenceIds: [hit.id] };
  }
  const failed = ctx.recent.filter((e) => ofStream(e) && !e.passed);
  const preview = ctx.recent.find((e) => e.kind === 'rerate-preview' && streamOf(e) === stream && e.passed);
  const seen =
    failed.length > 0
      ? `no ${name} rerate passed${sinceText(ctx)}: ${failed.length} did not (newest #${failed[0]?.id}${failed[0] ? whyStopped(failed[0]) || ', no member touched' : ''})`
      : `no ${name} rerate${sinceText(ctx)}`;
  const previewNote = preview ? `; preview #${preview.id} counts once promoted (\`${CLI} rerate promote <run>\`)` : '';
  return {
    gate,
    holds: false,
    reason:
      `${seen}${previewNote}${predates(
        ctx,
        ctx.older.find((e) => ofStream(e) && e.passed),
        `the latest ${name} rerate`,
      )} → run ` + `\`${CLI} rerate --stream ${stream}\` (or \`--user-id ID\` / \`--challenge C\` for one member or challenge)`,
    evidenceIds: failed.map((e) => e.id),
  };
}

function reportsGate(ctx: Ctx): GateResult {
  const newest = ctx.recent.find((e) => e.kind === 'reports');
  if (newest?.passed)
    return {
      gate: 'reports',
      holds: true,
      reason: `reports #${newest.id} non-null and agreeing (${newest.createdAt})`,
      evidenceIds: [newest.id],
    };
  const rerun = `run \`${CLI} reports\``;
  if (newest)
    return {
      gate: 'reports',
      holds: false,
      reason: `the newest reports check #${newest.id} failed${whyStopped(newest)} → see \`${CLI} evidence ${newest.id}\`, fix what it names, then ${rerun} again`,
      evidenceIds: [newest.id],
    };
  return {
    gate: 'reports',
    holds: false,
    reason: `no reports evidence${sinceText(ctx)}${predates(
      ctx,
      ctx.older.find((e) => e.kind === 'reports'),
      'reports',
    )} → ${rerun} (phase F)`,
    evidenceIds: [],
  };
}

/**
 * The go/no-go summary: go only when every result holds and every runbook gate is among them (a gate missing from
 * the results is failing, not forgotten). Extra results (e.g. `legacy-unused`) count like the others.
 */
export function goNoGo<G extends string>(results: ReadonlyArray<{ gate: G; holds: boolean }>): GoNoGo<G | GateId> {
  const present = new Set<string>(results.map((r) => r.gate));
  const failing: Array<G | GateId> = [...results.filter((r) => !r.holds).map((r) => r.gate), ...GATES.filter((g) => !present.has(g))];
  return { go: failing.length === 0, failing: [...new Set(failing)] };
}

// ---------------------------------------------------------------------------------------------------------------
// flag removal: the legacy read path unused during the rollback window

/** One row of platform."legacyRead": a route's legacy reads on one UTC day, and the time of the last. */
export interface LegacyReadRow {
  route: string;
  /** YYYY-MM-DD (UTC) */
  day: string;
  count: number;
  /** ISO time of the day's last read of the route */
  lastReadAt: string;
}

export interface LegacyWindow {
  /** ISO times, start ≤ end */
  start: string;
  end: string;
}

export interface LegacyUnused {
  gate: 'legacy-unused';
  holds: boolean;
  reason: string;
  evidenceIds: number[];
  window: LegacyWindow;
  /** rows whose last read fell inside the window: the legacy path was used */
  used: LegacyReadRow[];
  /** rows with several reads, the last after the window's end, on a day that overlaps it: a read inside cannot be ruled out */
  undetermined: LegacyReadRow[];
}

/**
 * Whether the legacy read path was unused in [start, end] (both ends included), from the per-route per-UTC-day
 * counter. A row's reads all happened on its day, at or before its lastReadAt; so a row
 * - with lastReadAt before start: every read was before the window (the same day included) — not in it;
 * - with lastReadAt in [start, end]: its last read was in the window — used;
 * - with lastReadAt after end: its last read was after the window; with count 1 that was its only read — not in
 *   it; on a day starting after end, neither were the others; otherwise its other reads may have been inside —
 *   undetermined, and an undetermined row does not let the check hold (unused must be proven).
 * Rows with count 0 are ignored. The counter flushes about once a second: evaluate a few seconds after `end`.
 */
export function legacyUnused(readsDuringWindow: readonly LegacyReadRow[], window: LegacyWindow): LegacyUnused {
  const start = ms(window.start);
  const end = ms(window.end);
  if (start > end) throw new Error(`the window starts (${window.start}) after it ends (${window.end})`);
  const used: LegacyReadRow[] = [];
  const undetermined: LegacyReadRow[] = [];
  let outside = 0;
  for (const r of readsDuringWindow) {
    if (r.count <= 0) continue;
    const last = ms(r.lastReadAt);
    const dayStart = ms(`${r.day}T00:00:00Z`);
    if (last < start) outside += r.count;
    else if (last <= end) used.push(r);
    else if (r.count === 1 || dayStart > end) outside += r.count;
    else undetermined.push(r);
  }
  const span = `${window.start} – ${window.end}`;
  const base = { gate: 'legacy-unused' as const, evidenceIds: [], window, used, undetermined };
  if (used.length === 0 && undetermined.length === 0)
    return {
      ...base,
      holds: true,
      reason: `no legacy read in ${span}${outside > 0 ? ` (${outside} legacy read(s) counted outside the window)` : ''}`,
    };
  const parts = [
    ...used.map((r) => `${r.route} read up to ${r.count} time(s) on ${r.day}, the last at ${r.lastReadAt}`),
    ...undetermined.map(
      (r) => `${r.route} read ${r.count} times on ${r.day}, the last at ${r.lastReadAt} after the window (earlier ones may fall inside it)`,
    ),
  ];
  return {
    ...base,
    holds: false,
    reason:
      `the legacy read path was ${used.length > 0 ? '' : 'possibly '}used in ${span}: ${parts.join('; ')} → find what reads legacy ` +
      `(the read source must be unified: \`${CLI} status\`), stop it, and wait out a new rollback window`,
  };
}
