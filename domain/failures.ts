/**
 * Failure type names: what activities raise, what workflows refuse to retry, and what the CLI maps to exit 2.
 * One place, so a new phase cannot retry bad input forever or report it as an outage.
 */
export const Failure = {
  /** the operator's input is wrong (unknown track or member, bad option): fix it and run again */
  InvalidInput: 'InvalidInput',
  /** the review database lacks challengeResult: nothing can run right (REVIEW_DB_URL) */
  ReviewSchemaMissing: 'ReviewSchemaMissing',
  /** a backfill that stopped: its batches failed for good */
  BackfillFailed: 'BackfillFailed',
} as const;
export type FailureType = (typeof Failure)[keyof typeof Failure];

/** Never retried: retrying cannot change the outcome. */
export const NON_RETRYABLE: readonly FailureType[] = [Failure.InvalidInput, Failure.ReviewSchemaMissing];

/** The operator's to fix (exit 2), as opposed to a failed operation (exit 1). */
export const INPUT_FAILURES: ReadonlySet<string> = new Set<FailureType>([Failure.InvalidInput]);
