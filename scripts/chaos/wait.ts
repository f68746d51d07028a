import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';

/** Waiting helpers for a driver whose own dependencies are being broken on purpose. */

export async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * A Temporal client call, retried while the server is away (the suite restarts it): the SDK's own gRPC retries
 * give up after a few seconds. A workflow's own failure is an answer, not an outage, and is thrown at once.
 */
export async function throughOutage<T>(what: string, fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof WorkflowFailedError) throw e;
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${Math.round(timeoutMs / 1000)} s: ${(e as Error).message}`);
      await sleep(500);
    }
  }
}

export const secondsSince = (t: number) => (Date.now() - t) / 1000;
