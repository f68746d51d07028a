import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabases, type Databases } from '../store/db';
import { migrateToLatest } from '../migrations';
import { createTestDatabase, testConfig } from './support/db';

describe('migrations', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dbs: Databases;
  beforeAll(async () => {
    db = await createTestDatabase('migrations');
    dbs = openDatabases(testConfig(db.url));
  });
  afterAll(async () => {
    await dbs?.close();
    await db?.drop();
  });

  it('apply once, then re-running is a no-op', async () => {
    expect(await migrateToLatest(dbs.members)).toEqual([
      '0001-unified-stats',
      '0002-platform',
      '0003-legacy-reads',
      '0004-backfill-checkpoints',
      '0005-read-latency',
      '0006-rerate',
      '0007-rerate-preview',
      '0008-dedupe',
      '0009-reranked-partitions',
      '0010-refresh',
      '0011-cutover-run',
      '0012-changed-members',
      '0013-backfill-ranks',
      '0014-capture-ranks',
      '0015-backfill-challenges',
    ]);
    expect(await migrateToLatest(dbs.members)).toEqual([]);
    const tables = await sql<{ t: string }>`
      SELECT table_schema || '.' || table_name AS t FROM information_schema.tables
      WHERE table_schema IN ('members', 'platform') ORDER BY 1`.execute(dbs.members);
    expect(tables.rows.map((r) => r.t)).toEqual(
      expect.arrayContaining([
        'members.memberStats',
        'members.memberStatsHistory',
        'members.memberMaxRating',
        'platform.readSource',
        'platform.readSourceAudit',
        'platform.cutoverRun',
        'platform.evidence',
        'platform.checkpoint',
        'platform.legacyRead',
        'platform.backfillRun',
        'platform.backfillCheckpoint',
        'platform.backfillChallenge',
        'platform.readLatency',
      ]),
    );
  });

  it('allows one mostRecent history row per member track/type, and any number of others', async () => {
    const row = (challengeId: string, mostRecent: boolean) => sql`
      INSERT INTO members."memberStatsHistory" ("userId", "trackId", "typeId", "challengeId", "eventDate", "mostRecent")
      VALUES (1, '9b6fc876-f4d9-4ccb-9dfd-419247628825', '927abff4-7af9-4145-8ba1-577c16e64e2e', ${challengeId}, now(), ${mostRecent})`;
    await row('a', false).execute(dbs.members);
    await row('b', false).execute(dbs.members);
    await row('c', true).execute(dbs.members);
    await expect(row('d', true).execute(dbs.members)).rejects.toThrow(/memberStatsHistory_mostRecent/);
    await expect(row('a', false).execute(dbs.members)).rejects.toThrow(/memberStatsHistory_event/);
  });
});
