import { ApplicationFailure, Context } from '@temporalio/activity';
import { Failure } from '../domain/failures';
import {
  refreshChallengeWorkflowId,
  SEQUENCER,
  type RefreshChallengeInput,
  type CallerRef,
  type ChallengeRefreshResult,
  type MemberRefreshResult,
  type RatingDone,
  type RatingRequest,
  type SequencerInput,
  type StreamRerateRequest,
} from '../domain/refresh';
import { eventsFrom, rerateStreamSteps, type Stream } from '../domain/rerate';
import { orderEvents } from '../domain/rating/replay';
import { existingMembers, findMember } from '../store/members/find';
import { challengeByRef, challengeParticipants, resultsOfMember, streamOf } from '../store/refresh/challenge';
import { ratedEvents, recordRated, recordRefresh } from '../store/refresh/log';
import { completedAfter, latestCompleted, readMark, refreshedAmong, writeMark } from '../store/refresh/reconcile';
import { refreshMembers } from '../store/refresh/members';
import { loadStreamFrom, streamEventsAmong, streamTail } from '../store/rerate/stream';
import { finalizeRerate, writeRerateRows } from '../store/rerate/write';
import { drainYielding } from '../store/yielding';
import { catalogCache } from './catalog-cache';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';

const invalid = (message: string) => ApplicationFailure.nonRetryable(message, Failure.InvalidInput);

/** Phase E: refreshing a challenge's participants, one member, and rating ended challenges in order. */
export function refreshActivities({ dbs, config, temporal }: ActivityDeps) {
  const getCatalog = catalogCache(dbs);

  async function ended(ref: string) {
    const c = await challengeByRef(dbs, ref);
    if (!c) throw invalid(`challenge ${ref}: no such challenge (a challenge UUID or legacy id)`);
    if (c.status !== 'COMPLETED' || c.endDate === null)
      throw invalid(`challenge ${ref} (${c.name}) has not ended: its status is ${c.status}; refresh it once it is COMPLETED`);
    return { ...c, endDate: c.endDate };
  }

  /** Signal-with-start of the stream's sequencer on this worker's task queue (one per deployment and stream). */
  const toSequencer = async (stream: Stream, signal: string, arg: RatingRequest | StreamRerateRequest): Promise<void> => {
    if (!temporal) throw new Error('this worker has no Temporal client for activities');
    const client = await temporal();
    const { taskQueue } = Context.current().info;
    const args: [SequencerInput] = [{ stream, taskQueue }];
    await client.workflow.signalWithStart(SEQUENCER.workflowType, {
      workflowId: SEQUENCER.workflowId(taskQueue, stream),
      taskQueue,
      args,
      signal,
      signalArgs: [arg],
    });
  };

  return {
    /** Every participant of an ended challenge refreshed in one transaction; the refresh is on record. */
    async refreshChallengeMembers(input: { challengeId: string; caller: CallerRef }): Promise<Omit<ChallengeRefreshResult, 'rated'>> {
      return heartbeating(async () => {
        const c = await ended(input.challengeId);
        const cat = await getCatalog();
        const participants = await challengeParticipants(dbs, c.id);
        const present = await existingMembers(dbs.members, participants);
        const r = await refreshMembers(dbs, cat, present, `refresh:${c.id}`);
        const out = {
          challengeId: c.id,
          name: c.name,
          endDate: c.endDate.toISOString(),
          members: present.length,
          missing: participants.length - present.length,
          challengeResultsProcessed: participants.length,
          statsUpdated: r.statsRows,
          historyUpdated: r.historyRows,
          stream: streamOf(cat, c),
          caller: input.caller,
        };
        await recordRefresh(dbs.members, { ...out, rated: null }, input.caller);
        return out;
      });
    },

    /** One member (by handle) refreshed, as member-api-v6's POST /members/:handle/stats/refresh answers. */
    async refreshMemberRun(input: { handle: string; challengeId?: string }): Promise<MemberRefreshResult> {
      return heartbeating(async () => {
        const m = await findMember(dbs.members, input.handle);
        if (!m) throw invalid(`member ${input.handle}: no such handle`);
        const c = input.challengeId === undefined ? undefined : await ended(input.challengeId);
        const r = await refreshMembers(dbs, await getCatalog(), [m.userId], `refresh:member:${m.userId}`);
        return {
          userId: m.userId,
          handle: m.handle,
          refreshed: true,
          challengeId: c?.id ?? null,
          challengeResultsProcessed: await resultsOfMember(dbs, m.userId, c?.id),
          statsUpdated: r.statsRows + r.historyRows,
        };
      });
    },

    /**
     * The sequencer's step: of the requested ends, those the stream rates and nobody rated yet are rated from the
     * earliest, in the engine's order (end date, id). When rating from there would rewrite events rated before
     * (the request came late, or out of order), it is a rerate from it forward: returned for the workflow to run
     * as phase D's chunked rerate. Otherwise the replay is small and done here, in one transaction.
     */
    async rateEnded(input: {
      stream: Stream;
      challengeIds: string[];
    }): Promise<{ done: RatingDone[]; rerateFrom?: string; skipped: string[] }> {
      return heartbeating(async () => {
        const cat = await getCatalog();
        const policy = config.ratingMissingMetadata;
        const requested = await streamEventsAmong(dbs, cat, input.stream, policy, input.challengeIds);
        const inStream = new Set(requested.map((e) => e.challengeId));
        const already = await ratedEvents(dbs.members, input.stream, input.challengeIds);
        const todo = input.challengeIds.filter((id) => inStream.has(id) && !already.has(id));
        const skipped = input.challengeIds.filter((id) => !todo.includes(id));
        if (todo.length === 0) return { done: [], skipped };
        const first = orderEvents(requested.filter((e) => todo.includes(e.challengeId)))[0]!;
        // the stream from the first end on, not the whole stream: what is before it only seeds its members' states
        const loaded = await loadStreamFrom(dbs, cat, input.stream, policy, first.endDate);
        const tail = eventsFrom(loaded.events, first.challengeId);
        if (!tail)
          throw new Error(`challenge ${first.challengeId} left the ${input.stream} stream while it was read; the attempt is retried`);
        const later = tail.filter((e) => !todo.includes(e.challengeId));
        if (later.length > 0) {
          // The rerate also rates the later ends; a participant without a row of one yet (no refresh reached it: its
          // trigger still to come, or lost) is refreshed first, so the rerate rewrites the row a refresh writes (a
          // Development row carries the legacy id) rather than adding its own beside it, which that refresh would
          // then duplicate.
          const stored = new Set(loaded.stored.map((r) => `${r.userId} ${r.challengeId}`));
          const underived = new Set(
            later.flatMap((e) => e.participants.filter((p) => !stored.has(`${p.userId} ${e.challengeId}`)).map((p) => Number(p.userId))),
          );
          const present = await existingMembers(
            dbs.members,
            [...underived].sort((a, b) => a - b),
          );
          await refreshMembers(dbs, cat, present, `refresh:rerate-from:${first.challengeId}`);
          return { done: [], rerateFrom: first.challengeId, skipped };
        }
        const r = await drainYielding(rerateStreamSteps(tail, loaded.stored, loaded.rowless));
        await dbs.members.transaction().execute((tx) => writeRerateRows(tx, cat, input.stream, r.rows, loaded.challenges));
        await finalizeRerate(dbs.members, cat, input.stream, [...r.states.keys()].map(Number));
        // on record as rated only once finalized: an attempt that fails after the write (a deadlock in the
        // finalize, a lost worker) is retried from the start — the replay is seeded from rows before the tail, so
        // it writes the same rows again — instead of finding its events rated and skipping the stats rows
        await recordRated(
          dbs.members,
          input.stream,
          tail.map((e) => ({ challengeId: e.challengeId, endDate: e.endDate })),
        );
        const rows = new Map<string, number>();
        for (const h of r.rows) rows.set(h.challengeId, (rows.get(h.challengeId) ?? 0) + 1);
        return { done: tail.map((e) => ({ challengeId: e.challengeId, rows: rows.get(e.challengeId) ?? 0 })), skipped };
      });
    },

    /** Hands a challenge end to its stream's sequencer, starting it when none runs (signal-with-start). */
    async requestRating(input: { stream: Stream; request: RatingRequest }): Promise<void> {
      await toSequencer(input.stream, SEQUENCER.requested, input.request);
    },

    /** Hands an operator's stream rerate to the stream's sequencer (signal-with-start): one writer per stream. */
    async requestStreamRerate(input: { stream: Stream; request: StreamRerateRequest }): Promise<void> {
      await toSequencer(input.stream, SEQUENCER.rerateRequested, input.request);
    },

    /** The reconciler's next chunk: completed challenges past the mark that no trigger refreshed (the mark is set on first use). */
    async reconcileChunk(input: {
      limit: number;
    }): Promise<{ looked: Array<{ challengeId: string; endDate: string }>; unrefreshed: string[]; initialized: boolean }> {
      const mark = await readMark(dbs.members);
      if (!mark) {
        const latest = await latestCompleted(dbs);
        if (latest) await writeMark(dbs.members, latest);
        return { looked: [], unrefreshed: [], initialized: true };
      }
      const after = await completedAfter(dbs, mark, input.limit);
      const done = await refreshedAmong(
        dbs.members,
        after.map((c) => c.challengeId),
      );
      return {
        looked: after,
        unrefreshed: after.filter((c) => !done.has(c.challengeId)).map((c) => c.challengeId),
        initialized: false,
      };
    },

    async advanceMark(input: { challengeId: string; endDate: string }): Promise<void> {
      await writeMark(dbs.members, input);
    },

    /** A refresh started, or joined when a trigger's is running, and waited for: the reconciler's catch-up of one end. */
    async refreshThrough(input: { challengeId: string }): Promise<ChallengeRefreshResult> {
      if (!temporal) throw new Error('this worker has no Temporal client for activities');
      const client = await temporal();
      return heartbeating(async () => {
        const args: [RefreshChallengeInput] = [{ challengeId: input.challengeId, caller: { clientId: 'reconciler', via: 'reconciler' } }];
        const h = await client.workflow.start('refreshChallenge', {
          workflowId: refreshChallengeWorkflowId(input.challengeId),
          taskQueue: Context.current().info.taskQueue,
          workflowIdConflictPolicy: 'USE_EXISTING',
          args,
        });
        return (await h.result()) as ChallengeRefreshResult;
      });
    },

    /** After the sequencer's rerate from `from`: every event from it on is rated. */
    async recordRatedFrom(input: { stream: Stream; from: string }): Promise<string[]> {
      const tail = await streamTail(dbs, await getCatalog(), input.stream, config.ratingMissingMetadata, input.from);
      await recordRated(
        dbs.members,
        input.stream,
        tail.map((e) => ({ challengeId: e.challengeId, endDate: e.endDate })),
      );
      return tail.map((e) => e.challengeId);
    },
  };
}
