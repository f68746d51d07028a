import { BackfillOptions } from '../../domain/backfill';
import type { Catalog } from '../../domain/catalog';
import { processBatch, untimed } from '../backfill/batch';
import type { Databases } from '../db';

/**
 * A refresh of members: their unified stats and history re-derived from the sources — the legacy tables the live
 * pipeline keeps writing, supplemented by challenge results — exactly as phase A derives them, in one
 * transaction. Ratings are not recomputed here (the per-stream sequencer rates in challenge order), and what a
 * rerate or dedupe decided stays (store/backfill/keep-rerated.ts).
 */
export async function refreshMembers(
  dbs: Databases,
  catalog: Catalog,
  userIds: number[],
  runKey: string,
): Promise<{ members: number; missing: number; statsRows: number; historyRows: number }> {
  if (userIds.length === 0) return { members: 0, missing: 0, statsRows: 0, historyRows: 0 };
  const options = BackfillOptions.parse({ userIds, skipRerate: true, throttle: { enabled: false } });
  return dbs.members.transaction().execute(async (tx) => {
    const r = await processBatch(tx, {
      dbs,
      catalog,
      scope: { userIds },
      options,
      plan: { fullRun: true, runKey, checkpoint: false, provisionalRanks: true },
      lap: untimed,
      replay: () => Promise.reject(new Error('a refresh does not rate: the sequencer does')),
    });
    return { members: r.members, missing: r.missingMembers, statsRows: r.statsRows, historyRows: r.historyRows };
  });
}
