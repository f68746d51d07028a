import { sql } from 'kysely';
import type { Catalog } from '../../../domain/catalog';
import { marathonRoundNumber } from '../../../domain/rating/participants';
import { applyEvent, type HistoryRow, type RatedEvent } from '../../../domain/rating/replay';
import { seedStates, STREAM_KEY, type StoredRow, type Stream } from '../../../domain/rerate';
import { keyIds } from '../../../store/catalog';
import type { Databases } from '../../../store/db';
import type { StreamChallenge } from '../../../store/rated-events';
import type { LoadedStream } from '../../../store/rerate/stream';
import { writeRerateRows } from '../../../store/rerate/write';

/**
 * The naive shape's one activity: a challenge of a stream rerated on its own, as a per-challenge script does it —
 * its participants' stored history rows read from the database (one small indexed query), each participant
 * seeded from their rows before the challenge (domain/rerate.ts seedStates: last rated row, volatility falling
 * back to 515, rated rows counted), the challenge applied by the engine, its rows written in one transaction.
 * The stream's event list and challenge catalogue are loaded once, before the clock starts.
 */

export interface NaiveEventResult {
  rows: number;
  written: number;
}

/** What the naive activities know of a stream: its events by id, its challenges, how stored ids map to events. */
export interface NaiveStream {
  events: Map<string, RatedEvent>;
  challenges: Map<string, StreamChallenge>;
  trackId: string;
  typeId: string;
  canonical: (id: string, name: string | null) => string;
  endOf: Map<string, number>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A stored row's challenge as its event (store/rerate/stream.ts's mapping: legacy id, MM round number). */
export function naiveStream(catalog: Catalog, stream: Stream, loaded: LoadedStream): NaiveStream {
  const [trackId, typeId] = keyIds(catalog, STREAM_KEY[stream]);
  const alias = new Map<string, string>();
  const round = new Map<number, string>();
  for (const c of loaded.challenges.values()) {
    if (c.legacyId !== null) alias.set(String(c.legacyId), c.challengeId);
    const n = stream === 'marathon' ? marathonRoundNumber(c.name) : null;
    if (n !== null) round.set(n, c.challengeId);
  }
  const canonical = (id: string, name: string | null): string => {
    if (loaded.challenges.has(id) || UUID.test(id)) return id;
    const n = stream === 'marathon' && name !== null ? marathonRoundNumber(name) : null;
    return alias.get(id) ?? (n !== null ? round.get(n) : undefined) ?? id;
  };
  return {
    events: new Map(loaded.events.map((e) => [e.challengeId, e])),
    challenges: loaded.challenges,
    trackId,
    typeId,
    canonical,
    endOf: new Map(loaded.events.map((e) => [e.challengeId, e.endDate.getTime()])),
  };
}

export function naiveActivities(deps: {
  dbs: Databases;
  catalog: Catalog;
  streams: ReadonlyMap<Stream, NaiveStream>;
  /** sees every row computed (the bench compares them with the in-memory replay's) */
  onRows?: (stream: Stream, rows: readonly HistoryRow[]) => void;
}) {
  const { dbs, catalog, streams } = deps;
  return {
    async naiveRerateEvent(input: { stream: Stream; challengeId: string }): Promise<NaiveEventResult> {
      const s = streams.get(input.stream)!;
      const event = s.events.get(input.challengeId);
      if (!event) throw new Error(`${input.challengeId} is not an event of the ${input.stream} stream`);
      const ids = event.participants.map((p) => Number(p.userId));
      const r = await sql<{
        userId: number;
        challengeId: string;
        challengeName: string | null;
        eventDate: Date;
        newRating: number | null;
        newVolatility: number | null;
      }>`
        SELECT "userId", "challengeId", "challengeName", "eventDate", "newRating", "newVolatility" FROM members."memberStatsHistory"
        WHERE "userId" = ANY(${ids}::bigint[]) AND "trackId" = ${s.trackId}::uuid AND "typeId" = ${s.typeId}::uuid`.execute(dbs.members);
      // a member's two rows of one event (a legacy numeric row and the UUID row) count once, the UUID row first
      const byKey = new Map<string, StoredRow & { exact: boolean }>();
      for (const x of r.rows) {
        const challengeId = s.canonical(x.challengeId, x.challengeName);
        const row = {
          userId: String(x.userId),
          challengeId,
          eventAt: s.endOf.get(challengeId) ?? x.eventDate.getTime(),
          newRating: x.newRating,
          newVolatility: x.newVolatility,
          exact: challengeId === x.challengeId,
        };
        const key = `${row.userId} ${challengeId}`;
        const had = byKey.get(key);
        if (!had || (row.exact && !had.exact)) byKey.set(key, row);
      }
      const states = seedStates([...byKey.values()], { at: event.endDate.getTime(), challengeId: event.challengeId });
      const rows = applyEvent(event, states);
      const written = await dbs.members.transaction().execute((tx) => writeRerateRows(tx, catalog, input.stream, rows, s.challenges));
      deps.onRows?.(input.stream, rows);
      return { rows: rows.length, written };
    },
  };
}

export type NaiveActivities = ReturnType<typeof naiveActivities>;
