import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  sleep,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { stepWorkflowId, type Approval, type GateView, type Step, type StepRecord } from '../../domain/cutover';
import { Failure } from '../../domain/failures';
import { LIVE_LAG_GRACE_SECONDS } from '../../domain/parity';
import { SEQUENCER, type StreamRerateDone } from '../../domain/refresh';
import { backfill } from '../backfill/workflow';
import { dedupe } from '../dedupe/workflow';
import { parity } from '../parity/workflow';
import { preflight } from '../preflight/workflow';
import { rerateWorkflowId } from '../rerate/messages';
import { rerateWithdrawn } from '../refresh/messages';
import { reports } from '../reports/workflow';
import { switchReads } from '../switch/workflow';
import { evidenceActivity, RETRY_BRIEFLY, RETRY_UNTIL_UP } from '../support/policies';
import type { CutoverRun } from './state';

/** Small reads and writes of the cutover itself (gates, the read source): an outage waits; a dead worker is noticed in 15 s. */
export const cutoverActs = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry: RETRY_UNTIL_UP,
});
/** The mirror is a convenience (the workflow is the truth): a broken one is retried briefly, then the run goes on. */
export const mirrorActs = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: RETRY_BRIEFLY });
const evidence = proxyActivities<Activities>(evidenceActivity);

/** A step that cannot pass: the cutover blocks on it with this message until an operator acts. */
export class StepBlocked extends Error {
  override name = 'StepBlocked';
}

export interface StepContext {
  run: CutoverRun;
  rec: StepRecord;
  /** waits for `approve <gate>` (or auto-approves once the evidence holds), re-evaluating it meanwhile */
  approval(gate: Approval, evaluate: () => Promise<GateView>): Promise<void>;
  /** signals that the sequencer's stream rerates answered with */
  rerateAnswers: Map<string, StreamRerateDone>;
}

const child = (c: StepContext, part?: string) => {
  const workflowId = stepWorkflowId(c.run.plan.name, c.rec.step, c.rec.attempts, part);
  c.rec.childWorkflowId = workflowId;
  return workflowId;
};

const evidenceOf = (c: StepContext, ...ids: Array<number | undefined>) => {
  for (const id of ids) if (id !== undefined && !c.rec.evidenceIds.includes(id)) c.rec.evidenceIds.push(id);
};

/**
 * The parity gate as of now. The platform is live: runs on "the current data" stop counting as soon as a challenge
 * ends, so when the gate has a clean base it asks for a re-check of the members changed since (parity mode
 * `changed`) and is evaluated again. A re-check that finds differences is on record and the gate says why.
 */
async function freshParityGate(c: StepContext): Promise<GateView> {
  const gate = await cutoverActs.cutoverParityGate();
  if (gate.holds || gate.recheckSince === undefined) return gate;
  const r = await executeChild(parity, {
    workflowId: stepWorkflowId(c.run.plan.name, c.rec.step, c.rec.attempts, `recheck-${uuid4().slice(0, 8)}`),
    args: [{ mode: 'changed', since: gate.recheckSince, lagGraceSeconds: LIVE_LAG_GRACE_SECONDS }],
  });
  evidenceOf(c, r.evidenceId);
  return cutoverActs.cutoverParityGate();
}

const SWITCH_GATE_TRIES = 3;

/** The read source's audit names who approved the switch and why (the operator's words, not only the cutover's). */
function switchReason(c: StepContext): string {
  const approval = [...c.run.status.actions].reverse().find((a) => a.action === 'approve' && a.step === 'switch');
  const who = approval
    ? ` approved by ${approval.actor}${approval.forced ? ' (forced)' : ''}${approval.reason ? `: ${approval.reason}` : ''}`
    : '';
  return `cutover ${c.run.plan.name}: phase C (parity gate${who})`.slice(0, 2000);
}
const gateClosed = (e: unknown) =>
  e instanceof ChildWorkflowFailure && e.cause instanceof ApplicationFailure && e.cause.type === Failure.GateClosed;

/**
 * The switch's own child evaluates the gate again. Under live traffic a challenge may end between the approval and
 * that check: its gate then finds the approved runs no longer on the current data. The members changed since are
 * re-checked and the switch tried again (a few times); a gate that does not hold after the re-check blocks.
 */
async function switchAfterApproval(c: StepContext) {
  for (let i = 0; ; i++) {
    try {
      return await executeChild(switchReads, {
        workflowId: child(c, i === 0 ? undefined : `gate-race${i}`),
        args: [
          {
            actor: `cutover ${c.run.plan.name}`,
            reason: switchReason(c),
            force: c.run.forced.has('switch'),
          },
        ],
      });
    } catch (e) {
      if (i + 1 >= SWITCH_GATE_TRIES || !gateClosed(e) || !patched('switch-recheck-on-gate-race')) throw e;
      if (!(await freshParityGate(c)).holds) throw e;
    }
  }
}

/** The runbook, one function per step: each runs the phase's own workflow as a child and says what it did. */
export const STEP_RUNNERS: Record<Step, (c: StepContext) => Promise<void>> = {
  async preflight(c) {
    const r = await executeChild(preflight, { workflowId: child(c) });
    evidenceOf(c, r.evidenceId);
    if (!r.passed)
      throw new StepBlocked(
        `preflight failed: ${r.checks
          .filter((x) => !x.passed)
          .map((x) => `${x.name} (${x.detail})`)
          .join('; ')}`,
      );
    c.rec.summary = `${r.checks.length} checks passed`;
  },

  async backfill(c) {
    const { plan } = c.run;
    const capture = await cutoverActs.cutoverEnableCapture();
    const r = await executeChild(backfill, {
      workflowId: child(c),
      // batchSize only when the plan sets it: the child's input stays what runs recorded before it existed
      args: [
        {
          options: {
            concurrency: plan.concurrency,
            skipRerate: plan.skipRerateInBackfill,
            ...(plan.batchSize === undefined ? {} : { batchSize: plan.batchSize }),
          },
        },
      ],
    });
    evidenceOf(c, r.evidenceId);
    c.rec.summary = `${r.totals.members} members, ${r.totals.statsRows} stats and ${r.totals.historyRows} history rows written in ${r.seconds.toFixed(0)} s; ${capture}`;
  },

  async parity(c) {
    const { plan } = c.run;
    const runs = plan.parity.full
      ? [{ mode: 'full' as const, seed: `${plan.name}-${c.rec.attempts}`, lagGraceSeconds: LIVE_LAG_GRACE_SECONDS }]
      : ['a', 'b'].map((s) => ({
          mode: 'sample' as const,
          samples: plan.parity.samples,
          seed: `${plan.name}-${c.rec.attempts}${s}`,
          lagGraceSeconds: LIVE_LAG_GRACE_SECONDS,
        }));
    const found: string[] = [];
    for (const [i, options] of runs.entries()) {
      const r = await executeChild(parity, { workflowId: child(c, `run${i + 1}`), args: [options] });
      evidenceOf(c, r.evidenceId);
      if (!r.passed) {
        // what an operator needs to start looking: the categories, and one example each
        const cats = Object.entries(r.categories)
          .filter(([, x]) => x.count > 0)
          .map(([name, x]) => {
            const e = x.examples[0];
            return `${name} ${x.count}${e ? ` (e.g. member ${e.userId} ${e.type ?? e.track ?? ''} ${e.field}: legacy ${JSON.stringify(e.legacy)}, unified ${JSON.stringify(e.unified)})` : ''}`;
          });
        found.push(`run #${r.evidenceId}: ${cats.join('; ')}`);
      }
    }
    const gate = await freshParityGate(c);
    if (!gate.holds) throw new StepBlocked(`the parity gate does not hold: ${gate.reason}${found.length ? ` (${found.join('; ')})` : ''}`);
    c.rec.summary = gate.reason;
  },

  async switch(c) {
    await c.approval('switch', () => freshParityGate(c));
    const r = await switchAfterApproval(c);
    evidenceOf(c, r.evidenceId);
    c.run.status.readSource = r.rolledBack ? 'legacy' : 'unified';
    if (r.rolledBack) throw new StepBlocked(`unified reads failed verification; rolled back to legacy: ${r.rolledBack.reason}`);
    c.rec.summary = `reads unified, verified for ${r.verification.members.length} members`;
  },

  async rerate(c) {
    const { plan } = c.run;
    const done: string[] = [];
    for (const stream of plan.rerate.streams) {
      // through the stream's sequencer: a challenge ending meanwhile is rated after it, never interleaved
      const requestId = uuid4();
      await cutoverActs.requestStreamRerate({
        stream,
        request: {
          requestId,
          replyTo: workflowInfo().workflowId,
          concurrency: plan.concurrency,
          ...(plan.rerate.from ? { from: plan.rerate.from } : {}),
        },
      });
      // pause and resume reach the sequencer's child under the id an operator's rerate has
      c.rec.childWorkflowId = rerateWorkflowId(stream, workflowInfo().taskQueue);
      await condition(() => c.rerateAnswers.has(requestId)).catch(async (e: unknown) => {
        // rolled back or aborted meanwhile: the sequencer drops the request, or cancels the rerate it runs for us
        if (isCancellation(e) && patched('withdraw-rerate-when-stopped'))
          await CancellationScope.nonCancellable(() =>
            getExternalWorkflowHandle(SEQUENCER.workflowId(workflowInfo().taskQueue, stream))
              .signal(rerateWithdrawn, { requestId })
              .catch(() => undefined),
          );
        throw e;
      });
      const answer = c.rerateAnswers.get(requestId)!;
      c.rec.childWorkflowId = answer.workflowId;
      if (answer.error) throw new StepBlocked(`the ${stream} rerate failed: ${answer.error}`);
      evidenceOf(c, answer.evidenceId);
      done.push(`${stream} (${answer.rows ?? 0} rows)`);
    }
    c.rec.summary = `rerated ${done.join(', ')}`;
  },

  async dedupe(c) {
    const dry = await executeChild(dedupe, { workflowId: child(c, 'dry-run'), args: [{ options: { apply: false } }] });
    evidenceOf(c, dry.evidenceId);
    const found = 'report' in dry ? dry.report.rows : 0;
    await c.approval('dedupe', async () => ({
      gate: 'dedupe',
      holds: true,
      reason: `dry run #${dry.evidenceId}: ${found} duplicate row(s) to remove`,
      evidenceIds: [dry.evidenceId],
    }));
    const applied = await executeChild(dedupe, { workflowId: child(c, 'apply'), args: [{ options: { apply: true } }] });
    evidenceOf(c, applied.evidenceId);
    c.rec.summary = `${'report' in applied ? applied.report.rows : 0} duplicate row(s) removed (undo: dedupe --undo ${applied.runId})`;
  },

  async refresh(c) {
    const { plan, status } = c.run;
    const deadline = Date.now() + plan.refreshWaitSeconds * 1000;
    for (;;) {
      const gate = await cutoverActs.cutoverGate({ gate: 'refresh-m2m', since: status.startedAt });
      if (gate.holds) {
        evidenceOf(c, ...gate.evidenceIds);
        c.rec.summary = gate.reason;
        return;
      }
      if (Date.now() >= deadline)
        throw new StepBlocked(
          `no refresh through an M2M token since the cutover started (${plan.refreshWaitSeconds} s): autopilot must call POST /members/stats/challenges/:id/ended with a refresh:member_stats token — ${gate.reason}`,
        );
      await sleep(Math.min(plan.checkEverySeconds * 1000, deadline - Date.now()));
    }
  },

  async reports(c) {
    const r = await executeChild(reports, { workflowId: child(c), args: [{ seed: c.run.plan.name }] });
    evidenceOf(c, r.evidenceId);
    if (!r.passed) throw new StepBlocked(`the reports do not hold: ${r.problems.slice(0, 3).join('; ')}`);
    c.rec.summary = r.summary;
  },

  async 'go-no-go'(c) {
    await c.approval('go-no-go', async () => {
      await freshParityGate(c);
      const gates = await cutoverActs.cutoverGates({ since: c.run.status.startedAt });
      c.run.setGates(gates);
      const failing = gates.filter((g) => !g.holds);
      return {
        gate: 'go-no-go',
        holds: failing.length === 0,
        reason:
          failing.length === 0
            ? `all ${gates.length} gates hold`
            : `not holding: ${failing.map((g) => `${g.gate} (${g.reason})`).join('; ')}`,
        evidenceIds: gates.flatMap((g) => g.evidenceIds),
      };
    });
    c.rec.summary = `go: ${c.run.status.gates.length} gates hold`;
  },

  async 'rollback-window'(c) {
    const { plan } = c.run;
    const start = Date.parse(c.rec.startedAt!);
    const end = start + plan.rollbackWindowSeconds * 1000;
    // bounded history: at most ~500 checks however long the window
    const every = Math.max(plan.checkEverySeconds * 1000, (plan.rollbackWindowSeconds * 1000) / 500);
    let checks = 0;
    let failing = 0;
    while (Date.now() < end) {
      const check = await cutoverActs.cutoverWindowCheck();
      checks++;
      if (!check.ok) throw new RegressionFound(check.problems.join('; '));
      // unified data drifting from legacy's under live traffic (a re-check found differences, or they stand on data
      // that has not moved since); twice in a row, so a refresh in flight is not one
      const gate = await freshParityGate(c);
      failing = gate.holds ? 0 : failing + 1;
      if (failing >= 2) throw new RegressionFound(`the parity gate failed twice in a row: ${gate.reason}`);
      await sleep(Math.min(every, end - Date.now()));
    }
    c.rec.summary = `${plan.rollbackWindowSeconds} s on unified reads, ${checks} checks clean`;
  },

  async 'flag-removal'(c) {
    const windowRec = c.run.stepRecord('rollback-window');
    const window = { from: windowRec.startedAt ?? c.run.status.startedAt, to: windowRec.endedAt ?? new Date().toISOString() };
    await c.approval('flag-removal', async () => {
      await freshParityGate(c);
      const gates = await cutoverActs.cutoverGates({ since: c.run.status.startedAt });
      const unused = await cutoverActs.cutoverLegacyUnused(window);
      c.run.setGates([...gates, unused]);
      const failing = [...gates, unused].filter((g) => !g.holds);
      return {
        gate: 'flag-removal',
        holds: failing.length === 0,
        reason:
          failing.length === 0
            ? 'every gate holds and the legacy read path was unused for the whole rollback window'
            : `not holding: ${failing.map((g) => `${g.gate} (${g.reason})`).join('; ')}`,
        evidenceIds: [...gates, unused].flatMap((g) => g.evidenceIds),
      };
    });
    const { workflowId, runId } = workflowInfo();
    const id = await evidence.storeEvidence({
      kind: 'flag-removal',
      workflowId,
      runId,
      passed: true,
      input: { name: c.run.plan.name, window, forced: c.run.forced.has('flag-removal') },
      result: { gates: c.run.status.gates },
    });
    evidenceOf(c, id);
    c.rec.summary = `legacy read path may be removed (evidence #${id})`;
  },
};

/** The rollback window saw unified data regress: reads go back to legacy and the cutover blocks. */
export class RegressionFound extends Error {
  override name = 'RegressionFound';
}
