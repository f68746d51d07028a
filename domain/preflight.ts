import { z } from 'zod';
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

/** Why nothing can run without the review database's results: one message for preflight and every phase. */
export const REVIEW_SCHEMA_MISSING =
  'The review database has no reviews."challengeResult" table (REVIEW_DB_URL). Deploy the review migrations to that database, or fix REVIEW_DB_URL to point at the review database.';

/** Columns of reviews."challengeResult" the backfill, rerate and refresh read. */
export const CHALLENGE_RESULT_COLUMNS = [
  'challengeId',
  'userId',
  'placement',
  'finalScore',
  'rated',
  'passedReview',
  'validSubmission',
  'oldRating',
  'newRating',
] as const;

/**
 * What the operator's command hands the preflight workflow: its own settings, so the worker that runs it (perhaps a
 * stack started with other environment) checks what the operator asked for. Absent: the worker's own.
 */
export const PreflightInput = z
  .object({ apiUrl: z.url({ error: 'apiUrl must be an http(s) URL, e.g. http://127.0.0.1:3000' }).optional() })
  .default({});
export type PreflightInput = z.input<typeof PreflightInput>;
