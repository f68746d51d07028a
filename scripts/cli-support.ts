import { ConfigError } from '../domain/config';
import { bringUp, stderrLog, type Stack } from '../lib/stack';

/** Exit codes: 0 ok, 1 the operation could not run or failed, 2 bad input (flags, config). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function fail(e: unknown): never {
  const err = e as Error;
  stderrLog(err instanceof ConfigError || err instanceof UsageError ? err.message : `error: ${err.message}`);
  process.exit(err instanceof ConfigError || err instanceof UsageError ? 2 : 1);
}

/** Brings the stack up for one command and always takes down what it started. */
export async function withStack<T>(opts: { temporal?: boolean }, fn: (stack: Stack) => Promise<T>): Promise<T> {
  const stack = await bringUp({ temporal: opts.temporal });
  try {
    return await fn(stack);
  } finally {
    await stack.close();
  }
}
