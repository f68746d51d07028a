import { sql, type Kysely, type RawBuilder } from 'kysely';
import { explicitlyUnratedIds, explicitlyUnratedSql } from '../metadata';
import { changed, excluded, ids } from '../sql';

/**
 * A backfill run's reading of the Challenge table (platform."backfillChallenge", one database only): taken once when
 * the run begins, joined by every batch instead of each batch looking up again the tens of thousands of challenges
 * its members took part in (a third of a batch's preload).
 *
 * The platform is live meanwhile. A challenge that changes after the reading (it ends, it is marked unrated) is a
 * refresh's to apply, and a refresh reads Challenge itself: each writer that does (a refresh, a backfill of named
 * members) copies what it read into the readings of the runs that are going on, in its own transaction
 * (keepSnapshotsFresh). A batch locks its members first and reads the run's reading after, so a batch of members a
 * refresh wrote sees at least what the refresh saw, and never writes back what the refresh replaced. Changes no
 * refresh followed are read as they were when the run began, as if the batch had run then.
 */

/**
 * The Challenge columns the batches read, from `ch` (a Challenge row). `every`: all challenges are read, and the
 * unrated flag comes from one pass over the metadata instead of a probe per challenge.
 */
export const challengeColumns = (ch: RawBuilder<unknown>, every = false) =>
  sql`${ch}.id::text AS id, ${ch}."trackId", ${ch}."typeId", ${ch}.status, ${ch}."endDate", ${ch}.name, ${ch}."legacyId",
      ${every ? sql`${ch}.id IN (${explicitlyUnratedIds()})` : explicitlyUnratedSql(sql`${ch}.id`)} AS unrated`;

const UPDATED = ['trackId', 'typeId', 'status', 'endDate', 'name', 'legacyId', 'unrated'] as const;

/**
 * Takes the run's reading (again, for a run resumed by a new execution), after the run's row is committed: a writer
 * that read Challenge later sees the run and copies what it read here; taken while one does, the fresher row stays
 * (DO NOTHING here, DO UPDATE there, whichever commits first).
 */
export async function takeChallengeSnapshot(db: Kysely<any>, runKey: string): Promise<number> {
  // committed first (a run resumed from a plan that had no reading says so only now)
  await sql`
    UPDATE platform."backfillRun" SET plan = jsonb_set(plan, '{challengeSnapshot}', 'true')
    WHERE "runKey" = ${runKey} AND (plan ->> 'challengeSnapshot') IS DISTINCT FROM 'true'`.execute(db);
  return db.transaction().execute(async (tx) => {
    // this run's earlier reading, and those of runs that are over (stopped, abandoned, or finished without removing it)
    await sql`
      DELETE FROM platform."backfillChallenge" b
      WHERE b."runKey" = ${runKey}
         OR NOT EXISTS (SELECT 1 FROM platform."backfillRun" r WHERE r."runKey" = b."runKey" AND r.status = 'running')`.execute(tx);
    const r = await sql`
      INSERT INTO platform."backfillChallenge" ("runKey", ${ids(['id', ...UPDATED])})
      SELECT ${runKey}, ${challengeColumns(sql`ch`, true)} FROM challenges."Challenge" ch ORDER BY ch.id
      ON CONFLICT ("runKey", id) DO NOTHING`.execute(tx);
    // for row counts and the join's estimate, not histograms: a small sample
    await sql`SELECT set_config('default_statistics_target', '10', true)`.execute(tx);
    await sql`ANALYZE platform."backfillChallenge"`.execute(tx);
    return Number(r.numAffectedRows ?? 0);
  });
}

/** The run is over: its reading goes (in the transaction that marks it done). */
export async function dropChallengeSnapshot(db: Kysely<any>, runKey: string): Promise<void> {
  await sql`DELETE FROM platform."backfillChallenge" WHERE "runKey" = ${runKey}`.execute(db);
}

/**
 * A writer that read Challenge itself (pg_temp.batch_challenges) copies what it read into the readings of the runs
 * going on, where it differs. Cost ∝ the challenges it read, per run going on (rarely more than one). In id order,
 * as the reading is taken: the two wait for each other's rows, never deadlock.
 */
export async function keepSnapshotsFresh(tx: Kysely<any>): Promise<void> {
  await sql`
    INSERT INTO platform."backfillChallenge" ("runKey", ${ids(['id', ...UPDATED])})
    SELECT r."runKey", ${ids(['id', ...UPDATED])} FROM batch_challenges c
    CROSS JOIN (SELECT "runKey" FROM platform."backfillRun" WHERE status = 'running' AND (plan ->> 'challengeSnapshot')::boolean) r
    ORDER BY r."runKey", c.id COLLATE "C"
    ON CONFLICT ("runKey", id) DO UPDATE SET ${excluded(UPDATED)}
    WHERE ${changed('platform.backfillChallenge', UPDATED)}`.execute(tx);
}
