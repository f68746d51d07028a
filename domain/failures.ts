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
  /** a rerate that stopped: a chunk failed for good */
  RerateFailed: 'RerateFailed',
  /** a rerate preview whose source moved since it was computed: promoting it would apply a stale result */
  StalePreview: 'StalePreview',
  /** one batch kept failing with an error that is not an outage: retrying will not help, an operator must look */
  BatchFailed: 'BatchFailed',
  /** phase C: the parity gate does not hold and the switch was not forced (nothing was flipped) */
  GateClosed: 'GateClosed',
  /** phase C: unified reads failed verification after the flip; reads were rolled back to legacy at once */
  SwitchVerificationFailed: 'SwitchVerificationFailed',
} as const;
export type FailureType = (typeof Failure)[keyof typeof Failure];

/** Never retried: retrying cannot change the outcome. */
export const NON_RETRYABLE: readonly FailureType[] = [
  Failure.InvalidInput,
  Failure.ReviewSchemaMissing,
  Failure.BatchFailed,
  Failure.StalePreview,
  Failure.GateClosed,
  Failure.SwitchVerificationFailed,
];

/** The operator's to fix (exit 2), as opposed to a failed operation (exit 1). */
export const INPUT_FAILURES: ReadonlySet<string> = new Set<FailureType>([Failure.InvalidInput, Failure.StalePreview]);

/** Node and Postgres errors that mean "the database is not there right now" (connection lost, restarting, full). */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08003',
  '08006',
  // a deadlock or serialization failure is not the batch's fault: the next attempt normally passes
  '40P01',
  '40001',
  // lock_timeout: a live writer held the rows; the next attempt normally gets them
  '55P03',
]);

/**
 * Whether an error is an outage that waiting cures (retried without limit), as opposed to an error that will
 * happen again on every attempt (bad data, a broken statement): those are retried a few times, then reported.
 */
export function isTransient(e: unknown): boolean {
  for (let c: unknown = e; c instanceof Error; c = c.cause) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (
      /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Client has encountered a connection error|is not currently accepting connections|Query read timeout/i.test(
        c.message,
      )
    )
      return true;
  }
  return false;
}

/** How often a batch may fail with a non-transient error before the run stops and says why. */
export const DEFAULT_BATCH_ATTEMPTS = 5;
