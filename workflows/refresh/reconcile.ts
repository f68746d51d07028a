import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { RECONCILE, type ReconcileResult } from '../../domain/refresh';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { markFailure } from '../support/failure';
import { batchActivity, memberActivity } from '../support/policies';

const acts = proxyActivities<Activities>(memberActivity);
/** A refresh waited for may queue behind a stream's rerate: long, heartbeating. */
const waiting = proxyActivities<Activities>(batchActivity(30));

/**
 * Phase E's safety net, run by a Temporal Schedule: completed challenges past the high-water mark (end date, id)
 * that no trigger refreshed are refreshed now (joining a trigger's refresh when one is running), in bounded chunks;
 * the mark moves past a chunk once every challenge in it is refreshed. Triggers are lost, duplicated and reordered
 * in real life: this is what makes the result not depend on them.
 */
export async function refreshReconcile(input: { chunk?: number; maxChunks?: number } = {}): Promise<ReconcileResult> {
  return markFailure(async () => {
    upsertSearchAttributes([
      { key: CutoverPhase, value: 'refresh' },
      { key: CutoverState, value: 'running' },
    ]);
    const chunk = input.chunk ?? RECONCILE.chunk;
    const out: ReconcileResult = { chunks: 0, looked: 0, refreshed: [], caughtUp: false, initialized: false };
    for (; out.chunks < (input.maxChunks ?? RECONCILE.maxChunks); out.chunks++) {
      const c = await acts.reconcileChunk({ limit: chunk });
      if (c.initialized) {
        out.initialized = true;
        out.caughtUp = true;
        break;
      }
      out.looked += c.looked.length;
      for (let i = 0; i < c.unrefreshed.length; i += RECONCILE.parallel) {
        const group = c.unrefreshed.slice(i, i + RECONCILE.parallel);
        await Promise.all(group.map((challengeId) => waiting.refreshThrough({ challengeId })));
        out.refreshed.push(...group);
      }
      const last = c.looked.at(-1);
      if (last) await acts.advanceMark(last);
      if (c.looked.length < chunk) {
        // the loop counts the chunks it goes on from; a last, short chunk was looked at all the same
        if (c.looked.length > 0) out.chunks++;
        out.caughtUp = true;
        break;
      }
    }
    upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
    return out;
  });
}
