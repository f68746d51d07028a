import { sql, type Kysely } from 'kysely';
import { BACKFILL_LIVE_MS } from '../../domain/limits';
import type { Partition } from '../derived';

/**
 * Whether a backfill that is running re-ranks `p` when its last batch is in, so a live rating may leave the
 * partition's ranks to it: during a backfill nearly every rank of the partition shifts with each batch, and each
 * re-rank rewrote them all (and slowed the backfill beside it) only to be redone at its end.
 * The run's row stays locked (FOR SHARE) until the caller's transaction ends. The run's end marks it done and
 * re-ranks in one transaction (backfillFinalize), so it waits for that lock and then sees what the caller committed
 * before asking; asked after, the run is done and the caller re-ranks itself. Call it in a transaction of its own,
 * holding no lock a re-rank needs (a rating's rows are committed first).
 */
export async function ranksLeftToBackfill(tx: Kysely<any>, p: Partition): Promise<boolean> {
  const r = await sql<{ runKey: string }>`
    SELECT r."runKey" FROM platform."backfillRun" r
    WHERE r.status = 'running' AND r."ranksAtEnd"
      AND COALESCE(r.plan ->> 'trackId', ${p.trackId}) = ${p.trackId} AND COALESCE(r.plan ->> 'typeId', ${p.typeId}) = ${p.typeId}
      AND GREATEST(r."startedAt", (SELECT max(c."committedAt") FROM platform."backfillCheckpoint" c WHERE c."runKey" = r."runKey"))
          > now() - make_interval(secs => ${BACKFILL_LIVE_MS / 1000})
    LIMIT 1 FOR SHARE OF r`.execute(tx);
  return r.rows.length > 0;
}
