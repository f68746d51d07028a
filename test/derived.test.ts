import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshMaxRating, refreshRanks } from '../store/derived';
import { TRACKS, TYPES } from '../domain/catalog';
import { computeRanks, memberMaxRatings, type RankInputRow } from '../domain/rating/ranks';
import { openDatabases, type Databases } from '../store/db';
import { migrateToLatest } from '../migrations';
import { createMembersSource } from '../scripts/seed/source-schema';
import { createTestDatabase, testConfig } from './support/db';

const catalog = {
  tracks: TRACKS.map((t) => ({ id: t.id, track: t.track })),
  types: TYPES.map((t) => ({ id: t.id, name: t.name })),
};

const memberArb = fc.record({
  competitionCountryCode: fc.constantFrom(null, '', ' ', 'USA', 'IND'),
  homeCountryCode: fc.constantFrom(null, '', 'CHN', 'USA'),
  country: fc.constantFrom(null, 'Poland', ''),
  inMemberTable: fc.boolean(),
});
const statArb = fc.record({
  userId: fc.integer({ min: 1, max: 25 }),
  track: fc.integer({ min: 0, max: 1 }),
  type: fc.integer({ min: 0, max: 2 }),
  isPrivate: fc.boolean(),
  rating: fc.option(fc.constantFrom(800, 810, 2400), { nil: null }), // few values: many ties
  day: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
});

describe('ranks and memberMaxRating SQL agree with the pure reference', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dbs: Databases;
  beforeAll(async () => {
    db = await createTestDatabase('derived');
    dbs = openDatabases(testConfig(db.url));
    await createMembersSource(dbs.members);
    await migrateToLatest(dbs.members);
  });
  afterAll(async () => {
    await dbs?.close();
    await db?.drop();
  });

  it('for random tables with ties, nulls, private rows and missing countries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(memberArb, { minLength: 25, maxLength: 25 }),
        fc.array(statArb, { maxLength: 60 }),
        async (members, stats) => {
          await sql`TRUNCATE members."member", members."memberStats", members."memberMaxRating"`.execute(dbs.members);
          const rows = new Map<string, (typeof stats)[number]>();
          for (const s of stats) rows.set(`${s.userId}/${s.track}/${s.type}`, s); // unique (user, track, type)
          for (const [i, m] of members.entries()) {
            if (!m.inMemberTable) continue;
            await sql`INSERT INTO members."member" ("userId", handle, "handleLower", "competitionCountryCode", "homeCountryCode", country, "createdAt")
                    VALUES (${i + 1}, ${`u${i + 1}`}, ${`u${i + 1}`}, ${m.competitionCountryCode}, ${m.homeCountryCode}, ${m.country}, now())`.execute(
              dbs.members,
            );
          }
          const input = [...rows.values()].map((s) => ({
            ...s,
            trackId: TRACKS[s.track]!.id,
            typeId: TYPES[s.type]!.id,
            date: s.day === null ? null : new Date(Date.UTC(2020, 0, 1 + s.day)),
          }));
          for (const s of input) {
            await sql`INSERT INTO members."memberStats" ("userId", "trackId", "typeId", "isPrivate", rating, "mostRecentEventDate")
                    VALUES (${s.userId}, ${s.trackId}, ${s.typeId}, ${s.isPrivate}, ${s.rating}, ${s.date})`.execute(dbs.members);
          }
          await refreshRanks(dbs.members);
          await refreshMaxRating(dbs.members, catalog, { fromUserId: 1, toUserId: 25 });

          const refRows: RankInputRow[] = input.map((s) => {
            const m = members[s.userId - 1]!;
            return {
              userId: String(s.userId),
              trackId: s.trackId,
              typeId: s.typeId,
              isPrivate: s.isPrivate,
              rating: s.rating,
              ...(m.inMemberTable
                ? { competitionCountryCode: m.competitionCountryCode, homeCountryCode: m.homeCountryCode, country: m.country }
                : {}),
            };
          });
          const expectedRanks = computeRanks(refRows);
          const got = await sql<{ userId: number; trackId: string; typeId: string; globalRank: number | null; countryRank: number | null }>`
          SELECT "userId", "trackId", "typeId", "globalRank", "countryRank" FROM members."memberStats"`.execute(dbs.members);
          for (const [i, s] of input.entries()) {
            const row = got.rows.find((r) => r.userId === s.userId && r.trackId === s.trackId && r.typeId === s.typeId);
            expect({ globalRank: row?.globalRank ?? null, countryRank: row?.countryRank ?? null }).toEqual(expectedRanks[i]);
          }

          const expectedMax = memberMaxRatings(
            input.map((s) => ({
              userId: String(s.userId),
              trackId: s.trackId,
              typeId: s.typeId,
              rating: s.rating,
              isPrivate: s.isPrivate,
              mostRecentEventDate: s.date,
              track: catalog.tracks.find((t) => t.id === s.trackId)!.track,
              subTrack: catalog.types.find((t) => t.id === s.typeId)!.name,
            })),
          );
          const max = await sql<{ userId: number; rating: number; track: string; subTrack: string; ratingColor: string }>`
          SELECT "userId", rating, track, "subTrack", "ratingColor" FROM members."memberMaxRating" ORDER BY "userId"::text`.execute(
            dbs.members,
          );
          expect(max.rows.map((r) => ({ ...r, userId: String(r.userId) }))).toEqual(expectedMax);

          // idempotent: a second pass changes nothing
          expect(await refreshRanks(dbs.members)).toBe(0);
          expect(await refreshMaxRating(dbs.members, catalog, { fromUserId: 1, toUserId: 25 })).toEqual({ written: 0, removed: 0 });
        },
      ),
      { numRuns: 25 },
    );
  });

  it('removes a stale memberMaxRating when a member in scope has no rating left, and leaves others alone', async () => {
    await sql`TRUNCATE members."memberStats", members."memberMaxRating"`.execute(dbs.members);
    await sql`INSERT INTO members."memberMaxRating" ("userId", rating, track, "subTrack", "ratingColor") VALUES (7, 1500, 'X', 'Y', '#000'), (99, 1500, 'X', 'Y', '#000')`.execute(
      dbs.members,
    );
    expect(await refreshMaxRating(dbs.members, catalog, { userIds: [7] })).toEqual({ written: 0, removed: 1 });
    const left = await sql<{ userId: number }>`SELECT "userId" FROM members."memberMaxRating"`.execute(dbs.members);
    expect(left.rows).toEqual([{ userId: 99 }]);
  });
});
