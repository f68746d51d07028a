import { condition, isCancellation, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { throttleStep, type DbHealth, type ThrottleSettings, type ThrottleStep } from '../../domain/throttle';
import { probeActivity } from './policies';
import type { Steering } from './steering';

const { readDbHealth } = proxyLocalActivities<Activities>(probeActivity);

/** A steered phase's throttle while it starts items (until `done()` or an item failed); nothing when it does not throttle. */
export function throttleWhile(s: Steering<string>, settings: ThrottleSettings, done: () => boolean): Promise<void> {
  if (!s.throttling) return Promise.resolve();
  return throttleLoop({
    settings,
    ceiling: () => s.concurrency,
    allowed: () => s.allowed,
    apply: (step, health) => s.applyThrottle(step, health),
    done: () => done() || s.lastError !== undefined,
  });
}

export interface ThrottleLoop {
  settings: ThrottleSettings;
  /** the operator's concurrency: the most the loop ever allows */
  ceiling(): number;
  /** batches allowed now */
  allowed(): number;
  apply(step: ThrottleStep, health: DbHealth): void;
  /** the phase stopped starting work: the loop ends */
  done(): boolean;
}

/**
 * Reads the database's health every few seconds while a phase starts work, and lets it start fewer (or no) items
 * while live reads suffer. A failed reading changes nothing: the phase neither stops nor speeds up on no data.
 */
export async function throttleLoop(t: ThrottleLoop): Promise<void> {
  try {
    while (!t.done()) {
      const health = await readDbHealth().catch(() => undefined);
      if (health) t.apply(throttleStep(t.allowed(), t.ceiling(), health, t.settings), health);
      await condition(t.done, t.settings.probeSeconds * 1000);
    }
  } catch (e) {
    // the phase was cancelled (a cutover rolled back, a rerate withdrawn): the phase itself answers for it; a
    // rejection here, awaited by nobody yet, would fail every workflow task instead
    if (!isCancellation(e)) throw e;
  }
}
