/** Bounds an operator can set, stated once for the CLI, the workflow validators and the option schemas. */
export const CONCURRENCY = { min: 1, max: 32 } as const;

export const concurrencyMessage = (flag = '--concurrency') => `${flag} must be between ${CONCURRENCY.min} and ${CONCURRENCY.max}`;

export function isConcurrency(n: number): boolean {
  return Number.isInteger(n) && n >= CONCURRENCY.min && n <= CONCURRENCY.max;
}
