/**
 * Long pure computations (a whole rating stream replayed) are written as generators that yield between units of
 * work: `drain` runs one to its end at once (tests, small inputs); store/yielding.ts runs it in slices so a worker's
 * event loop stays free for heartbeats, workflow tasks and the API. A replay of the large seed's Development
 * stream is about 9 s of engine work: in one piece it timed out workflow tasks and heartbeats.
 */
export type Steps<T> = Generator<void, T, void>;

export function drain<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
