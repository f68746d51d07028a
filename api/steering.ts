import type { Client, WorkflowHandle } from '@temporalio/client';
import { retryRefusal, type CutoverState, type OperatorMessage } from '../domain/cutover';
import { hasWorker } from '../lib/temporal';
import { readCutover } from '../store/cutover';
import { backfillProgress, pauseSignal, resumeSignal } from '../workflows/backfill/messages';
import { cutoverAbort, cutoverPause, cutoverResume, cutoverRetry, cutoverStatus } from '../workflows/cutover/messages';
import { loneBackfill, type StatusSources } from './status';

/**
 * pause, resume, cancel and retry as the CLI and the dashboard both give them: to the running cutover (passed on to
 * its phase), else to a backfill running on its own. Each answers what it did, or why there was nothing to do
 * (already paused, not paused, nothing running); a state is read live when a worker can answer, else from the
 * cutover's mirror. Where nothing can be done at all, NothingToSteer says why.
 */

export type SteerAction = 'pause' | 'resume' | 'cancel' | 'retry';

/** Nothing runs that the action applies to (the caller's "bad request": exit 2, HTTP 409). */
export class NothingToSteer extends Error {
  override name = 'NothingToSteer';
}

export interface SteerTarget {
  kind: 'cutover' | 'backfill';
  handle: WorkflowHandle;
  /** "cutover <name>" or "the backfill" */
  label: string;
  /** unknown when no worker could answer for a backfill */
  state?: string;
  paused: boolean;
}

export async function steerTarget(sources: StatusSources & { client: Client }): Promise<SteerTarget> {
  const { client } = sources;
  const { namespace, taskQueue } = sources.config.temporal;
  // a query nobody answers waits: asked only when a worker polls
  const polls = await hasWorker(client, namespace, taskQueue, { now: true }).catch(() => false);
  const m = await readCutover(sources.dbs.members);
  if (m && !['done', 'aborted'].includes(m.status.state)) {
    const handle = client.workflow.getHandle(m.workflowId);
    const running = await handle
      .describe()
      .then((d) => d.status.name === 'RUNNING')
      .catch(() => false);
    if (running) {
      const st = (polls ? await handle.query(cutoverStatus).catch(() => undefined) : undefined) ?? m.status;
      return { kind: 'cutover', handle, label: `cutover ${m.name}`, state: st.state, paused: st.state === 'paused' || st.paused === true };
    }
  }
  const lone = await loneBackfill(client);
  if (lone?.status !== 'RUNNING')
    throw new NothingToSteer(
      lone
        ? `no cutover or backfill is running (the latest backfill, ${lone.workflowId}, is ${lone.status.toLowerCase()}): nothing to steer`
        : 'no cutover or backfill is running: nothing to steer (see `status`)',
    );
  const handle = client.workflow.getHandle(lone.workflowId);
  const progress = polls ? await handle.query(backfillProgress).catch(() => undefined) : undefined;
  return { kind: 'backfill', handle, label: 'the backfill', state: progress?.state, paused: progress?.state === 'paused' };
}

/** Sends the action (or says why not), returning what to tell the operator. */
export async function steerAction(t: SteerTarget, action: SteerAction, msg: OperatorMessage): Promise<string> {
  const cutover = t.kind === 'cutover';
  switch (action) {
    case 'pause':
      if (t.paused) return `${t.label} is already paused: \`resume\` to go on`;
      await (cutover ? t.handle.signal(cutoverPause, msg) : t.handle.signal(pauseSignal));
      return `pause requested: ${t.label} pauses between batches${cutover ? ', the next step waits' : ''} (\`status\` shows when it has)`;
    case 'resume':
      if (t.state !== undefined && !t.paused) return `${t.label} is not paused (${t.state}): nothing to resume`;
      await (cutover ? t.handle.signal(cutoverResume, msg) : t.handle.signal(resumeSignal));
      return t.state === undefined ? `resume requested (${t.label}: its state could not be read)` : `resumed ${t.label}`;
    case 'cancel':
      if (cutover) {
        await t.handle.signal(cutoverAbort, msg);
        return `cancel requested: ${t.label} ends (reads back to legacy if they were unified)`;
      }
      await t.handle.cancel();
      return 'cancel requested: the backfill stops after its batches in flight roll back; its committed batches stay (a later run with the same options continues them)';
    case 'retry':
      if (!cutover) throw new NothingToSteer('retry re-runs a blocked step of a cutover: no cutover is running');
      const refusal = t.state === undefined ? undefined : retryRefusal(t.state as CutoverState);
      if (refusal) throw new NothingToSteer(refusal.replace('the cutover', t.label));
      await t.handle.signal(cutoverRetry, msg);
      return 'retry requested';
  }
}
