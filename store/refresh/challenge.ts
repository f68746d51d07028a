import { sql } from 'kysely';
import type { Catalog } from '../../domain/catalog';
import { MARATHON_KEY } from '../../domain/mapping';
import type { Stream } from '../../domain/rerate';
import { keyIds } from '../catalog';
import type { Databases } from '../db';

export interface EndedChallenge {
  id: string;
  name: string;
  status: string;
  endDate: Date | null;
  legacyId: number | null;
  trackId: string;
  typeId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A challenge by its UUID or legacy id, with what a refresh needs to know of it; undefined when there is none. */
export async function challengeByRef(dbs: Pick<Databases, 'challenges'>, ref: string): Promise<EndedChallenge | undefined> {
  const r = await sql<EndedChallenge>`
    SELECT id::text AS id, name, status, "endDate", "legacyId", "trackId"::text AS "trackId", "typeId"::text AS "typeId"
    FROM challenges."Challenge"
    WHERE ${UUID.test(ref) ? sql`id = ${ref}::uuid` : sql`"legacyId" = ${Number(ref)}`} LIMIT 1`.execute(dbs.challenges);
  return r.rows[0];
}

/**
 * The rating stream a challenge would be rated in, by its type (Marathon Match on any track; Development's
 * Challenge/CODE); whether it is rated, and with whom, the stream's own rules decide (store/rated-events.ts).
 */
export function streamOf(catalog: Catalog, c: Pick<EndedChallenge, 'trackId' | 'typeId'>): Stream | null {
  const [, mmType] = keyIds(catalog, MARATHON_KEY);
  if (c.typeId === mmType) return 'marathon';
  const dev = catalog.tracks.find((t) => t.track === 'DEVELOPMENT')?.id;
  const devTypes = catalog.types.filter((t) => t.name === 'Challenge' || t.name === 'CODE').map((t) => t.id);
  return c.trackId === dev && devTypes.includes(c.typeId) ? 'develop' : null;
}

/** Everyone with a result or a submission on the challenge (member ids; challengeResult keeps them as text). */
export async function challengeParticipants(dbs: Pick<Databases, 'reviews'>, challengeId: string): Promise<number[]> {
  const r = await sql<{ userId: string }>`
    SELECT DISTINCT "userId" FROM (
      SELECT "userId" FROM reviews."challengeResult" WHERE "challengeId" = ${challengeId} AND "userId" ~ '^[0-9]{1,15}$'
      UNION SELECT "memberId" FROM reviews.submission WHERE "challengeId" = ${challengeId} AND "memberId" ~ '^[0-9]{1,15}$'
    ) p`.execute(dbs.reviews);
  return r.rows.map((x) => Number(x.userId)).sort((a, b) => a - b);
}

/** How many challengeResult rows a member has (of one challenge, when given): what a member refresh processed. */
export async function resultsOfMember(dbs: Pick<Databases, 'reviews'>, userId: number, challengeId?: string): Promise<number> {
  const r = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM reviews."challengeResult"
    WHERE "userId" = ${String(userId)} ${challengeId ? sql`AND "challengeId" = ${challengeId}` : sql``}`.execute(dbs.reviews);
  return r.rows[0]!.n;
}
