import { ApplicationFailure, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { Failure } from '../../domain/failures';
import { ReportsOptions, type ReportsEvidence, type ReportsInput } from '../../domain/reports';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { markFailure, rootMessage } from '../support/failure';
import { evidenceActivity, parityActivity } from '../support/policies';
import { reportsStatus, type ReportsStatus } from './messages';

// reads only, like parity's categories: a hiccup is retried, then the run fails on record
const acts = proxyActivities<Activities>(parityActivity);
const evidence = proxyActivities<Activities>(evidenceActivity);

export interface ReportsResult extends ReportsEvidence {
  workflowId: string;
  runId: string;
  evidenceId: number;
  seconds: number;
}

/**
 * Phase F. The runbook's report queries over unified and legacy for a seeded sample of rated members → compared
 * (non-null ratings; equal where legacy is preserved), the name-filter trap checked → evidence 'reports'. Reports
 * that do not hold are a result (passed: false), not a failure: the run fails only when it cannot run.
 */
export async function reports(input: ReportsInput = {}): Promise<ReportsResult> {
  return markFailure(() => runReports(input));
}

async function runReports(input: ReportsInput): Promise<ReportsResult> {
  const status: ReportsStatus = { state: 'starting' };
  setHandler(reportsStatus, () => status);
  upsertSearchAttributes([
    { key: CutoverPhase, value: 'reports' },
    { key: CutoverState, value: 'running' },
  ]);
  const parsed = ReportsOptions.safeParse(input ?? {});
  if (!parsed.success) throw ApplicationFailure.nonRetryable(parsed.error.issues.map((i) => i.message).join('\n'), Failure.InvalidInput);
  // a seed is always recorded so the sample can be repeated (Math.random is deterministic in workflows)
  const options = { samples: parsed.data.samples, seed: parsed.data.seed ?? Math.random().toString(36).slice(2, 10) };
  const { workflowId, runId } = workflowInfo();
  const started = Date.now();

  status.state = 'running';
  let report: ReportsEvidence;
  try {
    report = await acts.reportsRun(options);
  } catch (e) {
    status.state = 'failed';
    await evidence.storeEvidence({ kind: 'reports', workflowId, runId, passed: false, input: options, result: { error: rootMessage(e) } });
    throw e;
  }
  status.state = 'storing';
  const evidenceId = await evidence.storeEvidence({
    kind: 'reports',
    workflowId,
    runId,
    passed: report.passed,
    input: options,
    result: report,
  });
  status.state = report.passed ? 'passed' : 'failed';
  upsertSearchAttributes([{ key: CutoverState, value: status.state }]);
  return { ...report, workflowId, runId, evidenceId, seconds: (Date.now() - started) / 1000 };
}
