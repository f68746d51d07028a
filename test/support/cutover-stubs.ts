// Workflow module for the cutover's signal-matrix tests: the real cutover workflow, with each phase's child
// workflow type served by a stub whose behaviour the test's activities decide (pass, fail, wait to be released).
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineSignal,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';

export { cutover } from '../../workflows/cutover/workflow';

export interface StubActivities {
  stubBegin(input: { type: string; workflowId: string }): Promise<{ fail?: string; failType?: string; block?: boolean }>;
  stubEvent(input: { type: string; workflowId: string; event: string }): Promise<void>;
}

export const releaseSignal = defineSignal('release');
const acts = proxyActivities<StubActivities>({ startToCloseTimeout: '10 seconds' });

async function phase<T>(type: string, result: (evidenceId: number) => T): Promise<T> {
  const { workflowId } = workflowInfo();
  let released = false;
  setHandler(releaseSignal, () => void (released = true));
  setHandler(defineSignal('pause'), () => void acts.stubEvent({ type, workflowId, event: 'pause' }));
  setHandler(defineSignal('resume'), () => void acts.stubEvent({ type, workflowId, event: 'resume' }));
  const b = await acts.stubBegin({ type, workflowId });
  if (b.block) {
    try {
      await condition(() => released);
    } catch (e) {
      await CancellationScope.nonCancellable(() => acts.stubEvent({ type, workflowId, event: 'cancelled' }));
      throw e;
    }
  }
  if (b.fail) throw ApplicationFailure.nonRetryable(b.fail, b.failType ?? 'StubFailure');
  return result(workflowId.length);
}

export const preflight = () => phase('preflight', (evidenceId) => ({ passed: true, checks: [{ name: 'stub', passed: true }], evidenceId }));
export const backfill = () =>
  phase('backfill', (evidenceId) => ({ totals: { members: 10, statsRows: 20, historyRows: 30 }, seconds: 1, evidenceId }));
export const parity = () => phase('parity', (evidenceId) => ({ passed: true, categories: {}, evidenceId }));
export const switchReads = () =>
  phase('switchReads', (evidenceId) => ({ evidenceId, verification: { ok: true, members: [{}, {}, {}] }, forced: false }));
export const dedupe = (input: { options: { apply: boolean } }) =>
  phase(input.options.apply ? 'dedupe-apply' : 'dedupe-dry-run', (evidenceId) => ({
    mode: input.options.apply ? 'apply' : 'dry-run',
    report: { rows: 2 },
    runId: 'run-1',
    evidenceId,
  }));
export const reports = () => phase('reports', (evidenceId) => ({ passed: true, problems: [], summary: 'stub reports', evidenceId }));

/** The sequencer's stream rerate, stubbed: runs as a phase, then answers the cutover as the sequencer does. */
export async function rerate(input: { replyTo: string; requestId: string; stream: string }): Promise<void> {
  const r = await phase(`rerate-${input.stream}`, (evidenceId) => ({ evidenceId })).then(
    (x) => ({ ...x, rows: 5 }),
    (e: Error) => ({ error: e.message }),
  );
  await getExternalWorkflowHandle(input.replyTo).signal(defineSignal<[unknown]>('rerateDone'), {
    requestId: input.requestId,
    workflowId: workflowInfo().workflowId,
    ...r,
  });
}
