import { z } from 'zod';
import { INITIAL_VOLATILITY } from './rating/engine';
import { applyEvent, orderEvents, type HistoryRow, type MemberState, type RatedEvent } from './rating/replay';
import { MARATHON_KEY, DEVELOP_RATED_KEY, type UnifiedKey } from './mapping';
import { CONCURRENCY, concurrencyMessage } from './limits';
import { ThrottleSettings, type DbHealth } from './throttle';
import type { PreviewDiff } from './rerate-preview';
import { drain, type Steps } from './steps';

/**
 * Phase D — an operator's rerate of a rating stream from a challenge forward. Unlike the backfill's continuation
 * (which preserves what the old system rated), a rerate recomputes: every event from the given challenge on is
 * replayed by the engine, each member starting from their state just before it, taken from the stored history
 * (the runbook's D1–D3: the last rated row's new rating and volatility — volatility falling back to 515 — and the
 * number of rated rows). What lies before the challenge is never touched. Pure.
 */

export const STREAMS = ['develop', 'marathon'] as const;
export type Stream = (typeof STREAMS)[number];

/** Where each stream's ratings live, and how its rows are signed (as the real rerate scripts sign them). */
export const STREAM_KEY: Record<Stream, UnifiedKey> = { develop: DEVELOP_RATED_KEY, marathon: MARATHON_KEY };
export const RERATE_CREATED_BY: Record<Stream, string> = { develop: 'rerate-member-stats', marathon: 'rerate-mm-stats' };

export const RerateOptions = z.object({
  stream: z.enum(STREAMS, { error: '--stream must be develop or marathon' }),
  /** the first challenge rerated (UUID, or a legacy numeric id); the stream's first event when omitted */
  from: z.string().trim().min(1, { error: '--from must name a challenge' }).optional(),
  /** into shadow tables, with a diff; `rerate promote <run>` applies exactly that */
  preview: z.boolean().default(false),
  /** events replayed and written per checkpointed chunk */
  chunkEvents: z
    .number()
    .int()
    .min(1, { error: '--chunk-events must be between 1 and 10000' })
    .max(10_000, { error: '--chunk-events must be between 1 and 10000' })
    .default(250),
  /** chunks written at once (each chunk's rows are computed before any is written, so order does not matter) */
  concurrency: z
    .number()
    .int()
    .min(CONCURRENCY.min, { error: concurrencyMessage() })
    .max(CONCURRENCY.max, { error: concurrencyMessage() })
    .default(2),
  throttle: ThrottleSettings.prefault({}),
});
export type RerateOptions = z.infer<typeof RerateOptions>;
export type RerateOptionsInput = z.input<typeof RerateOptions>;

/** A stored history row of the stream, its challenge already mapped to the stream's canonical event id. */
export interface StoredRow {
  userId: string;
  challengeId: string;
  eventAt: number;
  newRating: number | null;
  newVolatility: number | null;
}

/** Replay order of an event or a row: end date, then id (domain/rating/replay.ts's order). */
export interface Cutoff {
  at: number;
  challengeId: string;
}

const before = (r: { eventAt: number; challengeId: string }, c: Cutoff) =>
  r.eventAt < c.at || (r.eventAt === c.at && r.challengeId < c.challengeId);

/**
 * Each member's state just before `cutoff` from their stored rows: the last rated row's new rating and volatility
 * (515 when it has none), and how many rated rows precede. Members without a rated row before it are new (absent).
 */
export function seedStates(rows: readonly StoredRow[], cutoff: Cutoff): Map<string, MemberState> {
  const last = new Map<string, StoredRow>();
  const counts = new Map<string, number>();
  for (const r of rows) {
    if (r.newRating === null || !before(r, cutoff)) continue;
    counts.set(r.userId, (counts.get(r.userId) ?? 0) + 1);
    const l = last.get(r.userId);
    if (!l || before(l, { at: r.eventAt, challengeId: r.challengeId })) last.set(r.userId, r);
  }
  const out = new Map<string, MemberState>();
  for (const [userId, r] of last) {
    out.set(userId, { rating: r.newRating, volatility: r.newVolatility ?? INITIAL_VOLATILITY, timesRated: counts.get(userId)! });
  }
  return out;
}

/** The events from `from` on, in replay order (the whole stream when `from` is undefined); undefined when `from` is not one of them. */
export function eventsFrom(events: readonly RatedEvent[], from: string | undefined): RatedEvent[] | undefined {
  const ordered = orderEvents(events);
  if (from === undefined) return ordered;
  const i = ordered.findIndex((e) => e.challengeId === from);
  return i < 0 ? undefined : ordered.slice(i);
}

/**
 * The runbook's per-member rerate (D1–D3): one member replayed in memory through `events` (ordered, from the
 * first rerated one), every opponent seeded from their own stored rows before each event. Only the member's rows
 * are returned. challengesRerated = max(processed − 1, 0), as the real script counts it.
 */
export function rerateMember(
  userId: string,
  events: readonly RatedEvent[],
  stored: readonly StoredRow[],
): { rows: HistoryRow[]; state: MemberState | undefined; challengesRerated: number } {
  const mine = events.filter((e) => e.participants.some((p) => p.userId === userId));
  if (mine.length === 0) return { rows: [], state: undefined, challengesRerated: 0 };
  let state = seedStates(stored, { at: mine[0]!.endDate.getTime(), challengeId: mine[0]!.challengeId }).get(userId);
  const rows: HistoryRow[] = [];
  for (const e of mine) {
    const states = seedStates(
      stored.filter((r) => r.userId !== userId),
      { at: e.endDate.getTime(), challengeId: e.challengeId },
    );
    if (state) states.set(userId, { ...state });
    else states.delete(userId);
    const row = applyEvent(e, states).find((h) => h.userId === userId)!;
    rows.push(row);
    state = states.get(userId);
  }
  return { rows, state, challengesRerated: Math.max(mine.length - 1, 0) };
}

/** What a stream rerate computes: the engine's rows for every participant of the rerated events, and final states. */
export interface StreamRerate {
  rows: HistoryRow[];
  /** every member the rerated events touch, with their state after the stream's last row */
  states: Map<string, MemberState>;
}

const comparePosition = (a: { eventAt: number; challengeId: string }, b: { eventAt: number; challengeId: string }) =>
  a.eventAt - b.eventAt || (a.challengeId < b.challengeId ? -1 : a.challengeId > b.challengeId ? 1 : 0);

/**
 * The stream from `events[0]` on, replayed by the engine. Members start from their stored state before it
 * (seedStates). Stored rated rows the rerate does not rewrite — a legacy-only round with no challenge, a row of a
 * member the event no longer counts as a participant — stay as stored and count where they stand: the member's
 * state becomes that row's. Participants in `rowless` (missing from member: rated against, never given a row)
 * enter every event as new, as a rerate seeded from the stored rows will find them. So a later rerate seeded from
 * the stored rows meets exactly the states this one had, and a rerate after a full one changes nothing.
 */
export function rerateStream(
  events: readonly RatedEvent[],
  stored: readonly StoredRow[],
  rowless: ReadonlySet<string> = new Set(),
): StreamRerate {
  return drain(rerateStreamSteps(events, stored, rowless));
}

/** rerateStream, one event per step. */
export function* rerateStreamSteps(
  events: readonly RatedEvent[],
  stored: readonly StoredRow[],
  rowless: ReadonlySet<string> = new Set(),
): Steps<StreamRerate> {
  const ordered = orderEvents(events);
  if (ordered.length === 0) return { rows: [], states: new Map() };
  const first = ordered[0]!;
  const cutoff = { at: first.endDate.getTime(), challengeId: first.challengeId };
  const states = seedStates(stored, cutoff);
  const rerated = new Set(ordered.flatMap((e) => e.participants.map((p) => `${p.userId} ${e.challengeId}`)));
  const fixed = stored
    .filter((r) => r.newRating !== null && !before(r, cutoff) && !rerated.has(`${r.userId} ${r.challengeId}`))
    .sort(comparePosition);
  const touched = new Set<string>();
  const rows: HistoryRow[] = [];
  const settle = (r: StoredRow) => {
    const prior = states.get(r.userId)?.timesRated ?? 0;
    states.set(r.userId, { rating: r.newRating, volatility: r.newVolatility ?? INITIAL_VOLATILITY, timesRated: prior + 1 });
  };
  let f = 0;
  for (const e of ordered) {
    const at = { eventAt: e.endDate.getTime(), challengeId: e.challengeId };
    for (; f < fixed.length && comparePosition(fixed[f]!, at) < 0; f++) settle(fixed[f]!);
    for (const row of applyEvent(e, states)) {
      rows.push(row);
      if (rowless.has(row.userId)) states.delete(row.userId);
      else touched.add(row.userId);
    }
    yield;
  }
  for (; f < fixed.length; f++) settle(fixed[f]!);
  return { rows, states: new Map([...touched].map((id) => [id, states.get(id)!])) };
}

// --- The contract between the rerate workflow and its activities (payloads: counts and ids, never rows) ---

export interface ReratePlan {
  /** the run's key: its chunks' checkpoints and the in-memory replay are found by it */
  runKey: string;
  stream: Stream;
  /** the first challenge rerated (its canonical id) and its name */
  from: { challengeId: string; name: string } | null;
  events: number;
  chunks: number;
  chunkEvents: number;
  membersTouched: number;
  /** rows the replay computes (one per participant and event) */
  rows: number;
  /** into the shadow table, for `rerate promote` (absent in runs recorded before previews existed) */
  preview?: boolean;
}

export interface ChunkResult {
  chunk: number;
  events: number;
  rows: number;
  /** rows that changed (a second run writes none) */
  written: number;
  /** committed before (a retry whose completion was lost): what it recorded then */
  resumed?: boolean;
}

export interface RerateProgress {
  state: 'preparing' | 'running' | 'throttled' | 'paused' | 'finalizing' | 'done' | 'failed';
  stream: Stream | null;
  eventsDone: number;
  eventsTotal: number;
  chunksDone: number;
  chunksTotal: number;
  membersTouched: number;
  rowsWritten: number;
  inFlight: number;
  concurrency: number;
  eventsPerSec: number;
  etaSeconds: number | null;
  lastError?: string;
  throttle?: { allowed: number; reasons: string[]; health?: DbHealth };
}

export interface RerateFinal {
  statsChanged: number;
  ranksChanged: number;
  /** a preview run: nothing written to the unified tables; this is what promoting it would change */
  preview?: { runKey: string; diff: PreviewDiff };
}

/** What one member's rerate did (the runbook's D1–D3 result). */
export interface MemberRerateResult {
  userId: number;
  stream: Stream;
  /** max(processed − 1, 0), as the real script counts */
  challengesRerated: number;
  rows: number;
  written: number;
  statsChanged: number;
  ranksChanged: number;
}
