import { sql } from 'kysely';
import type { Catalog } from '../../domain/catalog';
import { marathonRoundNumber, type MissingRatedPolicy } from '../../domain/rating/participants';
import type { RatedEvent } from '../../domain/rating/replay';
import { eventsFrom, STREAM_KEY, type Stream, type StoredRow } from '../../domain/rerate';
import { keyIds } from '../catalog';
import { existingMembers } from '../members/find';
import type { Databases } from '../db';
import { developmentEvents, marathonEvents, marathonTyped, type RatedStream, type StreamChallenge, type Where } from '../rated-events';

/**
 * A stream as a rerate sees it: its rated events, and every stored history row of its key with the row's challenge
 * mapped to the event it belongs to — a legacy numeric id by the challenge's legacyId, and on Marathon Match also by
 * the round number in the names ("MM 145" ↔ "Marathon Match 145"), so a numeric legacy row and a UUID row of one
 * round are one event. A member's two rows of one round count once (the UUID row when there is one).
 */
export interface LoadedStream {
  events: RatedEvent[];
  challenges: Map<string, StreamChallenge>;
  stored: StoredRow[];
  /** participants missing from member: rated against, never given rows (domain/rerate.ts rerateStream) */
  rowless: Set<string>;
}

interface HistoryRead {
  userId: number;
  challengeId: string;
  challengeName: string | null;
  eventDate: Date;
  newRating: number | null;
  newVolatility: number | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LEGACY_ID = /^[0-9]{1,18}$/;

async function historyOf(dbs: Databases, catalog: Catalog, stream: Stream, members?: number[]): Promise<HistoryRead[]> {
  const [trackId, typeId] = keyIds(catalog, STREAM_KEY[stream]);
  const r = await sql<HistoryRead>`
    SELECT "userId", "challengeId", "challengeName", "eventDate", "newRating", "newVolatility" FROM members."memberStatsHistory"
    WHERE "trackId" = ${trackId}::uuid AND "typeId" = ${typeId}::uuid
      AND ${members ? sql`"userId" = ANY(${members}::bigint[])` : sql`true`}`.execute(dbs.members);
  return r.rows;
}

const eventsOf = (dbs: Databases, catalog: Catalog, stream: Stream, policy: MissingRatedPolicy, scope: Where, named: string[]) =>
  stream === 'develop' ? developmentEvents(dbs, catalog, policy, scope) : marathonEvents(dbs, catalog, policy, named, scope);

export async function loadStream(dbs: Databases, catalog: Catalog, stream: Stream, policy: MissingRatedPolicy): Promise<LoadedStream> {
  const rows = await historyOf(dbs, catalog, stream);
  const named = stream === 'marathon' ? [...new Set(rows.map((x) => x.challengeId).filter((id) => UUID.test(id)))] : [];
  const s = await eventsOf(dbs, catalog, stream, policy, sql`true`, named);
  return { events: s.events, challenges: s.challenges, stored: mapRows(stream, rows, s), rowless: await rowlessOf(dbs, s.events) };
}

/**
 * The part of a stream a refresh rates, without reading the rest of it: the events ending at or after `from`, and
 * only their participants' stored rows — mapped as loadStream maps them, so the events those rows name are read
 * too (by id, legacy id or round), for their place in the order. A replay of these events computes what it
 * computes from the whole stream (test/rerate-tail.test.ts); reading the whole stream cost half a minute per
 * refresh on the large seed.
 */
export async function loadStreamFrom(
  dbs: Databases,
  catalog: Catalog,
  stream: Stream,
  policy: MissingRatedPolicy,
  from: Date,
): Promise<LoadedStream> {
  const named = stream === 'marathon' ? await namedEndingFrom(dbs, catalog, from) : [];
  const tail = await eventsOf(dbs, catalog, stream, policy, sql`"endDate" >= ${from}`, named);
  const participants = [...new Set(tail.events.flatMap((e) => e.participants.map((p) => Number(p.userId))))].sort((a, b) => a - b);
  const rows = participants.length === 0 ? [] : await historyOf(dbs, catalog, stream, participants);
  const other = rows.filter((x) => !tail.challenges.has(x.challengeId));
  const uuids = [...new Set(other.map((x) => x.challengeId).filter((id) => UUID.test(id)))];
  const legacy = [...new Set(other.map((x) => x.challengeId).filter((id) => LEGACY_ID.test(id)))];
  const rounds = stream === 'marathon' ? await roundChallenges(dbs, catalog, other) : [];
  const named2 = [...uuids, ...rounds];
  const earlier =
    named2.length + legacy.length === 0
      ? { events: [], challenges: new Map<string, StreamChallenge>() }
      : await eventsOf(
          dbs,
          catalog,
          stream,
          policy,
          sql`(id = ANY(${named2}::uuid[]) OR "legacyId" = ANY(${legacy}::bigint[])) AND "endDate" < ${from}`,
          uuids,
        );
  const known: RatedStream = {
    events: [...earlier.events, ...tail.events],
    challenges: new Map([...earlier.challenges, ...tail.challenges]),
  };
  return {
    events: tail.events,
    challenges: tail.challenges,
    stored: mapRows(stream, rows, known),
    rowless: await rowlessOf(dbs, tail.events),
  };
}

/** Marathon Match history names challenges of other types too (loadStream's `named`): those ending at or after `from`. */
async function namedEndingFrom(dbs: Databases, catalog: Catalog, from: Date): Promise<string[]> {
  const ended = await sql<{ id: string }>`
    SELECT id::text AS id FROM challenges."Challenge"
    WHERE status = 'COMPLETED' AND "endDate" >= ${from} AND NOT (${marathonTyped(catalog)})`.execute(dbs.challenges);
  if (ended.rows.length === 0) return [];
  const [trackId, typeId] = keyIds(catalog, STREAM_KEY.marathon);
  const r = await sql<{ challengeId: string }>`
    SELECT DISTINCT "challengeId" FROM members."memberStatsHistory"
    WHERE "challengeId" = ANY(${ended.rows.map((x) => x.id)}::text[]) AND "trackId" = ${trackId}::uuid AND "typeId" = ${typeId}::uuid`.execute(
    dbs.members,
  );
  return r.rows.map((x) => x.challengeId);
}

/** Marathon Match challenges whose names carry the round number of a row that no id maps. */
async function roundChallenges(dbs: Databases, catalog: Catalog, rows: HistoryRead[]): Promise<string[]> {
  const wanted = new Set(
    rows.flatMap((x) => (!UUID.test(x.challengeId) && x.challengeName !== null ? [marathonRoundNumber(x.challengeName)] : [])),
  );
  wanted.delete(null);
  if (wanted.size === 0) return [];
  const r = await sql<{ id: string; name: string }>`
    SELECT id::text AS id, name FROM challenges."Challenge" WHERE ${marathonTyped(catalog)} AND status = 'COMPLETED'`.execute(
    dbs.challenges,
  );
  return r.rows.filter((c) => wanted.has(marathonRoundNumber(c.name))).map((c) => c.id);
}

/** Rows keyed to their events (see LoadedStream), each placed at its event's end. */
function mapRows(stream: Stream, rows: HistoryRead[], s: RatedStream): StoredRow[] {
  const alias = new Map<string, string>();
  const round = new Map<number, string>();
  for (const c of s.challenges.values()) {
    if (c.legacyId !== null) alias.set(String(c.legacyId), c.challengeId);
    const n = stream === 'marathon' ? marathonRoundNumber(c.name) : null;
    if (n !== null) round.set(n, c.challengeId);
  }
  const canonical = (id: string, name: string | null): string => {
    if (s.challenges.has(id) || UUID.test(id)) return id;
    const n = stream === 'marathon' && name !== null ? marathonRoundNumber(name) : null;
    return alias.get(id) ?? (n !== null ? round.get(n) : undefined) ?? id;
  };
  // a row of an event stands at the event's place in the replay order (a legacy row's own date may differ a little)
  const endOf = new Map(s.events.map((e) => [e.challengeId, e.endDate.getTime()]));
  const byKey = new Map<string, StoredRow & { exact: boolean }>();
  for (const x of rows) {
    const challengeId = canonical(x.challengeId, x.challengeName);
    const row = {
      userId: String(x.userId),
      challengeId,
      eventAt: endOf.get(challengeId) ?? x.eventDate.getTime(),
      newRating: x.newRating,
      newVolatility: x.newVolatility,
      exact: challengeId === x.challengeId,
    };
    const key = `${row.userId} ${challengeId}`;
    const had = byKey.get(key);
    if (!had || (row.exact && !had.exact)) byKey.set(key, row);
  }
  return [...byKey.values()].map(({ exact: _exact, ...row }) => row);
}

async function rowlessOf(dbs: Databases, events: readonly RatedEvent[]): Promise<Set<string>> {
  const participants = [...new Set(events.flatMap((e) => e.participants.map((p) => Number(p.userId))))];
  const present = new Set((await existingMembers(dbs.members, participants)).map(String));
  return new Set(participants.map(String).filter((id) => !present.has(id)));
}

/** Of `ids`, the stream's rated events (a Marathon Match one of another type counts when the history names it). */
export async function streamEventsAmong(
  dbs: Databases,
  catalog: Catalog,
  stream: Stream,
  policy: MissingRatedPolicy,
  ids: string[],
): Promise<RatedEvent[]> {
  const uuids = ids.filter((id) => UUID.test(id));
  if (uuids.length === 0) return [];
  let named: string[] = [];
  if (stream === 'marathon') {
    const [trackId, typeId] = keyIds(catalog, STREAM_KEY.marathon);
    const r = await sql<{ challengeId: string }>`
      SELECT DISTINCT "challengeId" FROM members."memberStatsHistory"
      WHERE "challengeId" = ANY(${uuids}::text[]) AND "trackId" = ${trackId}::uuid AND "typeId" = ${typeId}::uuid`.execute(dbs.members);
    named = r.rows.map((x) => x.challengeId);
  }
  return (await eventsOf(dbs, catalog, stream, policy, sql`id = ANY(${uuids}::uuid[])`, named)).events;
}

/**
 * The stream from one of its events on (`fromId` first), as loadStreamFrom reads it: what a rerate from an event
 * replays, without reading the events and rows before it (each of the sequencer's out-of-order rerates read the
 * whole stream, twice, on the large seed). Undefined when `fromId` is not one of the stream's rated events.
 */
export async function loadStreamFromEvent(
  dbs: Databases,
  catalog: Catalog,
  stream: Stream,
  policy: MissingRatedPolicy,
  fromId: string,
): Promise<LoadedStream | undefined> {
  const [first] = await streamEventsAmong(dbs, catalog, stream, policy, [fromId]);
  return first && loadStreamFrom(dbs, catalog, stream, policy, first.endDate);
}

/** The stream's events from `fromId` on, in order, without any rows (none when it is not one of the stream's). */
export async function streamTail(
  dbs: Databases,
  catalog: Catalog,
  stream: Stream,
  policy: MissingRatedPolicy,
  fromId: string,
): Promise<RatedEvent[]> {
  const [first] = await streamEventsAmong(dbs, catalog, stream, policy, [fromId]);
  if (!first) return [];
  const named = stream === 'marathon' ? await namedEndingFrom(dbs, catalog, first.endDate) : [];
  const tail = await eventsOf(dbs, catalog, stream, policy, sql`"endDate" >= ${first.endDate}`, named);
  return eventsFrom(tail.events, fromId) ?? [];
}
