import {
  patched,
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import {
  ApproveInput,
  CutoverPlan,
  nextStep,
  OperatorMessage,
  readsUnified,
  resetAfterRollback,
  RollbackInput,
  type Approval,
  type CutoverPlanInput,
  type CutoverStatus,
  type GateView,
  type Step,
  type StepRecord,
} from '../../domain/cutover';
import { isConcurrency, concurrencyMessage } from '../../domain/limits';
import type { StreamRerateDone } from '../../domain/refresh';
import { pauseSignal, resumeSignal } from '../backfill/messages';
import { rerateDone } from '../refresh/messages';
import {
  cutoverAbort,
  cutoverApprove,
  cutoverConcurrency,
  cutoverPause,
  cutoverResume,
  cutoverRetry,
  cutoverRollback,
  cutoverStatus,
} from './messages';
import { rootMessage } from '../support/failure';
import { CutoverRun, type CutoverCarry } from './state';
import { cutoverActs, mirrorActs, RegressionFound, STEP_RUNNERS, StepBlocked, type StepContext } from './steps';

export interface CutoverInput {
  plan: CutoverPlanInput;
  /** who started it */
  actor: string;
  carry?: CutoverCarry;
}

/** Steps whose child workflow takes pause and resume itself; at others a pause holds the next step. */
const PAUSABLE: ReadonlySet<Step> = new Set(['backfill', 'rerate']);

/**
 * The whole runbook as one durable plan: preflight → backfill → parity → switch → rerate → dedupe → refresh →
 * reports → go/no-go → rollback window → flag removal. Each phase runs as its own child workflow; a failed step
 * blocks (it never fails the cutover) until an operator retries, rolls back or aborts. Gates wait for approval
 * (or approve themselves with --auto-approve when their evidence holds). The state is mirrored into
 * platform."cutoverRun" for the CLI and the API, and into search attributes for the Web UI.
 */
export async function cutover(input: CutoverInput): Promise<CutoverStatus> {
  const plan = CutoverPlan.parse(input.plan);
  const run = new CutoverRun(plan, input.carry);
  const rerateAnswers = new Map<string, StreamRerateDone>();
  let scope: CancellationScope | undefined;
  const mirror = () => mirrorActs.mirrorCutover({ workflowId: workflowInfo().workflowId, status: run.status }).catch(() => undefined);

  if (!input.carry) {
    run.record({ actor: input.actor, action: 'start', detail: `plan: ${JSON.stringify(plan)}` });
    upsertMemo({ plan });
  }
  setHandler(cutoverStatus, () => run.status);
  setHandler(rerateDone, (a) => void rerateAnswers.set(a.requestId, a));
  setHandler(cutoverPause, (m) => {
    const msg = OperatorMessage.parse(m);
    run.record({ ...msg, action: 'pause', ...stepOf(run) });
    if (run.paused) return;
    run.paused = true;
    // waiting for an approval (or blocked) it stays in that state: the flag says the next step will wait
    run.status.paused = true;
    if (run.status.state === 'running') run.setState('paused');
    void toChild(run, 'pause');
  });
  setHandler(cutoverResume, (m) => {
    const msg = OperatorMessage.parse(m);
    run.record({ ...msg, action: 'resume', ...stepOf(run) });
    if (!run.paused) return;
    run.paused = false;
    delete run.status.paused;
    if (run.status.state === 'paused') run.setState('running');
    void toChild(run, 'resume');
  });
  setHandler(cutoverRollback, (m) => {
    const msg = RollbackInput.parse(m);
    run.record({ actor: msg.actor, reason: msg.reason, action: 'rollback', ...stepOf(run) });
    if (run.interrupt?.kind === 'abort') return;
    run.interrupt = { kind: 'rollback', actor: msg.actor, reason: msg.reason };
    scope?.cancel();
  });
  setHandler(cutoverAbort, (m) => {
    const msg = OperatorMessage.parse(m);
    run.record({ ...msg, action: 'abort', ...stepOf(run) });
    run.interrupt = { kind: 'abort', actor: msg.actor, reason: msg.reason ?? 'aborted' };
    scope?.cancel();
  });
  setHandler(cutoverRetry, (m) => {
    const msg = OperatorMessage.parse(m);
    const waiting = run.status.state === 'blocked' || run.status.state === 'rolled-back';
    run.record({ ...msg, action: 'retry', ...stepOf(run), ...(waiting ? {} : { detail: 'nothing to retry: no step is blocked' }) });
    if (waiting) run.retryRequested = true;
  });
  setHandler(
    cutoverApprove,
    (a) => {
      const msg = ApproveInput.parse(a);
      const view = run.evaluations.get(msg.gate)!;
      run.approved.add(msg.gate);
      if (!view.holds) run.forced.add(msg.gate);
      run.record({ actor: msg.actor, reason: msg.reason, action: 'approve', step: msg.gate, forced: !view.holds });
      return view;
    },
    {
      validator: (a) => {
        const msg = ApproveInput.parse(a);
        if (run.status.awaiting !== msg.gate)
          throw new Error(
            run.status.awaiting
              ? `the cutover waits for approval of ${run.status.awaiting}, not ${msg.gate}`
              : `the cutover waits for no approval now (state ${run.status.state}, step ${run.status.step ?? 'none'})`,
          );
        const view = run.evaluations.get(msg.gate);
        if (!view) throw new Error(`the ${msg.gate} gate has not been evaluated yet: try again in a moment`);
        if (!view.holds && !msg.force)
          throw new Error(`the ${msg.gate} gate does not hold: ${view.reason} (approve with --force to override, on record)`);
      },
    },
  );
  setHandler(
    cutoverConcurrency,
    (a) => {
      run.plan.concurrency = a.concurrency;
      run.record({ actor: a.actor, action: 'setConcurrency', detail: String(a.concurrency) });
      return a.concurrency;
    },
    {
      validator: (a) => {
        if (!isConcurrency(a.concurrency)) throw new Error(`${concurrencyMessage('concurrency')}, got ${a.concurrency}`);
      },
    },
  );

  const approval = async (gate: Approval, evaluate: () => Promise<GateView>): Promise<void> => {
    const rec = run.stepRecord(run.status.step!);
    for (;;) {
      const view = await evaluate();
      run.evaluations.set(gate, view);
      if (run.approved.has(gate)) break;
      if (view.holds && run.plan.autoApprove) {
        run.approved.add(gate);
        run.record({ actor: 'cutover (--auto-approve)', action: 'approve', step: gate, reason: view.reason });
        break;
      }
      rec.status = 'waiting-approval';
      run.status.awaiting = gate;
      if (run.status.state !== 'waiting-approval') {
        run.setState('waiting-approval');
        run.status.awaiting = gate;
        await mirror();
      }
      await condition(() => run.approved.has(gate), `${run.plan.checkEverySeconds} seconds`);
    }
    rec.status = 'running';
    run.setState(run.paused ? 'paused' : 'running');
    await mirror();
    // approved while paused: the step waits for resume like any other (a rollback or abort still gets through)
    if (run.paused && patched('approval-waits-while-paused')) await condition(() => !run.paused || run.interrupt !== undefined);
  };

  /** Stops what runs, answers a rollback or an abort; true when the cutover is over. */
  const interrupted = async (at: Step | null): Promise<boolean> => {
    const it = run.interrupt!;
    if (run.status.readSource === 'unified' || readsUnified(run.status.steps) || it.kind === 'rollback') {
      const r = await cutoverActs.cutoverRollbackReads({ actor: it.actor, reason: `${it.kind}: ${it.reason}` });
      run.status.readSource = 'legacy';
      if (r.changed)
        run.record({
          actor: it.actor,
          action: it.automatic ? 'auto-rollback' : 'rollback',
          detail: `reads → legacy (audit #${r.auditId})`,
        });
    }
    if (it.kind === 'abort') {
      run.setState('aborted', `aborted by ${it.actor}: ${it.reason}`);
      return true;
    }
    // an abort that came while reads were rolled back ends the cutover (clearing the interrupt below would lose it)
    if (run.interrupt?.kind === 'abort' && patched('abort-while-rolling-back')) return interrupted(at);
    resetAfterRollback(run.status.steps, at);
    run.approved.clear();
    run.forced.clear();
    run.interrupt = undefined;
    run.retryRequested = false;
    run.setState('rolled-back', `rolled back by ${it.actor}: ${it.reason}`);
    await mirror();
    return waitForOperator();
  };

  /** Blocked or rolled back: a retry goes on, an abort ends it, a rollback answers first. */
  const waitForOperator = async (): Promise<boolean> => {
    await condition(() => run.retryRequested || run.interrupt !== undefined);
    if (run.interrupt) return interrupted(null);
    run.retryRequested = false;
    run.setState(run.paused ? 'paused' : 'running');
    return false;
  };

  await mirror();
  for (;;) {
    const rec = nextStep(run.status.steps);
    if (!rec) break;
    await condition(() => !run.paused || run.interrupt !== undefined);
    if (run.interrupt) {
      if (await interrupted(null)) break;
      continue;
    }
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof cutover>({ ...input, carry: run.carry() });
    run.begin(rec);
    await mirror();
    scope = new CancellationScope();
    // a rollback or abort that came while the start was mirrored stops the step before it starts anything
    if (run.interrupt && patched('interrupt-while-step-begins')) scope.cancel();
    const ctx: StepContext = { run, rec, approval, rerateAnswers };
    const outcome = await scope
      .run(() => STEP_RUNNERS[rec.step](ctx))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    scope = undefined;
    if (outcome === undefined) {
      run.finish(rec, 'done');
      await mirror();
      continue;
    }
    if (outcome instanceof RegressionFound) {
      run.interrupt = {
        kind: 'rollback',
        actor: 'cutover (rollback window)',
        reason: `automatic rollback: ${outcome.message}`,
        automatic: true,
      };
      run.record({ actor: 'cutover', action: 'auto-rollback', step: rec.step, reason: outcome.message });
    }
    if (run.interrupt) {
      run.finish(rec, 'stopped', `${run.interrupt.kind} by ${run.interrupt.actor}`);
      if (await interrupted(rec.step)) break;
      continue;
    }
    const message = whyFailed(outcome);
    run.finish(rec, 'failed', message);
    run.retryRequested = false;
    run.setState('blocked', `${rec.step}: ${message}`);
    await mirror();
    if (await waitForOperator()) break;
    rec.status = 'pending';
  }
  if (run.status.state !== 'aborted') run.setState('done');
  run.status.endedAt = new Date().toISOString();
  run.status.step = null;
  await mirror();
  return run.status;
}

function stepOf(run: CutoverRun): { step?: Step } {
  return run.status.step ? { step: run.status.step } : {};
}

/** Pause and resume reach the running phase where it can take them; elsewhere the next step waits. */
async function toChild(run: CutoverRun, what: 'pause' | 'resume'): Promise<void> {
  const rec: StepRecord | undefined = run.status.step ? run.stepRecord(run.status.step) : undefined;
  if (!rec || rec.status !== 'running' || !PAUSABLE.has(rec.step) || !rec.childWorkflowId) return;
  await getExternalWorkflowHandle(rec.childWorkflowId)
    .signal(what === 'pause' ? pauseSignal : resumeSignal)
    .catch(() => undefined);
}

/** Why a step failed, as the operator reads it. */
function whyFailed(e: unknown): string {
  if (e instanceof StepBlocked) return e.message;
  if (isCancellation(e)) return 'cancelled';
  return rootMessage(e);
}
