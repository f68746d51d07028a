import { proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import {
  PARITY_CATEGORIES,
  ParityOptions,
  type ParityInput,
  runWatermark,
  summarizeParity,
  type CategoryResult,
  type ParityCategory,
  type ParityGate,
  type ParityReport,
} from '../../domain/parity';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { markFailure } from '../support/failure';
import { parityActivity } from '../support/policies';
import { parityStatus, type ParityStatus } from './messages';

// A database hiccup is retried; bad input (an unknown member) fails the run at once.
const acts = proxyActivities<Activities>(parityActivity);

export interface ParityResult extends ParityReport {
  evidenceId: number;
  workflowId: string;
  mode: ParityOptions['mode'];
  seed?: string;
  samples?: number;
  userId?: number;
  membersInScope: number;
  membersTotal: number;
  sampleHash: string;
  dataWatermark: string;
  /** the gate after this run's evidence */
  gate: ParityGate;
  seconds: number;
}

/**
 * Phase B. prepare (members in scope, data watermark) → every category in parallel → watermark again (a change
 * during the run voids the evidence) → evidence → the gate. The run reports differences; it fails only when it
 * cannot run.
 */
export async function parity(input: ParityInput): Promise<ParityResult> {
  return markFailure(() => runParity(input));
}

async function runParity(input: ParityInput): Promise<ParityResult> {
  const parsed = ParityOptions.parse(input);
  // a seed is always recorded so the sample can be repeated (Math.random is deterministic in workflows)
  const options: ParityOptions =
    parsed.mode === 'user' || parsed.seed ? parsed : { ...parsed, seed: Math.random().toString(36).slice(2, 10) };
  const started = Date.now();
  const status: ParityStatus = { state: 'preparing', counts: {} };
  setHandler(parityStatus, () => status);
  upsertSearchAttributes([
    { key: CutoverPhase, value: 'parity' },
    { key: CutoverState, value: 'running' },
  ]);

  const plan = await acts.parityPrepare(options);
  status.state = 'checking';
  const results = await Promise.all(
    PARITY_CATEGORIES.map(async (category): Promise<[ParityCategory, CategoryResult]> => {
      const r = await acts.parityCategory({ category, scope: plan.scope, shapeUserIds: plan.shapeUserIds, examples: options.examples });
      status.counts[category] = r.count;
      return [category, r];
    }),
  );
  const end = await acts.parityWatermark();
  const report = summarizeParity(results);
  const dataWatermark = runWatermark(plan.watermark.value, end.value);

  status.state = 'storing';
  const { workflowId, runId } = workflowInfo();
  const evidenceInput = {
    mode: options.mode,
    seed: plan.seed,
    samples: options.samples,
    userId: options.userId,
    sampleHash: plan.sampleHash,
    membersInScope: plan.membersInScope,
    membersTotal: plan.membersTotal,
    coversAllMembers: plan.coversAllMembers,
    examples: options.examples,
    shapeSamples: plan.shapeUserIds.length,
    watermark: { start: plan.watermark, end: end.value },
  };
  const evidenceId = await acts.storeEvidence({
    kind: 'parity',
    workflowId,
    runId,
    passed: report.passed,
    input: evidenceInput,
    result: report,
    dataWatermark,
  });
  const gate = await acts.parityGate({ watermark: end.value });

  status.state = report.passed ? 'passed' : 'failed';
  upsertSearchAttributes([{ key: CutoverState, value: status.state }]);
  return {
    ...report,
    evidenceId,
    workflowId,
    mode: options.mode,
    seed: plan.seed,
    samples: options.samples,
    userId: options.userId,
    membersInScope: plan.membersInScope,
    membersTotal: plan.membersTotal,
    sampleHash: plan.sampleHash,
    dataWatermark,
    gate,
    seconds: (Date.now() - started) / 1000,
  };
}
