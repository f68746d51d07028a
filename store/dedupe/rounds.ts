import { sql } from 'kysely';
import type { Catalog } from '../../domain/catalog';
import { challengeIdKind, historyRound, type RoundEntry } from '../../domain/dedupe';
import { MARATHON_KEY } from '../../domain/mapping';
import { keyIds } from '../catalog';
import type { Databases } from '../db';

/**
 * The round of every distinct (challengeId, challengeName) of the Marathon Match history, for the SQL that pairs
 * duplicates with canonical rows. The challenges catalogue may live in another database than the history, so the
 * names are looked up here and the mapping travels into the members database as parameters. Pairs, not rows: a
 * few per challenge, however many members.
 */
export async function loadRounds(dbs: Databases, catalog: Catalog, userIds?: readonly number[]): Promise<RoundEntry[]> {
  const [trackId, typeId] = keyIds(catalog, MARATHON_KEY);
  const scope = userIds ? sql`AND "userId" = ANY(${[...userIds]}::bigint[])` : sql``;
  const pairs = await sql<{ challengeId: string; challengeName: string | null }>`
    SELECT DISTINCT "challengeId", "challengeName" FROM members."memberStatsHistory"
    WHERE "trackId" = ${trackId}::uuid AND "typeId" = ${typeId}::uuid ${scope}`.execute(dbs.members);

  const uuids = new Set<string>();
  const legacy = new Set<string>();
  for (const p of pairs.rows) {
    const kind = challengeIdKind(p.challengeId);
    if (kind === 'uuid') uuids.add(p.challengeId.toLowerCase());
    else if (kind === 'numeric') legacy.add(BigInt(p.challengeId).toString());
  }
  const named =
    uuids.size + legacy.size === 0
      ? []
      : (
          await sql<{ id: string; legacyId: string | null; name: string }>`
            SELECT id::text AS id, "legacyId"::text AS "legacyId", name FROM challenges."Challenge"
            WHERE id = ANY(${[...uuids]}::uuid[]) OR "legacyId" = ANY(${[...legacy]}::bigint[])
            ORDER BY id`.execute(dbs.challenges)
        ).rows;
  const byId = new Map(named.map((c) => [c.id, c.name]));
  const byLegacy = new Map<string, string>();
  for (const c of named) if (c.legacyId !== null && !byLegacy.has(c.legacyId)) byLegacy.set(c.legacyId, c.name);

  return pairs.rows.flatMap((p): RoundEntry[] => {
    const kind = challengeIdKind(p.challengeId);
    if (kind === undefined) return [];
    const name = kind === 'uuid' ? byId.get(p.challengeId.toLowerCase()) : byLegacy.get(BigInt(p.challengeId).toString());
    const round = historyRound(p, name);
    return round === null ? [] : [{ challengeId: p.challengeId, challengeName: p.challengeName, round, kind }];
  });
}
