import { summarizeReports, type ReportsEvidence } from '../domain/reports';
import { runReports } from '../store/reports/run';
import type { ActivityDeps } from './deps';
import { catalogCache } from './catalog-cache';
import { withHeartbeats } from './heartbeat';

export function reportsActivities({ dbs }: ActivityDeps) {
  const getCatalog = catalogCache(dbs);
  return withHeartbeats({
    /** Phase F: both reports on both sides for the seed's sample, compared. Read-only: a retry is the same run again. */
    async reportsRun(input: { seed: string; samples: number }): Promise<ReportsEvidence> {
      const outputs = await runReports(dbs.members, await getCatalog(), input);
      return summarizeReports(outputs, input);
    },
  });
}
