import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers/promises';
import type { Steps } from '../domain/steps';

/** Runs a stepped computation to its end, handing the event loop a turn every `sliceMs` of work. */
export async function drainYielding<T>(steps: Steps<T>, sliceMs = 25): Promise<T> {
  let until = performance.now() + sliceMs;
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() >= until) {
      await setImmediate();
      until = performance.now() + sliceMs;
    }
  }
}

/** Calls `fn` on each item in the same slices (a loop over a large result). */
export function eachYielding<T>(items: readonly T[], fn: (item: T) => void, sliceMs = 25): Promise<void> {
  function* each(): Steps<void> {
    for (const item of items) {
      fn(item);
      yield;
    }
  }
  return drainYielding(each(), sliceMs);
}
