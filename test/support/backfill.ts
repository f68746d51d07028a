import type { Kysely } from 'kysely';
import type { Client } from '@temporalio/client';
import type { BackfillOptions } from '../../domain/backfill';
import type { BackfillResult, BackfillTuning } from '../../workflows/backfill/workflow';
import { Backfill } from '../../workflows/backfill/messages';
import { unifiedChecksum } from '../../store/checksum';

let seq = 0;
/** Tests use their own workflow ids: files run in parallel against one server. */
export function startTestBackfill(client: Client, taskQueue: string, options: Partial<BackfillOptions>, tuning?: BackfillTuning) {
  return client.workflow.start(Backfill, {
    taskQueue,
    workflowId: `test/backfill/${process.pid}/${Date.now()}/${seq++}`,
    args: [{ options: { skipHistory: false, skipRerate: false, concurrency: 4, batchSize: 500, csvOnly: false, ...options }, tuning }],
  });
}

export async function runTestBackfill(
  client: Client,
  taskQueue: string,
  options: Partial<BackfillOptions>,
  tuning?: BackfillTuning,
): Promise<BackfillResult> {
  const h = await startTestBackfill(client, taskQueue, options, tuning);
  return await h.result();
}

export { clearUnified, unifiedChecksum } from '../../store/checksum';

/**
 * "The data is backfilled" as a precondition a test can ask for, whatever ran before it: backfills (every member)
 * unless the unified tables already hold exactly what the last such backfill wrote. Keeps tests independent of
 * their order.
 */
export function backfilledState(client: Client, taskQueue: string, db: Kysely<any>): () => Promise<void> {
  let baseline: string | undefined;
  return async () => {
    if (baseline !== undefined && JSON.stringify(await unifiedChecksum(db)) === baseline) return;
    await runTestBackfill(client, taskQueue, {});
    baseline = JSON.stringify(await unifiedChecksum(db));
  };
}
