import { z } from 'zod';
import { MemberHistory, MemberStats } from './member-stats';
import type { SwitchResult } from './read-source';

/**
 * Phase C as a workflow (workflows/switch): gate → capture legacy reads → flip to unified → verify unified reads
 * through the API → evidence, with an automatic rollback when the verification fails. The contracts and the pure
 * rules the verification applies live here; the workflow and its activities only move data between them.
 */

// ---------------------------------------------------------------------------------------------------------------
// Input and result

export const SWITCH_MEMBERS = { min: 3, max: 5, default: 5 } as const;

export const SwitchReadsInput = z.object(
  {
    actor: z
      .string({ error: 'actor must be a string: who switches' })
      .trim()
      .min(1, 'actor must not be empty')
      .max(200, 'actor is longer than 200 characters'),
    reason: z
      .string({ error: 'reason must be a string: why (it goes into the audit trail)' })
      .trim()
      .min(1, 'reason is required (it goes into the audit trail)')
      .max(2000, 'reason is longer than 2000 characters'),
    force: z.boolean({ error: 'force must be true or false' }).default(false),
    members: z
      .number({ error: 'members must be a whole number' })
      .int('members must be a whole number')
      .min(SWITCH_MEMBERS.min, `members must be ${SWITCH_MEMBERS.min} to ${SWITCH_MEMBERS.max}`)
      .max(SWITCH_MEMBERS.max, `members must be ${SWITCH_MEMBERS.min} to ${SWITCH_MEMBERS.max}`)
      .default(SWITCH_MEMBERS.default),
  },
  { error: 'the switch input must be an object {actor, reason, force?, members?}' },
);
/** What a caller passes (force and members optional). */
export type SwitchReadsInput = z.input<typeof SwitchReadsInput>;
/** After validation: defaults applied. */
export type SwitchReadsOptions = z.output<typeof SwitchReadsInput>;

/** Input problems, each naming its field ("members: members must be 3 to 5"). */
export function switchInputProblems(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'input'}: ${i.message}`);
}

/** The parity gate as the switch saw it. */
export interface SwitchGate {
  passed: boolean;
  reason: string;
  /** the parity evidence the decision rests on */
  evidenceIds: number[];
}

/** Where reads were taken: the member stats API over HTTP, or the store functions its routes call. */
export type ReadsVia = 'api' | 'store';
export const STORE_READ_PATH_NOTE = 'via store read path (API_URL not set)';

/** One member's unified reads checked against their legacy reads. */
export interface MemberReadsVerification {
  userId: number;
  handle: string;
  ok: boolean;
  /** each naming the member */
  problems: string[];
  legacy: { tracks: number; history: number };
  unified: { tracks: number; history: number };
}

export interface ReadsVerification {
  ok: boolean;
  via: ReadsVia;
  /** "GET http://…" or STORE_READ_PATH_NOTE */
  detail: string;
  /** how long the API took to answer from unified after the flip (0 on the store path) */
  waitedMs: number;
  members: MemberReadsVerification[];
  /** every problem, members' included */
  problems: string[];
}

export interface SwitchReadsResult {
  evidenceId: number;
  switched: SwitchResult;
  verification: ReadsVerification;
  /** the automatic rollback, when verification failed (then the workflow fails and carries this in its details) */
  rolledBack?: SwitchResult;
  gate: SwitchGate;
  /** reads went to unified although the gate did not hold (input.force) */
  forced: boolean;
}

/**
 * What a failed switch carries in its failure's details (ApplicationFailure.details[0]): the stage it stopped at
 * and what it had done by then. GateClosed and a failed capture flip nothing; a failed verification rolled back.
 */
export interface SwitchReadsFailureDetails extends Partial<Omit<SwitchReadsResult, 'gate'>> {
  stage: 'gate' | 'capture' | 'verify';
  evidenceId: number;
  gate: SwitchGate;
  forced: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Messages the audit trail and the operator read

export function gateClosedMessage(gateReason: string): string {
  return (
    `the parity gate does not hold (${gateReason}): run \`npm run cutover -- parity --full\` (or two sampled runs on ` +
    `different seeds) on the current data, or pass --force to switch anyway (recorded in the audit)`
  );
}

/** Prefixed to the operator's reason in the audit when the switch went past a closed gate. */
export const forcedNote = (gateReason: string) => `[forced past the parity gate: ${gateReason}]`;

export function rollbackReason(problems: readonly string[]): string {
  const shown = problems.slice(0, 3).join('; ');
  const more = problems.length > 3 ? ` and ${problems.length - 3} more` : '';
  return `automatic rollback: unified reads failed verification (${shown || 'no reason given'}${more})`;
}

// ---------------------------------------------------------------------------------------------------------------
// Structural comparison of JSON responses

/**
 * The structure of a JSON value: its type, an object's keys, an array's elements (all of them merged into one).
 * Small and bounded by the documented schema, whatever the data: it is what the capture step hands to the verify
 * step instead of the legacy responses themselves (payloads stay small for members with long histories).
 *
 * `null` carries no type. The documented schema (domain/member-stats.ts) declares every slot that may be null —
 * rating, ranks, percentile, dates, maxRating — so a null and a number in one slot are the same "nullable number"
 * slot: whether a member has a value there is data, not shape (legacy never rated what unified rates after legacy's
 * last event; an unrated key's maxRating is null). Both responses are parsed with that schema as well, which
 * refuses a null in a slot that may not be null (e.g. `challenges`), so nothing is lost by letting null match.
 */
export type JsonShape =
  | { kind: 'null' }
  | { kind: 'boolean' | 'number' | 'string' }
  | { kind: 'array'; items?: JsonShape }
  | {
      kind: 'object';
      fields: { [key: string]: JsonShape };
      /** keys some elements of the enclosing array lack (absent, not null) */
      sometimes?: string[];
    }
  /** elements of one array disagreeing in type (never null: null merges into any type) */
  | { kind: 'mixed'; kinds: string[] };

export function describeShape(v: unknown): JsonShape {
  if (v === null || v === undefined) return { kind: 'null' };
  if (Array.isArray(v)) {
    let items: JsonShape | undefined;
    for (const x of v) items = items === undefined ? describeShape(x) : mergeShapes(items, describeShape(x));
    return items === undefined ? { kind: 'array' } : { kind: 'array', items };
  }
  switch (typeof v) {
    case 'boolean':
    case 'number':
    case 'string':
      return { kind: typeof v as 'boolean' | 'number' | 'string' };
    case 'object': {
      const fields: { [key: string]: JsonShape } = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) fields[k] = describeShape(x);
      return { kind: 'object', fields };
    }
    default:
      // not JSON (a function, a bigint): shown by its JS type so it can never match a JSON type
      return { kind: 'mixed', kinds: [typeof v] };
  }
}

const kindsOf = (s: JsonShape): string[] => (s.kind === 'mixed' ? s.kinds : [s.kind]);

/** Two elements of one array as one shape. */
function mergeShapes(a: JsonShape, b: JsonShape): JsonShape {
  if (a.kind === 'null') return b;
  if (b.kind === 'null') return a;
  if (a.kind === 'mixed' || b.kind === 'mixed' || a.kind !== b.kind)
    return { kind: 'mixed', kinds: [...new Set([...kindsOf(a), ...kindsOf(b)])].sort() };
  if (a.kind === 'array' && b.kind === 'array') {
    if (!a.items) return b;
    if (!b.items) return a;
    return { kind: 'array', items: mergeShapes(a.items, b.items) };
  }
  if (a.kind === 'object' && b.kind === 'object') {
    const fields: { [key: string]: JsonShape } = {};
    const sometimes = new Set([...(a.sometimes ?? []), ...(b.sometimes ?? [])]);
    for (const k of new Set([...Object.keys(a.fields), ...Object.keys(b.fields)])) {
      const x = a.fields[k];
      const y = b.fields[k];
      if (x && y) fields[k] = mergeShapes(x, y);
      else {
        fields[k] = (x ?? y)!;
        sometimes.add(k);
      }
    }
    return sometimes.size > 0 ? { kind: 'object', fields, sometimes: [...sometimes].sort() } : { kind: 'object', fields };
  }
  return a;
}

export interface ShapeDifference {
  /** where, e.g. `$.tracks[].rating` */
  path: string;
  legacy: string;
  unified: string;
  message: string;
}

const describe = (s: JsonShape): string => (s.kind === 'mixed' ? `mixed (${s.kinds.join(' | ')})` : s.kind);

/**
 * Unified's shape against legacy's: the same keys at every level (a key legacy always has must be in every unified
 * element; a key legacy never has must not appear) and the same JSON type in every slot, recursively through
 * objects and arrays. A null on either side matches any type (see JsonShape); an empty array tells nothing about
 * its elements, so it matches any array.
 */
export function compareShapes(legacy: JsonShape, unified: JsonShape, path = '$'): ShapeDifference[] {
  if (legacy.kind === 'null' || unified.kind === 'null') return [];
  const diff = (message: string): ShapeDifference[] => [{ path, legacy: describe(legacy), unified: describe(unified), message }];
  if (legacy.kind === 'mixed' || unified.kind === 'mixed') {
    const same = kindsOf(legacy).join('|') === kindsOf(unified).join('|');
    return same ? [] : diff(`${path}: type changed from ${describe(legacy)} (legacy) to ${describe(unified)} (unified)`);
  }
  if (legacy.kind !== unified.kind) return diff(`${path}: type changed from ${legacy.kind} (legacy) to ${unified.kind} (unified)`);
  if (legacy.kind === 'array' && unified.kind === 'array') {
    if (!legacy.items || !unified.items) return [];
    return compareShapes(legacy.items, unified.items, `${path}[]`);
  }
  if (legacy.kind === 'object' && unified.kind === 'object') {
    const out: ShapeDifference[] = [];
    const lSometimes = new Set(legacy.sometimes ?? []);
    const uSometimes = new Set(unified.sometimes ?? []);
    for (const [k, l] of Object.entries(legacy.fields)) {
      const at = `${path}.${k}`;
      const u = unified.fields[k];
      if (!u) {
        out.push({ path: at, legacy: describe(l), unified: 'absent', message: `${at}: missing from the unified response (legacy has it)` });
        continue;
      }
      if (uSometimes.has(k) && !lSometimes.has(k))
        out.push({
          path: at,
          legacy: describe(l),
          unified: `${describe(u)} (in some entries only)`,
          message: `${at}: missing from some unified entries (every legacy entry has it)`,
        });
      out.push(...compareShapes(l, u, at));
    }
    for (const [k, u] of Object.entries(unified.fields)) {
      if (k in legacy.fields) continue;
      const at = `${path}.${k}`;
      out.push({ path: at, legacy: 'absent', unified: describe(u), message: `${at}: not in the legacy response (unified added it)` });
    }
    return out;
  }
  return [];
}

/** Two JSON responses compared structurally (describeShape on each, then compareShapes). */
export function compareResponseShapes(legacy: unknown, unified: unknown): ShapeDifference[] {
  return compareShapes(describeShape(legacy), describeShape(unified));
}

// ---------------------------------------------------------------------------------------------------------------
// History order

interface Ordered {
  date: string;
  challengeId: string;
  track: string;
  type: string;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The documented order (MemberHistory.history): chronological; ties by challengeId as text, then track, type. */
export function compareHistoryEntries(a: Ordered, b: Ordered): number {
  return byText(a.date, b.date) || byText(a.challengeId, b.challengeId) || byText(a.track, b.track) || byText(a.type, b.type);
}

/** The first pair out of the documented order, said plainly; undefined when the history is in order. */
export function historyOrderProblem(history: readonly Ordered[]): string | undefined {
  for (let i = 1; i < history.length; i++) {
    const [a, b] = [history[i - 1]!, history[i]!];
    if (compareHistoryEntries(a, b) > 0)
      return (
        `history out of order at entry ${i}: ${a.track}/${a.type} ${a.challengeId} (${a.date}) comes before ` +
        `${b.track}/${b.type} ${b.challengeId} (${b.date})`
      );
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// One member's reads: captured from legacy, verified from unified

/** A member's legacy reads as the capture step keeps them: shapes and counts, not the rows. */
export interface MemberCapture {
  userId: number;
  handle: string;
  stats: { shape: JsonShape; tracks: number };
  history: { shape: JsonShape; entries: number };
}

export interface SwitchCapture {
  via: ReadsVia;
  detail: string;
  members: MemberCapture[];
  /** anything that kept the capture from being complete: then nothing is switched */
  problems: string[];
}

/** One response as the verify step got it: an HTTP status and the JSON body (the store path: 200 or 404). */
export interface ReadResponse {
  status: number;
  body: unknown;
}

/** A structured mostRecent problem of one (user, track, type) group in the unified history table. */
export interface MostRecentProblem {
  userId: number;
  track: string;
  type: string;
  /** rows flagged mostRecent in the group (exactly one expected) */
  flagged: number;
  /** the group's latest eventDate, and the flagged row's (when exactly one) */
  latest: string | null;
  flaggedDate: string | null;
}

export function mostRecentMessage(p: MostRecentProblem): string {
  const at = `member ${p.userId}: ${p.track}/${p.type}`;
  if (p.flagged !== 1) return `${at} has ${p.flagged} mostRecent history rows in the unified table (exactly one expected)`;
  return `${at}: the mostRecent history row is dated ${p.flaggedDate}, but the latest eventDate is ${p.latest}`;
}

const schemaProblems = (what: string, schema: z.ZodType, body: unknown): string[] => {
  const r = schema.safeParse(body);
  if (r.success) return [];
  return r.error.issues.slice(0, 3).map((i) => `${what} not in the documented shape at ${i.path.join('.') || '(root)'}: ${i.message}`);
};

const readSourceOf = (body: unknown): unknown =>
  body !== null && typeof body === 'object' ? (body as { readSource?: unknown }).readSource : undefined;

/**
 * One member's unified reads against the legacy capture: both answers 200, said to come from unified, in the
 * documented schema, the same shape as legacy's (stats and history), history in the documented order and no
 * shorter than legacy's, and exactly one mostRecent row carrying the latest eventDate per (track, type).
 */
export function verifyMemberReads(
  legacy: MemberCapture,
  unified: { stats: ReadResponse; history: ReadResponse },
  mostRecent: readonly MostRecentProblem[],
): MemberReadsVerification {
  const at = `member ${legacy.userId} (${legacy.handle})`;
  const problems: string[] = [];
  let tracks = 0;
  let entries = 0;
  const check = (what: 'stats' | 'history', r: ReadResponse, schema: z.ZodType): boolean => {
    if (r.status !== 200) {
      problems.push(`${at}: ${what} ${r.status === 0 ? 'got no answer' : `answered ${r.status}`}${errorText(r.body)}`);
      return false;
    }
    const source = readSourceOf(r.body);
    if (source !== 'unified') problems.push(`${at}: ${what} answered from ${String(source)} reads, not unified`);
    const bad = schemaProblems(what, schema, r.body);
    problems.push(...bad.map((p) => `${at}: ${p}`));
    const legacyShape = what === 'stats' ? legacy.stats.shape : legacy.history.shape;
    for (const d of compareShapes(legacyShape, describeShape(r.body)))
      problems.push(`${at}: ${what} shape differs from legacy: ${d.message}`);
    return bad.length === 0;
  };
  if (check('stats', unified.stats, MemberStats)) {
    tracks = (unified.stats.body as MemberStats).tracks.length;
    if (tracks === 0) problems.push(`${at}: no stats from the unified tables`);
  }
  if (check('history', unified.history, MemberHistory)) {
    const history = (unified.history.body as MemberHistory).history;
    entries = history.length;
    const order = historyOrderProblem(history);
    if (order) problems.push(`${at}: ${order}`);
    if (entries < legacy.history.entries)
      problems.push(`${at}: ${entries} history entries from unified, ${legacy.history.entries} from legacy (no fewer expected)`);
  }
  for (const m of mostRecent) if (m.userId === legacy.userId) problems.push(mostRecentMessage(m));
  return {
    userId: legacy.userId,
    handle: legacy.handle,
    ok: problems.length === 0,
    problems,
    legacy: { tracks: legacy.stats.tracks, history: legacy.history.entries },
    unified: { tracks, history: entries },
  };
}

function errorText(body: unknown): string {
  if (body !== null && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string')
    return `: ${(body as { message: string }).message}`;
  return '';
}
