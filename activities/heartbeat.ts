import { Context } from '@temporalio/activity';

/**
 * A timer heartbeat for as long as `fn` runs. Activities that can outlast their heartbeat timeout (a rank refresh,
 * a full parity category, a wait for a lock) beat so a live attempt is never declared dead and started again beside
 * itself, while a dead worker's attempt is noticed within the timeout instead of its start-to-close limit.
 */
export async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return fn(); // called as a plain function (the CLI's gate check, tests): nothing to beat for
  }
  const beat = setInterval(() => ctx.heartbeat(), 1000);
  try {
    return await fn();
  } finally {
    clearInterval(beat);
  }
}

/** Every activity of a group, heartbeating. */
export function withHeartbeats<T extends Record<string, (...args: any[]) => Promise<unknown>>>(acts: T): T {
  return Object.fromEntries(Object.entries(acts).map(([name, fn]) => [name, (...args: unknown[]) => heartbeating(() => fn(...args))])) as T;
}
