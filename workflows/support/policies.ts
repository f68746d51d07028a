import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/common';
import { NON_RETRYABLE } from '../../domain/failures';

/** Retry policies and activity options, stated once for every workflow. */

const nonRetryableErrorTypes = [...NON_RETRYABLE];

/** A database outage waits: retried with backoff (capped at a minute); bad input or schema stops at once. */
export const RETRY_UNTIL_UP: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes,
};

/** A hiccup is retried a few times, then the step fails and says why. */
export const RETRY_BRIEFLY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 5,
  nonRetryableErrorTypes,
};

/** Batches of phase A: long, heartbeating (a dead worker is noticed after `heartbeatSeconds`). */
export const batchActivity = (heartbeatSeconds: number): ActivityOptions => ({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: `${heartbeatSeconds} seconds`,
  retry: RETRY_UNTIL_UP,
});

/** One member's backfill steps. */
export const memberActivity: ActivityOptions = { startToCloseTimeout: '5 minutes', heartbeatTimeout: '30 seconds', retry: RETRY_UNTIL_UP };

/** Parity categories: set-based reads that can take minutes on a large platform. */
/** (They heartbeat: a worker lost mid-category is noticed in 30 s, not after the 10-minute limit.) */
export const parityActivity: ActivityOptions = { startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds', retry: RETRY_BRIEFLY };

/** Preflight checks report failures as results; infrastructure errors are retried briefly: preflight must answer fast. */
export const checkActivity: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '500 milliseconds' },
};

/** Storing evidence: small, idempotent writes. */
export const evidenceActivity: ActivityOptions = { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 10 } };

/** A health probe (local activity): quick or skipped; the next probe comes a few seconds later anyway. */
export const probeActivity: LocalActivityOptions = { startToCloseTimeout: '5 seconds', retry: { maximumAttempts: 1 } };
