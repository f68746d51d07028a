import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UUID_TEXT, uuidShaped } from '../store/backfill/sources';
import { openDatabases, type Databases } from '../store/db';
import { createTestDatabase, testConfig } from './support/db';

/**
 * The batch's challenge lookup decides in SQL which challengeResult ids are UUIDs before casting them
 * (store/backfill/sources.ts uuidShaped, written without the regex engine's counted repetitions). It must accept
 * exactly what the UUID pattern accepts (checked by JavaScript's regex engine, not Postgres'), and nothing it
 * accepts may fail the cast: one such id would fail every batch holding it.
 */

const hex = fc.constantFrom(...'0123456789abcdefABCDEF');
const hexes = (n: number) => fc.array(hex, { minLength: n, maxLength: n }).map((a) => a.join(''));
const uuid = fc.tuple(hexes(8), hexes(4), hexes(4), hexes(4), hexes(12)).map((p) => p.join('-'));
// near misses: one character of a UUID replaced (a dash moved, a non-hex letter, a space), or cut, or lengthened
const nearMiss = fc
  .tuple(uuid, fc.nat(35), fc.constantFrom('-', 'g', 'G', ' ', '0', 'é', '{'))
  .map(([u, i, c]) => u.slice(0, i) + c + u.slice(i + 1));
const other = fc.oneof(
  fc.integer({ min: 0, max: 10_000_000 }).map(String), // a legacy numeric id
  fc.string({ maxLength: 40 }),
  uuid.map((u) => u.replace(/-/g, '')), // Postgres casts these, the pattern refuses them: not a UUID here
  uuid.map((u) => `${u}0`),
  uuid.map((u) => u.slice(1)),
);

describe('uuidShaped: the SQL UUID check of a batch challenge lookup', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dbs: Databases;
  beforeAll(async () => {
    db = await createTestDatabase('uuid_shaped');
    dbs = openDatabases(testConfig(db.url));
  });
  afterAll(async () => {
    await dbs?.close();
    await db?.drop();
  });

  it('accepts exactly what the UUID pattern accepts, and every accepted id casts', async () => {
    const pattern = new RegExp(UUID_TEXT);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(uuid, nearMiss, other), { minLength: 1, maxLength: 60 }), async (ids) => {
        const r = await sql<{ i: number; ok: boolean }>`
          SELECT i::int, ${uuidShaped(sql`x`)} AS ok FROM unnest(${ids}::text[]) WITH ORDINALITY AS t(x, i) ORDER BY i`.execute(
          dbs.members,
        );
        expect(r.rows.map((x) => x.ok)).toEqual(ids.map((id) => pattern.test(id)));
        const accepted = ids.filter((id) => pattern.test(id));
        const cast = await sql<{ n: number }>`SELECT count(x::uuid)::int AS n FROM unnest(${accepted}::text[]) x`.execute(dbs.members);
        expect(cast.rows[0]!.n).toBe(accepted.length);
      }),
      { numRuns: 60 },
    );
  });
});
