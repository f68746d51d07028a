import { ApplicationFailure, Context } from '@temporalio/activity';
import { DedupeRefused, type DedupeOptions, type DedupeReport, type DedupeUndoResult } from '../domain/dedupe';
import { DEFAULT_BATCH_ATTEMPTS, Failure, isTransient } from '../domain/failures';
import { applyDedupe } from '../store/dedupe/apply';
import { duplicates, summarize } from '../store/dedupe/find';
import { loadRounds } from '../store/dedupe/rounds';
import { undoDedupe } from '../store/dedupe/undo';
import { existingMembers } from '../store/members/find';
import { readOnly } from '../store/sql';
import type { ActivityDeps } from './deps';
import { catalogCache } from './catalog-cache';
import { heartbeating } from './heartbeat';

function attempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // called as a plain function (tests)
  }
}

/**
 * A refusal the operator must act on: bad input exits 2, the rest stop the run saying why (never retried). An outage
 * is waited out; any other error (a broken statement) happens again on every attempt, so after a few it stops too.
 */
function refusal(e: unknown): unknown {
  if (e instanceof DedupeRefused) {
    const input = e.reason === 'unknown-run' || e.reason === 'out-of-order' || e.reason === 'unknown-member';
    return ApplicationFailure.nonRetryable(e.message, input ? Failure.InvalidInput : 'DedupeRefused');
  }
  const n = attempt();
  if (e instanceof ApplicationFailure || isTransient(e) || n < DEFAULT_BATCH_ATTEMPTS) return e;
  return ApplicationFailure.nonRetryable(`dedupe failed ${n} times: ${e instanceof Error ? e.message : String(e)}`, Failure.BatchFailed);
}

export function dedupeActivities({ dbs }: ActivityDeps) {
  const getCatalog = catalogCache(dbs);

  /** The workflow may be started without the CLI: a member that does not exist is refused here too. */
  async function checkMembers(options: DedupeOptions): Promise<void> {
    if (!options.userIds) return;
    const found = new Set(await existingMembers(dbs.members, options.userIds));
    const unknown = options.userIds.filter((id) => !found.has(id));
    if (unknown.length > 0)
      throw new DedupeRefused('unknown-member', `--user-id ${unknown.slice(0, 5).join(', ')}: no such member in members."member"`);
  }

  const guarded = <T>(fn: () => Promise<T>) => heartbeating(() => fn().catch((e: unknown) => Promise.reject(refusal(e))));

  return {
    /** Dry run: the duplicates in scope, read-only. */
    async dedupeFind(input: { runId: string; options: DedupeOptions }): Promise<DedupeReport> {
      return guarded(async () => {
        await checkMembers(input.options);
        const cat = await getCatalog();
        const rounds = await loadRounds(dbs, cat, input.options.userIds);
        const summary = await readOnly(dbs.members, (tx) => summarize(tx, duplicates(cat, rounds, input.options)));
        return { runId: input.runId, apply: false, options: input.options, ...summary };
      });
    },

    /** Apply: removes the duplicates in one transaction, keeping them for undo; a retry returns what the run did. */
    async dedupeApply(input: { runId: string; options: DedupeOptions; startedAt: string }): Promise<DedupeReport> {
      return guarded(async () => {
        await checkMembers(input.options);
        const cat = await getCatalog();
        const rounds = await loadRounds(dbs, cat, input.options.userIds);
        const r = await applyDedupe(dbs.members, cat, rounds, {
          runId: input.runId,
          options: input.options,
          startedAt: new Date(input.startedAt),
        });
        return { runId: input.runId, apply: true, options: input.options, ...r };
      });
    },

    /** Undo: an applied run's rows and flags restored in one transaction; undoing again does nothing. */
    async dedupeUndo(input: { runId: string }): Promise<DedupeUndoResult> {
      return guarded(() => undoDedupe(dbs.members, input.runId));
    },
  };
}
