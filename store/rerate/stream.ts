import { sql } from 'kysely';
import type { Catalog } from '../../domain/catalog';
import { marathonRoundNumber, type MissingRatedPolicy } from '../../domain/rating/participants';
import type { RatedEvent } from '../../domain/rating/replay';
import { STREAM_KEY, type Stream, type StoredRow } from '../../domain/rerate';
import { keyIds } from '../catalog';
import { existingMembers } from '../members/find';
import type { Databases } from '../db';
import { developmentEvents, marathonEvents, type StreamChallenge } from '../rated-events';

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function loadStream(dbs: Databases, catalog: Catalog, stream: Stream, policy: MissingRatedPolicy): Promise<LoadedStream> {
  const [trackId, typeId] = keyIds(catalog, STREAM_KEY[stream]);
  const r = await sql<{
    userId: number;
    challengeId: string;
    challengeName: string | null;
    eventDate: Date;
    newRating: number | null;
    newVolatility: number | null;
  }>`
    SELECT "userId", "challengeId", "challengeName", "eventDate", "newRating", "newVolatility" FROM members."memberStatsHistory"
    WHERE "trackId" = ${trackId}::uuid AND "typeId" = ${typeId}::uuid`.execute(dbs.members);
  const named = stream === 'marathon' ? [...new Set(r.rows.map((x) => x.challengeId).filter((id) => UUID.test(id)))] : [];
  const s = stream === 'develop' ? await developmentEvents(dbs, catalog, policy) : await marathonEvents(dbs, catalog, policy, named);

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
  for (const x of r.rows) {
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
  const stored = [...byKey.values()].map(({ exact: _exact, ...row }) => row);
  const participants = [...new Set(s.events.flatMap((e) => e.participants.map((p) => Number(p.userId))))];
  const present = new Set((await existingMembers(dbs.members, participants)).map(String));
  const rowless = new Set(participants.map(String).filter((id) => !present.has(id)));
  return { events: s.events, challenges: s.challenges, stored, rowless };
}
