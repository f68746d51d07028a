import { ApplicationFailure } from '@temporalio/activity';
import { sql } from 'kysely';
import type { Catalog } from '../domain/catalog';
import { Failure } from '../domain/failures';
import { describeSourceChanges, hasChanges, sourceChanges, type PromoteOutcome } from '../domain/rerate-preview';
import { fingerprintStream } from '../store/rerate/fingerprint';
import { closePreview, rerateRun, stagePreviewRows, type RerateRun } from '../store/rerate/preview';
import { loadStream } from '../store/rerate/stream';
import { applyStagedRows, refreshStreamStats, rerankStream } from '../store/rerate/write';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeat';

const invalid = (message: string) => ApplicationFailure.nonRetryable(message, Failure.InvalidInput);

/** A run an operator can promote or discard: it exists, is a preview, and finished computing. */
function previewable(run: RerateRun | undefined, runKey: string, action: 'promote' | 'discard'): RerateRun {
  if (!run) throw invalid(`rerate run ${runKey}: no such run (a preview prints its run id; \`status\` lists open previews)`);
  if (!run.preview)
    throw invalid(`rerate run ${runKey} was not a preview: it wrote the unified tables directly, there is nothing to ${action}`);
  if (run.status === 'running') throw invalid(`preview ${runKey} is still running: wait for it to finish, then ${action} it`);
  return run;
}

/** `rerate promote <run>` and `rerate discard <run>`: a preview's fate, each safe to run twice. */
export function previewActivities({ dbs, config }: ActivityDeps, getCatalog: () => Promise<Catalog>) {
  return {
    /**
     * The preview's rows applied in one transaction — history, mostRecent, stats rows, memberMaxRating, ranks —
     * if the stream it was computed from is unchanged; else refused, naming what moved. Writers of the history wait
     * for the transaction (SHARE ROW EXCLUSIVE), so the check and the write see the same source; readers do not.
     */
    async reratePromote(input: { runKey: string }): Promise<PromoteOutcome> {
      return heartbeating(async () => {
        const first = previewable(await rerateRun(dbs.members, input.runKey), input.runKey, 'promote');
        if (first.status === 'promoted') return first.outcome!;
        if (first.status === 'discarded') throw invalid(`preview ${input.runKey} was discarded: run the preview again to promote one`);
        const cat = await getCatalog();
        return dbs.members.transaction().execute(async (tx) => {
          const run = previewable(await rerateRun(tx, input.runKey, { forUpdate: true }), input.runKey, 'promote');
          if (run.status === 'promoted') return run.outcome!;
          if (run.status === 'discarded') throw invalid(`preview ${input.runKey} was discarded: run the preview again to promote one`);
          await sql`LOCK TABLE members."memberStatsHistory" IN SHARE ROW EXCLUSIVE MODE`.execute(tx);
          const loaded = await loadStream(dbs, cat, run.stream, config.ratingMissingMetadata);
          const changes = sourceChanges(run.source!, fingerprintStream(loaded));
          if (hasChanges(changes)) {
            const names = new Map([...loaded.challenges.values()].map((c) => [c.challengeId, c.name]));
            throw ApplicationFailure.nonRetryable(describeSourceChanges(run.stream, run.runKey, changes, names), Failure.StalePreview);
          }
          const touched = await stagePreviewRows(tx, run.runKey);
          const written = await applyStagedRows(tx, cat, run.stream);
          const statsChanged = await refreshStreamStats(tx, cat, run.stream, touched);
          const ranksChanged = await rerankStream(tx, cat, run.stream);
          const outcome: PromoteOutcome = {
            runKey: run.runKey,
            stream: run.stream,
            written,
            statsChanged,
            ranksChanged,
            membersTouched: touched.length,
            promotedAt: new Date().toISOString(),
          };
          await closePreview(tx, run.runKey, 'promoted', outcome);
          return outcome;
        });
      });
    },

    /** Drops a preview's shadow rows; the unified tables are untouched. A promoted preview cannot be discarded. */
    async rerateDiscard(input: { runKey: string }): Promise<{ runKey: string; discarded: boolean }> {
      return dbs.members.transaction().execute(async (tx) => {
        const run = previewable(await rerateRun(tx, input.runKey, { forUpdate: true }), input.runKey, 'discard');
        if (run.status === 'promoted')
          throw invalid(`preview ${input.runKey} was promoted: its rows are the unified history now (rerate again to change them)`);
        if (run.status === 'discarded') return { runKey: run.runKey, discarded: false };
        await closePreview(tx, run.runKey, 'discarded');
        return { runKey: run.runKey, discarded: true };
      });
    },
  };
}
