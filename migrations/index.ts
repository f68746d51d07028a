import { Migrator, sql, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import { unifiedStats } from './0001-unified-stats';
import { platform } from './0002-platform';
import { legacyReads } from './0003-legacy-reads';
import { backfillCheckpoints } from './0004-backfill-checkpoints';
import { readLatency } from './0005-read-latency';
import { rerate } from './0006-rerate';
import { reratePreview } from './0007-rerate-preview';
import { dedupe } from './0008-dedupe';
import { rerankedPartitions } from './0009-reranked-partitions';
import { refresh } from './0010-refresh';
import { cutoverRun } from './0011-cutover-run';
import { changedMembers } from './0012-changed-members';
import { backfillRanks } from './0013-backfill-ranks';
import { captureRanks } from './0014-capture-ranks';
import { backfillChallenges } from './0015-backfill-challenges';

/** Our schema, in order. Names sort lexically; never rename or edit an applied migration — add one. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-unified-stats': unifiedStats,
  '0002-platform': platform,
  '0003-legacy-reads': legacyReads,
  '0004-backfill-checkpoints': backfillCheckpoints,
  '0005-read-latency': readLatency,
  '0006-rerate': rerate,
  '0007-rerate-preview': reratePreview,
  '0008-dedupe': dedupe,
  '0009-reranked-partitions': rerankedPartitions,
  '0010-refresh': refresh,
  '0011-cutover-run': cutoverRun,
  '0012-changed-members': changedMembers,
  '0013-backfill-ranks': backfillRanks,
  '0014-capture-ranks': captureRanks,
  '0015-backfill-challenges': backfillChallenges,
};

/** Applies what is pending on the members database; a no-op when up to date. */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  await sql`CREATE SCHEMA IF NOT EXISTS platform`.execute(db);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    migrationTableSchema: 'platform',
  });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? '(setup)'} failed: ${(error as Error).message}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
