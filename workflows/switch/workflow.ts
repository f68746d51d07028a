import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/common';
import type { Activities } from '../../activities';
import { Failure } from '../../domain/failures';
import type { SwitchResult } from '../../domain/read-source';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import {
  forcedNote,
  gateClosedMessage,
  rollbackReason,
  SwitchReadsInput,
  switchInputProblems,
  type ReadsVerification,
  type SwitchCapture,
  type SwitchGate,
  type SwitchReadsFailureDetails,
  type SwitchReadsOptions,
  type SwitchReadsResult,
} from '../../domain/switch';
import { markFailure, rootMessage } from '../support/failure';
import { evidenceActivity, RETRY_BRIEFLY, RETRY_UNTIL_UP } from '../support/policies';
import { switchStatus, type SwitchStatus } from './messages';

/** Reads (the gate's watermark, the members' responses): a hiccup is retried a few times, then the step reports it. */
const reads = proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds', retry: RETRY_BRIEFLY });
/** The flip and the rollback: a database outage is waited out — a rollback must land. */
const flips = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: RETRY_UNTIL_UP } satisfies ActivityOptions);
const evidence = proxyActivities<Activities>(evidenceActivity);

/**
 * Phase C: gate → capture legacy reads → flip to unified → verify unified reads → evidence. The parity gate must hold
 * unless forced (on record); reads of 3–5 known members are captured from legacy and compared with what unified
 * serves right after the flip (through the API when API_URL is set); a failed verification rolls back to legacy at
 * once and fails the workflow (SwitchVerificationFailed, never retried) so a parent cutover blocks on it. Every run,
 * refused and failed ones included, is stored as evidence of kind 'switch'.
 */
export async function switchReads(input: SwitchReadsInput): Promise<SwitchReadsResult> {
  return markFailure(() => runSwitch(input));
}

async function runSwitch(raw: SwitchReadsInput): Promise<SwitchReadsResult> {
  const status: SwitchStatus = { state: 'starting', forced: false, userIds: [], problems: [] };
  setHandler(switchStatus, () => status);
  upsertSearchAttributes([
    { key: CutoverPhase, value: 'switch' },
    { key: CutoverState, value: 'running' },
  ]);
  const parsed = SwitchReadsInput.safeParse(raw);
  if (!parsed.success) {
    status.state = 'failed';
    status.problems = switchInputProblems(parsed.error);
    throw ApplicationFailure.nonRetryable(`invalid switch input: ${status.problems.join('; ')}`, Failure.InvalidInput);
  }
  const options: SwitchReadsOptions = parsed.data;
  const { workflowId, runId } = workflowInfo();
  const recorded = { actor: options.actor, reason: options.reason, force: options.force, members: options.members };

  // (1) the gate
  status.state = 'gate';
  const { watermark, ...gate } = await reads.switchGate();
  status.gate = gate;
  const forced = !gate.passed;
  status.forced = forced;
  const store = (passed: boolean, result: Record<string, unknown>) =>
    evidence.storeEvidence({ kind: 'switch', workflowId, runId, passed, input: recorded, result, dataWatermark: watermark });
  if (!gate.passed && !options.force) {
    status.state = 'refused';
    const message = gateClosedMessage(gate.reason);
    status.problems = [message];
    const evidenceId = await store(false, {
      stage: 'gate',
      gate,
      forced: false,
      refused: message,
      verification: [],
      via: null,
      rolledBack: null,
    });
    throw failure(message, Failure.GateClosed, { stage: 'gate', evidenceId, gate, forced: false });
  }

  // (2) legacy reads of the known members, before anything changes
  status.state = 'capturing';
  const capture = await reads.switchCapture({ members: options.members });
  status.userIds = capture.members.map((m) => m.userId);
  if (capture.problems.length > 0) {
    status.state = 'failed';
    status.problems = capture.problems;
    const evidenceId = await store(false, {
      stage: 'capture',
      gate,
      forced,
      via: capture.via,
      detail: capture.detail,
      problems: capture.problems,
      verification: [],
      rolledBack: null,
    });
    throw failure(
      `legacy reads could not be captured, nothing was switched: ${capture.problems.slice(0, 3).join('; ')}`,
      Failure.SwitchVerificationFailed,
      {
        stage: 'capture',
        evidenceId,
        gate,
        forced,
      },
    );
  }

  // (3) the flip and (4) the verification; a cancelled switch goes back to legacy too: unverified reads stay off
  const rollBack = (reason: string) =>
    flips.switchFlip({ key: `switch/${workflowId}/${runId}/rollback`, to: 'legacy', actor: options.actor, reason });
  let switched: SwitchResult;
  let verification: ReadsVerification;
  try {
    status.state = 'switching';
    switched = await flips.switchFlip({
      key: `switch/${workflowId}/${runId}/unified`,
      to: 'unified',
      actor: options.actor,
      reason: options.reason,
      ...(forced ? { note: forcedNote(gate.reason) } : {}),
    });
    status.state = 'verifying';
    verification = await verify(capture);
  } catch (e) {
    // the flip may have landed even when its activity was cancelled: rolling back an unflipped switch is a no-op
    if (isCancellation(e))
      await CancellationScope.nonCancellable(() => rollBack('automatic rollback: the switch was cancelled before its reads were verified'));
    throw e;
  }

  if (!verification.ok) {
    // (5) back to legacy at once, then on record, then fail so a parent blocks
    status.state = 'rolling-back';
    status.problems = verification.problems;
    const rolledBack = await rollBack(rollbackReason(verification.problems));
    const evidenceId = await store(false, resultRecord('verify', gate, forced, switched, verification, rolledBack));
    status.state = 'failed';
    throw failure(
      `unified reads failed verification; reads rolled back to legacy (audit #${rolledBack.auditId}): ${verification.problems.slice(0, 3).join('; ')}`,
      Failure.SwitchVerificationFailed,
      { stage: 'verify', evidenceId, gate, forced, switched, verification, rolledBack },
    );
  }

  // (6) evidence
  status.state = 'storing';
  const evidenceId = await store(true, resultRecord('done', gate, forced, switched, verification, undefined));
  status.state = 'done';
  upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
  return { evidenceId, switched, verification, gate, forced };
}

/** The verify step; a step that could not run at all is a failed verification (the flip is then undone). */
async function verify(capture: SwitchCapture): Promise<ReadsVerification> {
  try {
    return await reads.switchVerify({ capture });
  } catch (e) {
    if (isCancellation(e)) throw e;
    const problem = `the verification could not run: ${rootMessage(e)}`;
    return { ok: false, via: capture.via, detail: capture.detail, waitedMs: 0, members: [], problems: [problem] };
  }
}

function resultRecord(
  stage: 'verify' | 'done',
  gate: SwitchGate,
  forced: boolean,
  switched: SwitchResult,
  verification: ReadsVerification,
  rolledBack: SwitchResult | undefined,
): Record<string, unknown> {
  return {
    stage,
    gate,
    forced,
    via: verification.via,
    detail: verification.detail,
    waitedMs: verification.waitedMs,
    verification: verification.members,
    problems: verification.problems,
    switched,
    rolledBack: rolledBack ?? null,
  };
}

function failure(message: string, type: string, details: SwitchReadsFailureDetails): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true, details: [details] });
}
