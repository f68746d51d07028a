import { sql, type Kysely } from 'kysely';
import type { BackfillPlan, BatchResult, UserRange } from '../../domain/backfill';

/** Phase A's checkpoints (migrations/0004): a run's plan, and each batch's commit with what it wrote. */

/** The plan of the unfinished run with these options, with its committed batch count; undefined when there is none. */
export async function unfinishedRun(db: Kysely<any>, resumeKey: string): Promise<{ plan: BackfillPlan; committed: number } | undefined> {
  const r = await sql<{ plan: BackfillPlan; committed: number }>`
    SELECT r.plan, (SELECT count(*)::int FROM platform."backfillCheckpoint" c WHERE c."runKey" = r."runKey") AS committed
    FROM platform."backfillRun" r WHERE r."resumeKey" = ${resumeKey} AND r.status = 'running'
    ORDER BY r."startedAt" DESC LIMIT 1`.execute(db);
  return r.rows[0];
}

/**
 * Records a run's plan, and whether it re-ranks the computed partitions at its end (store/backfill/ranks.ts);
 * earlier unfinished runs with the same options are abandoned (their checkpoints go).
 */
export async function beginRun(db: Kysely<any>, resumeKey: string, plan: BackfillPlan, ranksAtEnd: boolean): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`DELETE FROM platform."backfillRun" WHERE "resumeKey" = ${resumeKey} AND status = 'running' AND "runKey" <> ${plan.runKey}`.execute(
      tx,
    );
    await sql`
      INSERT INTO platform."backfillRun" ("runKey", "resumeKey", plan, "ranksAtEnd")
      VALUES (${plan.runKey}, ${resumeKey}, ${JSON.stringify(plan)}::jsonb, ${ranksAtEnd})
      ON CONFLICT ("runKey") DO UPDATE SET "ranksAtEnd" = EXCLUDED."ranksAtEnd"`.execute(tx);
  });
}

export async function finishRun(db: Kysely<any>, runKey: string): Promise<void> {
  await sql`UPDATE platform."backfillRun" SET status = 'done', "finishedAt" = now() WHERE "runKey" = ${runKey} AND status = 'running'`.execute(
    db,
  );
}

/** What a batch recorded when it committed (a retry after a lost completion, or a resumed run, returns it). */
export async function committedBatch(db: Kysely<any>, runKey: string, range: UserRange): Promise<BatchResult | undefined> {
  const r = await sql<{ result: BatchResult }>`
    SELECT result FROM platform."backfillCheckpoint" WHERE "runKey" = ${runKey} AND "rangeStart" = ${range[0]}`.execute(db);
  return r.rows[0]?.result;
}

/** Inside the batch's transaction, its last statement: the batch committed with this result (at about this time). */
export async function recordBatch(tx: Kysely<any>, runKey: string, range: UserRange, result: BatchResult): Promise<void> {
  await sql`
    INSERT INTO platform."backfillCheckpoint" ("runKey", "rangeStart", "rangeEnd", result, "committedAt")
    VALUES (${runKey}, ${range[0]}, ${range[1]}, ${JSON.stringify(result)}::jsonb, clock_timestamp())
    ON CONFLICT ("runKey", "rangeStart") DO NOTHING`.execute(tx);
}

/** The members of the run's committed batches (the runbook's processed-user-ids), in id order. */
export async function processedUserIds(db: Kysely<any>, runKey: string): Promise<number[]> {
  const r = await sql<{ userId: number }>`
    SELECT m."userId" FROM platform."backfillCheckpoint" c
    JOIN members."member" m ON m."userId" BETWEEN c."rangeStart" AND c."rangeEnd"
    WHERE c."runKey" = ${runKey} ORDER BY 1`.execute(db);
  return r.rows.map((x) => x.userId);
}

export interface BackfillThroughput {
  runKey: string;
  startedAt: string;
  finishedAt: string | null;
  membersTotal: number;
  /** members committed so far at each batch's commit, in time order (at most the last 2,000 batches) */
  points: Array<{ at: string; members: number }>;
}

/** The latest backfill run's members over time, from its checkpoints: what the dashboard plots as members per second. */
export async function backfillThroughput(db: Kysely<any>): Promise<BackfillThroughput | undefined> {
  const run = await sql<{ runKey: string; startedAt: Date; finishedAt: Date | null; membersTotal: number }>`
    SELECT "runKey", "startedAt", "finishedAt", COALESCE((plan ->> 'membersTotal')::int, 0) AS "membersTotal"
    FROM platform."backfillRun" ORDER BY "startedAt" DESC LIMIT 1`.execute(db);
  const r = run.rows[0];
  if (!r) return undefined;
  const points = await sql<{ at: Date; members: number }>`
    SELECT at, members FROM (
      SELECT "committedAt" AS at, sum((result ->> 'members')::int) OVER (ORDER BY "committedAt", "rangeStart")::int AS members,
             "rangeStart"
      FROM platform."backfillCheckpoint" WHERE "runKey" = ${r.runKey}) c
    ORDER BY at DESC, "rangeStart" DESC LIMIT 2000`.execute(db);
  return {
    runKey: r.runKey,
    startedAt: r.startedAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    membersTotal: r.membersTotal,
    points: points.rows.reverse().map((p) => ({ at: p.at.toISOString(), members: p.members })),
  };
}
