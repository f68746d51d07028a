import { patched, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import {
  PARITY_CATEGORIES,
  ParityOptions,
  type ParityInput,
  runWatermark,
  summarizeParity,
  type CategoryResult,
  type RecheckScope,
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
/** each category's activity named in the Web UI (a summary is metadata: replays are unaffected) */
const categoryActs = Object.fromEntries(
  PARITY_CATEGORIES.map((c) => [c, proxyActivities<Activities>({ ...parityActivity, summary: `parity: ${c}` })]),
) as Record<ParityCategory, ReturnType<typeof proxyActivities<Activities>>>;

/** The run's outcome in a line: the Web UI's current details. */
function outcomeLine(report: ParityReport, evidenceId: number): string {
  const differ = PARITY_CATEGORIES.filter((c) => report.categories[c].count > 0);
  if (differ.length === 0) return `parity: clean in all ${PARITY_CATEGORIES.length} categories · evidence #${evidenceId}`;
  const counts = differ.map((c) => `${c} ${report.categories[c].count}`).join(', ');
  return `parity: ${differ.length} ${differ.length === 1 ? 'category differs' : 'categories differ'} (${counts}) · evidence #${evidenceId}`;
}

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
  /** the snapshot the run started from (findings of members changed since are deferred); absent without change capture */
  snapshot?: string;
  snapshotAt?: string;
  /** why change capture was unavailable */
  captureOff?: string;
  /** mode 'changed': the base, how many members changed since, and whether it compared every member instead */
  recheck?: RecheckScope;
  /** the gate after this run's evidence */
  gate: ParityGate;
  seconds: number;
}

/**
 * Phase B. prepare (members in scope, change capture on, data watermark, the snapshot the run starts from) → every
 * category in parallel (findings of members changed since the snapshot deferred, not counted) → watermark again (a
 * change during the run voids the evidence for the current-data rule) → evidence → the gate. Mode 'changed'
 * re-checks every member changed since a base run's snapshot. The run reports differences; it fails only when it
 * cannot run. (The command sequence is the same for every mode and as before change capture: what changed travels
 * in activity inputs and results, so recorded histories replay without a patch.)
 */
export async function parity(input: ParityInput): Promise<ParityResult> {
  return markFailure(() => runParity(input));
}

async function runParity(input: ParityInput): Promise<ParityResult> {
  const parsed = ParityOptions.parse(input);
  // a seed is always recorded so the sample can be repeated (Math.random is deterministic in workflows)
  const options: ParityOptions =
    parsed.mode === 'user' || parsed.mode === 'changed' || parsed.seed
      ? parsed
      : { ...parsed, seed: Math.random().toString(36).slice(2, 10) };
  const started = Date.now();
  const status: ParityStatus = { state: 'preparing', counts: {} };
  setHandler(parityStatus, () => status);
  upsertSearchAttributes([
    { key: CutoverPhase, value: 'parity' },
    { key: CutoverState, value: 'running' },
  ]);

  const plan = await acts.parityPrepare(options);
  status.state = 'checking';
  setCurrentDetails(
    `parity ${options.mode}: checking ${plan.membersInScope.toLocaleString('en-US')} members in ${PARITY_CATEGORIES.length} categories`,
  );
  const results = await Promise.all(
    PARITY_CATEGORIES.map(async (category): Promise<[ParityCategory, CategoryResult]> => {
      const r = await categoryActs[category].parityCategory({
        category,
        scope: plan.scope,
        shapeUserIds: plan.shapeUserIds,
        examples: options.examples,
        ...(plan.start ? { snapshot: plan.start.snapshot } : {}),
      });
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
    // the start point (the gate's live-traffic rule reads it) and, for a re-check, its base
    ...(plan.start ?? {}),
    ...(plan.captureOff ? { captureOff: plan.captureOff } : {}),
    ...(plan.recheck ?? {}),
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
  // a run that found differences is not a success in the Web UI's list (CutoverState 'differences')
  upsertSearchAttributes([
    { key: CutoverState, value: !report.passed && patched('parity-state-differences') ? 'differences' : status.state },
  ]);
  setCurrentDetails(outcomeLine(report, evidenceId));
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
    ...(plan.start ? { snapshot: plan.start.snapshot, snapshotAt: plan.start.snapshotAt } : {}),
    ...(plan.captureOff ? { captureOff: plan.captureOff } : {}),
    ...(plan.recheck ? { recheck: plan.recheck } : {}),
    gate,
    seconds: (Date.now() - started) / 1000,
  };
}
