import { ApplicationFailure, Context } from '@temporalio/activity';
import { Failure } from '../domain/failures';
import type { HistoryRow } from '../domain/rating/replay';
import {
  eventsFrom,
  rerateMember,
  rerateStreamSteps,
  type ChunkResult,
  type MemberRerateResult,
  type RerateFinal,
  type RerateOptions,
  type ReratePlan,
  type Stream,
} from '../domain/rerate';
import { existingMembers } from '../store/members/find';
import { memberExists } from '../store/parity/scope';
import { findChallenge } from '../store/rerate/challenge';
import { beginRerate, committedChunk, finishRerate, recordChunk } from '../store/rerate/checkpoint';
import { loadStream, loadStreamFromEvent, streamEventsAmong, type LoadedStream } from '../store/rerate/stream';
import { finalizeRerate, writeRerateRows } from '../store/rerate/write';
import { fingerprintStream } from '../store/rerate/fingerprint';
import { analyzeStale } from '../store/planner-stats';
import { finishPreview, previewChanges, recordSource, rerateRun, writePreviewRows } from '../store/rerate/preview';
import { drainYielding } from '../store/yielding';
import { describeSourceChanges, hasChanges, sourceChanges, summarizeDiff } from '../domain/rerate-preview';
import { previewActivities } from './rerate-preview';
import type { ActivityDeps } from './deps';
import { catalogCache } from './catalog-cache';
import { heartbeating } from './heartbeat';

/** A run's replay, computed once per process: the stream, the rerated events in order, their rows by event. */
interface Replay {
  loaded: LoadedStream;
  tail: string[];
  rowsByEvent: Map<string, HistoryRow[]>;
  touched: number[];
  rows: number;
}

export function rerateActivities({ dbs, config }: ActivityDeps) {
  const getCatalog = catalogCache(dbs);
  const replays = new Map<string, Promise<Replay>>();

  /**
   * What a run replays: from an event on, only that part of the stream and its participants' rows
   * (store/rerate/stream.ts loadStreamFrom: the same replay); the whole stream for a run from its start, and for a
   * preview, whose fingerprint covers the whole stream.
   */
  async function load(stream: Stream, fromId: string | undefined, whole: boolean): Promise<LoadedStream> {
    const cat = await getCatalog();
    const policy = config.ratingMissingMetadata;
    const part = fromId === undefined || whole ? undefined : await loadStreamFromEvent(dbs, cat, stream, policy, fromId);
    return part ?? loadStream(dbs, cat, stream, policy);
  }

  /** Deterministic from the stored rows before the first rerated event (which no chunk touches): safe to redo. */
  async function compute(options: Pick<RerateOptions, 'stream'>, fromId: string | undefined, loaded: LoadedStream): Promise<Replay> {
    const tail = eventsFrom(loaded.events, fromId) ?? [];
    const r = await drainYielding(rerateStreamSteps(tail, loaded.stored, loaded.rowless));
    const rowsByEvent = new Map<string, HistoryRow[]>();
    for (const row of r.rows) {
      const list = rowsByEvent.get(row.challengeId);
      if (list) list.push(row);
      else rowsByEvent.set(row.challengeId, [row]);
    }
    return { loaded, tail: tail.map((e) => e.challengeId), rowsByEvent, touched: [...r.states.keys()].map(Number), rows: r.rows.length };
  }
  /** A preview recomputed after a restart must come from the source it began with, or its shadow rows would mix two. */
  async function recompute(plan: ReratePlan): Promise<Replay> {
    const r = await compute(
      { stream: plan.stream },
      plan.from?.challengeId,
      await load(plan.stream, plan.from?.challengeId, plan.preview === true),
    );
    if (plan.preview) {
      const run = await rerateRun(dbs.members, plan.runKey);
      const changes = sourceChanges(run!.source!, fingerprintStream(r.loaded));
      if (hasChanges(changes))
        throw ApplicationFailure.nonRetryable(
          `the source moved while the preview ran: ${describeSourceChanges(plan.stream, plan.runKey, changes)}`,
          Failure.StalePreview,
        );
    }
    return r;
  }
  const replayOf = (plan: ReratePlan): Promise<Replay> => {
    let r = replays.get(plan.runKey);
    if (!r) {
      if (replays.size >= 2) replays.delete(replays.keys().next().value!);
      r = recompute(plan);
      r.catch(() => replays.delete(plan.runKey));
      replays.set(plan.runKey, r);
    }
    return r;
  };

  /** --from as the stream knows it: a challenge that exists and is one of the stream's rated events. */
  async function resolveFrom(stream: Stream, value: string | undefined): Promise<ReratePlan['from']> {
    if (value === undefined) return null;
    const c = await findChallenge(dbs.challenges, value);
    if (!c) throw ApplicationFailure.nonRetryable(`--from ${value}: no such challenge (a challenge id or legacy id)`, Failure.InvalidInput);
    const among = await streamEventsAmong(dbs, await getCatalog(), stream, config.ratingMissingMetadata, [c.id]);
    if (among.length === 0)
      throw ApplicationFailure.nonRetryable(
        `--from ${value} (${c.name}) is not a rated event of the ${stream} stream: pick a completed, rated challenge of the stream`,
        Failure.InvalidInput,
      );
    return { challengeId: c.id, name: c.name };
  }

  return {
    ...previewActivities({ dbs, config }, getCatalog),
    /** Resolves --from within the stream, replays the stream in memory and cuts the rerated events into chunks. */
    async reratePrepare(options: RerateOptions): Promise<ReratePlan> {
      return heartbeating(async () => {
        // chunks join the history by member and key: planned on the history as it is, not as it was before a backfill
        await analyzeStale(dbs.members);
        const from = await resolveFrom(options.stream, options.from);
        const loaded = await load(options.stream, from?.challengeId, options.preview === true);
        const info = Context.current().info;
        const runKey = info.workflowExecution?.runId ?? info.activityId;
        const replay = compute(options, from?.challengeId, loaded);
        replays.set(runKey, replay);
        const r = await replay;
        const plan: ReratePlan = {
          runKey,
          stream: options.stream,
          from,
          events: r.tail.length,
          chunks: Math.ceil(r.tail.length / options.chunkEvents),
          chunkEvents: options.chunkEvents,
          membersTouched: r.touched.length,
          rows: r.rows,
          preview: options.preview,
        };
        await beginRerate(dbs.members, plan);
        if (options.preview) await recordSource(dbs.members, runKey, fingerprintStream(loaded));
        return plan;
      });
    },

    /** One chunk of events: its rows written in one transaction with its checkpoint; a committed chunk is not redone. */
    async rerateChunk(input: { plan: ReratePlan; chunk: number }): Promise<ChunkResult> {
      return heartbeating(async () => {
        const { plan, chunk } = input;
        const earlier = await committedChunk(dbs.members, plan.runKey, chunk);
        if (earlier) return { ...earlier, resumed: true };
        const [cat, r] = await Promise.all([getCatalog(), replayOf(plan)]);
        const ids = r.tail.slice(chunk * plan.chunkEvents, (chunk + 1) * plan.chunkEvents);
        const rows = ids.flatMap((id) => r.rowsByEvent.get(id) ?? []);
        return dbs.members.transaction().execute(async (tx) => {
          const written = plan.preview
            ? await writePreviewRows(tx, plan.runKey, plan.stream, rows, r.loaded.challenges)
            : await writeRerateRows(tx, cat, plan.stream, rows, r.loaded.challenges);
          const result: ChunkResult = { chunk, events: ids.length, rows: rows.length, written };
          await recordChunk(tx, plan.runKey, result);
          return result;
        });
      });
    },

    /** After every chunk: mostRecent, the stream's stats rows, its ranks and memberMaxRating for the members touched. */
    async rerateFinalize(plan: ReratePlan): Promise<RerateFinal> {
      return heartbeating(async () => {
        if (plan.preview) {
          // a preview writes nothing more: its diff against the tables is what promoting it would write
          const c = await previewChanges(dbs.members, await getCatalog(), plan.stream, plan.runKey);
          const diff = summarizeDiff(c.rows, c.unchangedRated, c.changes);
          await finishPreview(dbs.members, plan.runKey, diff);
          replays.delete(plan.runKey);
          return { statsChanged: 0, ranksChanged: 0, preview: { runKey: plan.runKey, diff } };
        }
        const [cat, r] = await Promise.all([getCatalog(), replayOf(plan)]);
        const out = await finalizeRerate(dbs.members, cat, plan.stream, r.touched);
        await finishRerate(dbs.members, plan.runKey);
        replays.delete(plan.runKey);
        return out;
      });
    },

    /**
     * The runbook's per-member rerate (D1–D3): one member of one stream from a challenge forward, replayed in
     * memory with every opponent seeded from their stored rows before each event; only the member's rows are
     * written, then their stats row, the stream's ranks and their memberMaxRating.
     */
    async rerateMemberRun(input: { stream: Stream; userId: number; from?: string }): Promise<MemberRerateResult> {
      return heartbeating(async () => {
        if (!(await memberExists(dbs.members, input.userId)))
          throw ApplicationFailure.nonRetryable(`--user-id ${input.userId}: no such member in members."member"`, Failure.InvalidInput);
        const cat = await getCatalog();
        const loaded = await loadStream(dbs, cat, input.stream, config.ratingMissingMetadata);
        const from = await resolveFrom(input.stream, input.from);
        const tail = eventsFrom(loaded.events, from?.challengeId) ?? [];
        const r = rerateMember(String(input.userId), tail, loaded.stored);
        const written = await dbs.members.transaction().execute((tx) => writeRerateRows(tx, cat, input.stream, r.rows, loaded.challenges));
        const final =
          r.rows.length > 0 ? await finalizeRerate(dbs.members, cat, input.stream, [input.userId]) : { statsChanged: 0, ranksChanged: 0 };
        return {
          userId: input.userId,
          stream: input.stream,
          challengesRerated: r.challengesRerated,
          rows: r.rows.length,
          written,
          ...final,
        };
      });
    },

    /** The members of one rated event of a stream (its participants), in id order: each is rerated from it. */
    async rerateChallengeMembers(input: {
      stream: Stream;
      challengeId: string;
    }): Promise<{ challengeId: string; name: string; userIds: number[]; missing: number[] }> {
      const from = (await resolveFrom(input.stream, input.challengeId))!;
      const [event] = await streamEventsAmong(dbs, await getCatalog(), input.stream, config.ratingMissingMetadata, [from.challengeId]);
      if (!event)
        throw new Error(`challenge ${from.challengeId} left the ${input.stream} stream while it was read; the attempt is retried`);
      const all = event.participants.map((p) => Number(p.userId)).sort((a, b) => a - b);
      // participants missing from member are rated against but have no rows of their own to rerate
      const present = new Set(await existingMembers(dbs.members, all));
      return { ...from, userIds: all.filter((id) => present.has(id)), missing: all.filter((id) => !present.has(id)) };
    },
  };
}
