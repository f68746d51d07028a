import { z } from 'zod';
import { marathonRoundNumber } from './rating/participants';
import { RERATE_CREATED_BY } from './rerate';

/**
 * Phase D5 — dedupe. Migrated legacy Marathon Match history rows carry a numeric challengeId; the rerate writes the
 * same round again as a canonical row under the challenge's UUID. A numeric row is a duplicate when the same member
 * has a canonical row of the same round (RATINGS.md, "Marathon Match round matching"): the latest UUID row of the
 * Marathon Match key with a rating, placement > 0, written by a rerate. Dry run by default; an applied run keeps
 * what it removed (and the mostRecent flags it moved) so that undo puts everything back as it was. Pure.
 */

/** Who signs a canonical row: the Marathon Match rerate. */
export const CANONICAL_SIGNATURE = RERATE_CREATED_BY.marathon;

/** Report rows carried in workflow payloads and evidence (the counts are always complete). */
export const REPORT_ROWS = 500;

export const DedupeOptions = z.object({
  userIds: z
    .array(z.number().int().positive({ error: '--user-id takes positive whole numbers' }))
    .min(1, { error: '--user-id names no member: give at least one id, or leave it out for every member' })
    .max(10_000, { error: 'at most 10,000 --user-id values; leave --user-id out to dedupe every member' })
    .optional(),
  /** at most this many duplicate rows, in (member, round, row id) order */
  limit: z
    .number()
    .int()
    .positive({ error: '--limit must be a positive whole number (the most duplicate rows to remove); leave it out for all' })
    .optional(),
  /** false: report only, write nothing */
  apply: z.boolean().default(false),
});
export type DedupeOptions = z.infer<typeof DedupeOptions>;
export type DedupeOptionsInput = z.input<typeof DedupeOptions>;

/** A dedupe run is named by its workflow run id (what `--apply` prints). */
export const DedupeRunId = z
  .string()
  .trim()
  .min(1, { error: '--undo needs the run id `dedupe --apply` printed' })
  .max(200, { error: '--undo takes a run id (what `dedupe --apply` printed)' });

/** The workflow's input: a dry run or an apply, or the undo of an applied run. */
export type DedupeInput = { options: DedupeOptionsInput } | { undo: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMERIC = /^\d{1,18}$/;

export type IdKind = 'numeric' | 'uuid';

/** A history row's challengeId: a legacy numeric id, a challenge UUID, or neither (never a duplicate or canonical). */
export function challengeIdKind(challengeId: string): IdKind | undefined {
  return NUMERIC.test(challengeId) ? 'numeric' : UUID.test(challengeId) ? 'uuid' : undefined;
}

/**
 * The round of a Marathon Match history row: from the name of the challenge its id names (the UUID, or a numeric
 * id equal to a challenge's legacyId), else from the row's own challengeName ("MM 145" under an old round id).
 */
export function historyRound(row: { challengeName: string | null }, challengeName: string | undefined): number | null {
  const named = challengeName === undefined ? null : marathonRoundNumber(challengeName);
  return named ?? (row.challengeName === null ? null : marathonRoundNumber(row.challengeName));
}

/** One (challengeId, challengeName) pair of the Marathon Match history with its round: how SQL sees rounds. */
export interface RoundEntry {
  challengeId: string;
  challengeName: string | null;
  round: number;
  kind: IdKind;
}

/** A row a dedupe removes (or would), with the canonical row of its round that stays. */
export interface DuplicateRow {
  id: number;
  userId: number;
  round: number;
  challengeId: string;
  challengeName: string | null;
  eventDate: string;
  newRating: number | null;
  mostRecent: boolean;
  canonical: { id: number; challengeId: string; challengeName: string | null; eventDate: string | null; newRating: number | null };
}

export interface DuplicateSummary {
  /** duplicate rows, members and (member, round) pairs: complete counts */
  rows: number;
  members: number;
  rounds: number;
  /** the first REPORT_ROWS rows in (member, round, row id) order */
  examples: DuplicateRow[];
}

/** What a dry run found, or what an apply removed. */
export interface DedupeReport extends DuplicateSummary {
  runId: string;
  apply: boolean;
  options: DedupeOptions;
  /** apply: flags moved on surviving rows (cleared before set: one mostRecent row per member and key) */
  mostRecent?: { cleared: number; set: number };
  /** apply: this run had been applied before (a retry): nothing was done again */
  alreadyApplied?: boolean;
}

/** What an undo restored. */
export interface DedupeUndoResult {
  runId: string;
  restored: number;
  /** mostRecent flags put back on surviving rows */
  mostRecentRestored: number;
  /** the run had been undone before: nothing was done again */
  alreadyUndone: boolean;
  undoneAt: string;
}

/** What the dedupeRun table records of a run. */
export interface DedupeRunCounts {
  rows: number;
  members: number;
  rounds: number;
  mostRecentCleared: number;
  mostRecentSet: number;
  restored?: number;
  mostRecentRestored?: number;
}

/** Why a dedupe or undo refuses to act; the message says what to do. */
export type DedupeRefusalReason = 'unknown-run' | 'out-of-order' | 'conflict' | 'schema' | 'unknown-member';

export class DedupeRefused extends Error {
  override name = 'DedupeRefused';
  constructor(
    readonly reason: DedupeRefusalReason,
    message: string,
  ) {
    super(message);
  }
}
