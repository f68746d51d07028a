import { z } from 'zod';
import type { RerateOptionsInput } from './rerate';
import type { Stream } from './rerate';

/**
 * Phase E — autopilot's per-challenge refresh: what the routes accept (as member-api-v6 answers them), what the
 * workflows take and return. Pure.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A challenge as autopilot names it: its UUID, or its legacy integer id (as a number or a string of digits). */
export const ChallengeRef = z
  .union([z.string().trim(), z.number()])
  .transform((v) => String(v))
  .refine((v) => UUID.test(v) || /^\d{1,15}$/.test(v), { error: 'challengeId must be a challenge UUID or a legacy integer id' })
  .transform((v) => (UUID.test(v) ? v.toLowerCase() : v));

/** The body is optional: no body (or null) is no challenge named. */
export const MemberRefreshBody = z.preprocess((v) => v ?? {}, z.strictObject({ challengeId: ChallengeRef.optional() }));
export type MemberRefreshBody = z.infer<typeof MemberRefreshBody>;

/** The API enum names of the two rating streams (member-api-v6's rerate takes trackId/typeId by these names). */
export const RERATE_PAIRS: ReadonlyArray<{ trackId: string; typeId: string; stream: Stream }> = [
  { trackId: 'DEVELOP', typeId: 'Challenge', stream: 'develop' },
  { trackId: 'DATA_SCIENCE', typeId: 'MARATHON_MATCH', stream: 'marathon' },
];

export const MemberRerateBody = z
  .strictObject({ challengeId: ChallengeRef, trackId: z.string().trim(), typeId: z.string().trim() })
  .transform((b, ctx) => {
    const pair = RERATE_PAIRS.find((p) => p.trackId === b.trackId && p.typeId === b.typeId);
    if (!pair) {
      ctx.addIssue({
        code: 'custom',
        message: `trackId/typeId must be one of ${RERATE_PAIRS.map((p) => `${p.trackId}/${p.typeId}`).join(', ')} (got ${b.trackId}/${b.typeId})`,
      });
      return z.NEVER;
    }
    return { challengeId: b.challengeId, stream: pair.stream };
  });
export type MemberRerateBody = z.infer<typeof MemberRerateBody>;

export const RerateChallengeBody = z.strictObject({ challengeId: ChallengeRef });

/** Who asked, as the token says (never the token itself): stored with the evidence. */
export interface CallerRef {
  clientId: string;
  via: 'api' | 'reconciler' | 'cli';
}

export interface RefreshChallengeInput {
  challengeId: string;
  caller: CallerRef;
}

/** One member's refresh: their unified stats re-derived from the sources (challenge results included). */
export interface MemberRefreshResult {
  userId: number;
  handle: string;
  refreshed: boolean;
  challengeId: string | null;
  challengeResultsProcessed: number;
  statsUpdated: number;
}

export interface ChallengeRefreshResult {
  challengeId: string;
  name: string;
  endDate: string;
  /** participants with a member row, refreshed */
  members: number;
  /** participants missing from member (counted, never given rows) */
  missing: number;
  challengeResultsProcessed: number;
  statsUpdated: number;
  historyUpdated: number;
  /** the rating stream it belongs to when rated (the sequencer rated it before this returned), else null */
  stream: Stream | null;
  rated: { rows: number; rerateFrom?: string } | null;
  caller: CallerRef;
}

/** A challenge end as the per-stream sequencer takes it. */
export interface RatingRequest {
  challengeId: string;
  /** ms since epoch: the order the sequencer rates in (then id) */
  endAt: number;
  /** the refresh workflow waiting for it (signalled back), if any */
  replyTo?: string;
}

export interface RatingDone {
  challengeId: string;
  rows: number;
  /** the event was older than one already rated: the stream was rerated from it */
  rerateFrom?: string;
}

/** Sequencer order: end date, then id — the rating engine's own replay order. */
export const ratingOrder = (a: Pick<RatingRequest, 'endAt' | 'challengeId'>, b: Pick<RatingRequest, 'endAt' | 'challengeId'>) =>
  a.endAt - b.endAt || (a.challengeId < b.challengeId ? -1 : a.challengeId > b.challengeId ? 1 : 0);

/**
 * The per-stream sequencer's names, here so the activity that signal-with-starts it (activities may not import
 * workflow code) and the workflow's messages use the same ones.
 */
export const SEQUENCER = {
  workflowType: 'ratingSequencer',
  requested: 'ratingRequested',
  done: 'ratingDone',
  rerateRequested: 'rerateRequested',
  rerateDone: 'rerateDone',
  rerateWithdrawn: 'rerateWithdrawn',
  /** one per task queue (a deployment) and stream */
  workflowId: (taskQueue: string, stream: Stream) => `ratings/${taskQueue}/${stream}`,
} as const;

export interface SequencerInput {
  stream: Stream;
  /**
   * the deployment's task queue, as its starter named it: the id of the stream rerates it runs (from the input, not
   * the workflow's info, so a replay elsewhere names the same children); absent in sequencers started before
   */
  taskQueue?: string;
  /** requests carried over a continue-as-new */
  pending?: RatingRequest[];
  rerates?: StreamRerateRequest[];
  /** stream rerate requests seen lately: a request signalled again (its sender's activity redone) runs once */
  rerateIds?: string[];
}

/**
 * An operator's (or the cutover's) rerate of a whole stream from a challenge, run by the stream's sequencer between
 * its own ratings: one writer per stream, so a challenge ending during phase D cannot interleave with it.
 */
export interface StreamRerateRequest {
  requestId: string;
  from?: string;
  concurrency?: number;
  /** the rest of an operator's options (chunk size, throttle); `from` and `concurrency` above win */
  options?: Omit<RerateOptionsInput, 'stream' | 'preview'>;
  /** the workflow told when it is done (signal rerateDone); a CLI follows the rerate itself instead */
  replyTo?: string;
}

export interface StreamRerateDone {
  requestId: string;
  /** the rerate's child workflow */
  workflowId: string;
  evidenceId?: number;
  rows?: number;
  error?: string;
}

/** One refresh per challenge: a duplicate trigger joins the running one (workflowIdConflictPolicy USE_EXISTING). */
export const refreshChallengeWorkflowId = (challengeId: string) => `refresh/challenge/${challengeId}`;

/** The reconciler: a Temporal Schedule sweeping completed challenges no trigger refreshed. */
export const RECONCILE = {
  workflowType: 'refreshReconcile',
  scheduleId: 'cutover-refresh-reconciler',
  everyMinutes: 5,
  /** challenges looked at per chunk, and chunks per run: a long outage is caught up over several runs */
  chunk: 50,
  maxChunks: 20,
  /** refreshes in flight at once while catching up */
  parallel: 4,
} as const;

export interface ReconcileResult {
  chunks: number;
  looked: number;
  refreshed: string[];
  caughtUp: boolean;
  /** the mark was set for the first time (to the latest completed challenge): nothing before it is the reconciler's */
  initialized: boolean;
}
