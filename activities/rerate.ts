import { ApplicationFailure, Context } from '@temporalio/activity';
import { Failure } from '../domain/failures';
import type { HistoryRow } from '../domain/rating/replay';
import { eventsFrom, rerateStream, type ChunkResult, type RerateFinal, type RerateOptions, type ReratePlan } from '../domain/rerate';
import { findChallenge } from '../store/rerate/challenge';
import { beginRerate, committedChunk, finishRerate, recordChunk } from '../store/rerate/checkpoint';
import { loadStream, type LoadedStream } from '../store/rerate/stream';
import { finalizeRerate, writeRerateRows } from '../store/rerate/write';
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

  /** Deterministic from the stored rows before the first rerated event (which no chunk touches): safe to redo. */
  async function compute(options: Pick<RerateOptions, 'stream'>, fromId: string | undefined, preloaded?: LoadedStream): Promise<Replay> {
    const cat = await getCatalog();
    const loaded = preloaded ?? (await loadStream(dbs, cat, options.stream, config.ratingMissingMetadata));
    const tail = eventsFrom(loaded.events, fromId) ?? [];
    const r = rerateStream(tail, loaded.stored);
    const rowsByEvent = new Map<string, HistoryRow[]>();
    for (const row of r.rows) {
      const list = rowsByEvent.get(row.challengeId);
      if (list) list.push(row);
      else rowsByEvent.set(row.challengeId, [row]);
    }
    return { loaded, tail: tail.map((e) => e.challengeId), rowsByEvent, touched: [...r.states.keys()].map(Number), rows: r.rows.length };
  }
  const replayOf = (plan: ReratePlan): Promise<Replay> => {
    let r = replays.get(plan.runKey);
    if (!r) {
      if (replays.size >= 2) replays.delete(replays.keys().next().value!);
      r = compute({ stream: plan.stream }, plan.from?.challengeId);
      r.catch(() => replays.delete(plan.runKey));
      replays.set(plan.runKey, r);
    }
    return r;
  };

  return {
    /** Resolves --from within the stream, replays the stream in memory and cuts the rerated events into chunks. */
    async reratePrepare(options: RerateOptions): Promise<ReratePlan> {
      return heartbeating(async () => {
        const cat = await getCatalog();
        const loaded = await loadStream(dbs, cat, options.stream, config.ratingMissingMetadata);
        let from: ReratePlan['from'] = null;
        if (options.from !== undefined) {
          const c = await findChallenge(dbs.challenges, options.from);
          if (!c)
            throw ApplicationFailure.nonRetryable(
              `--from ${options.from}: no such challenge (a challenge id or legacy id)`,
              Failure.InvalidInput,
            );
          if (!loaded.challenges.has(c.id))
            throw ApplicationFailure.nonRetryable(
              `--from ${options.from} (${c.name}) is not a rated event of the ${options.stream} stream: pick a completed, rated challenge of the stream`,
              Failure.InvalidInput,
            );
          from = { challengeId: c.id, name: c.name };
        }
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
        };
        await beginRerate(dbs.members, plan);
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
          const written = await writeRerateRows(tx, cat, plan.stream, rows, r.loaded.challenges);
          const result: ChunkResult = { chunk, events: ids.length, rows: rows.length, written };
          await recordChunk(tx, plan.runKey, result);
          return result;
        });
      });
    },

    /** After every chunk: mostRecent, the stream's stats rows, its ranks and memberMaxRating for the members touched. */
    async rerateFinalize(plan: ReratePlan): Promise<RerateFinal> {
      return heartbeating(async () => {
        const [cat, r] = await Promise.all([getCatalog(), replayOf(plan)]);
        const out = await finalizeRerate(dbs.members, cat, plan.stream, r.touched);
        await finishRerate(dbs.members, plan.runKey);
        replays.delete(plan.runKey);
        return out;
      });
    },
  };
}
