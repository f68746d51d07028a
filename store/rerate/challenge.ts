import { sql, type Kysely } from 'kysely';

/** A challenge named by its id or its legacy numeric id, whatever its type; undefined when there is none. */
export async function findChallenge(challenges: Kysely<any>, idOrLegacy: string): Promise<{ id: string; name: string } | undefined> {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrLegacy);
  const legacy = /^\d{1,15}$/.test(idOrLegacy);
  if (!uuid && !legacy) return undefined;
  const r = await sql<{ id: string; name: string }>`
    SELECT id::text AS id, name FROM challenges."Challenge"
    WHERE ${uuid ? sql`id = ${idOrLegacy.toLowerCase()}::uuid` : sql`"legacyId" = ${Number(idOrLegacy)}`} LIMIT 1`.execute(challenges);
  return r.rows[0];
}
