import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberHistory, MemberStats } from '../domain/member-stats';
import { buildApi } from '../api/server';
import { watchReadSource, type ReadSourceReader } from '../store/read-source';
import { bringUp, type Stack } from '../lib/stack';
import { runSeed } from '../scripts/seed/index';
import { closeAndDrop } from './api-fixtures';
import { createTestDatabase, testConfig } from './support/db';

/** The legacy read path over the generator's deliberately messy data: every member answers, in the documented shape. */
describe('read API over seeded legacy data', () => {
  let tdb: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: Stack;
  let reader: ReadSourceReader;
  let app: FastifyInstance;
  beforeAll(async () => {
    tdb = await createTestDatabase('api_seed');
    stack = await bringUp({ config: testConfig(tdb.url), temporal: false, log: () => {} });
    await runSeed(stack.dbs, { size: 'tiny', seed: 11 });
    reader = await watchReadSource(stack.dbs.members);
    app = await buildApi({ dbs: stack.dbs, readSource: reader });
  });
  afterAll(async () => {
    await app?.close();
    reader?.close();
    if (stack && tdb) await closeAndDrop(stack.dbs, tdb);
  });

  it('every member: stats and chronological history, 200 and valid', async () => {
    const members = await sql<{ handle: string; userId: number }>`SELECT handle, "userId" FROM members."member" ORDER BY "userId"`.execute(
      stack.dbs.members,
    );
    expect(members.rows.length).toBeGreaterThan(0);
    let withTracks = 0;
    let withHistory = 0;
    for (const m of members.rows) {
      const s = await app.inject({ url: `/members/${encodeURIComponent(m.handle.toUpperCase())}/stats` });
      const h = await app.inject({ url: `/members/${encodeURIComponent(m.handle)}/stats/history` });
      expect([s.statusCode, h.statusCode], m.handle).toEqual([200, 200]);
      const stats = MemberStats.parse(s.json());
      const history = MemberHistory.parse(h.json()).history;
      expect(stats.userId).toBe(m.userId);
      const keys = stats.tracks.map((t) => `${t.track}/${t.type}`);
      expect(new Set(keys).size, m.handle).toBe(keys.length);
      for (let i = 1; i < history.length; i++) expect(history[i - 1]!.date <= history[i]!.date, m.handle).toBe(true);
      if (stats.maxRating) expect(Math.max(...stats.tracks.map((t) => t.rating ?? -Infinity))).toBe(stats.maxRating.rating);
      withTracks += stats.tracks.length > 0 ? 1 : 0;
      withHistory += history.length > 0 ? 1 : 0;
    }
    expect(withTracks).toBeGreaterThan(0);
    expect(withHistory).toBeGreaterThan(0);
  });
});
