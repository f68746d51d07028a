/** Bounds an operator can set, stated once for the CLI, the workflow validators and the option schemas. */
export const CONCURRENCY = { min: 1, max: 32 } as const;

export const concurrencyMessage = (flag = '--concurrency') => `${flag} must be between ${CONCURRENCY.min} and ${CONCURRENCY.max}`;

export function isConcurrency(n: number): boolean {
  return Number.isInteger(n) && n >= CONCURRENCY.min && n <= CONCURRENCY.max;
}

/**
 * The what-if rating tool's input bounds. The engine compares every pair, so work grows with the square of the
 * field: 5,000 participants (25 M pairs) rate in well under a second; no real event comes near it.
 */
export const RATE_INPUT = { maxParticipants: 5_000, maxBytes: 2 * 1024 * 1024 } as const;
