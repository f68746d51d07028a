import { ApplicationFailure, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { PreflightInput, summarize, type CheckResult, type PreflightReport } from '../../domain/preflight';
import { Failure } from '../../domain/failures';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { checkActivity, evidenceActivity } from '../support/policies';
import { preflightStatus } from './messages';

const checks = proxyActivities<Activities>(checkActivity);
const evidence = proxyActivities<Activities>(evidenceActivity);

/** A check activity that failed for good becomes a failed check carrying the error's message. */
async function asCheck(name: string, run: () => Promise<CheckResult | CheckResult[]>): Promise<CheckResult[]> {
  try {
    const r = await run();
    return Array.isArray(r) ? r : [r];
  } catch (e) {
    const cause = e instanceof Error && 'cause' in e && e.cause instanceof ApplicationFailure ? e.cause : e;
    return [{ name, passed: false, detail: cause instanceof Error ? cause.message : String(cause) }];
  }
}

/** Phase "Preflight": every check runs, each is reported pass/fail with detail, and the report is stored as evidence. */
export async function preflight(raw?: PreflightInput): Promise<PreflightReport> {
  const parsed = PreflightInput.safeParse(raw);
  // bad input fails the run at once, naming the field (a thrown ZodError would retry the workflow task forever)
  if (!parsed.success) throw ApplicationFailure.nonRetryable(parsed.error.issues.map((i) => i.message).join('; '), Failure.InvalidInput);
  const input = parsed.data;
  let state: 'running' | 'passed' | 'failed' = 'running';
  const results: CheckResult[] = [];
  setHandler(preflightStatus, () => ({ state, checks: results }));
  upsertSearchAttributes([
    { key: CutoverPhase, value: 'preflight' },
    { key: CutoverState, value: 'running' },
  ]);

  const all = await Promise.all([
    asCheck('database', () => checks.preflightDatabases()),
    asCheck('review:challengeResult', () => checks.preflightReviewSchema()),
    asCheck('challenges:legacy-types', () => checks.preflightLegacyTypes()),
    asCheck('read-source', () => checks.preflightReadSource()),
    asCheck('api:health', () => checks.preflightApiHealth(input)),
  ]);
  results.push(...all.flat());
  const report = summarize(results);
  state = report.passed ? 'passed' : 'failed';

  const { workflowId, runId } = workflowInfo();
  const evidenceId = await evidence.storeEvidence({
    kind: 'preflight',
    workflowId,
    runId,
    passed: report.passed,
    input,
    result: report,
  });
  upsertSearchAttributes([{ key: CutoverState, value: state }]);
  return { ...report, evidenceId };
}
