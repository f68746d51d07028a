/** One pre-flight check's outcome, as reported to the operator and stored as evidence. */
export interface CheckResult {
  name: string;
  passed: boolean;
  detail: string;
  /** a check that does not apply here (e.g. API health without API_URL); counts as passed */
  skipped?: boolean;
}

export interface PreflightReport {
  passed: boolean;
  checks: CheckResult[];
  evidenceId?: number;
}

export function summarize(checks: CheckResult[]): PreflightReport {
  return { passed: checks.every((c) => c.passed), checks };
}

/** Columns of reviews."challengeResult" the backfill, rerate and refresh read. */
export const CHALLENGE_RESULT_COLUMNS = ['challengeId', 'userId', 'placement', 'finalScore', 'rated', 'passedReview', 'validSubmission', 'oldRating', 'newRating'] as const;
