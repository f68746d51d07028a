import { condition } from '@temporalio/workflow';

/** Where a window is: the next item to start and how many are in flight. Part of a workflow's continue-as-new carry. */
export interface WindowCursor {
  next: number;
  inFlight: number;
}

export interface WindowOptions<T> {
  /** items 0 … total-1 */
  total: number;
  cursor: WindowCursor;
  /** read before each start: retunable while running */
  concurrency(): number;
  paused(): boolean;
  /** stop starting items (an item failed, an operator stopped the run); also wakes a waiting window */
  stopped(): boolean;
  /** hand over before starting another (e.g. history budget reached): checked before each start only */
  handOver?(): boolean;
  run(i: number): Promise<T>;
  onResult(result: T, i: number): void;
  onError(error: unknown, i: number): void;
}

/**
 * Runs items (activities or child workflows) with at most `concurrency()` in flight, starting none while
 * paused, until every item started, stopped() or handOver(); then waits for those in flight. Returns whether
 * every item has started (false: the caller continues as new, or stops).
 */
export async function slidingWindow<T>(o: WindowOptions<T>): Promise<boolean> {
  const { cursor } = o;
  const handOver = o.handOver ?? (() => false);
  while (cursor.next < o.total && !handOver() && !o.stopped()) {
    await condition(() => (!o.paused() && cursor.inFlight < o.concurrency()) || o.stopped());
    if (handOver() || o.stopped()) break;
    const i = cursor.next++;
    cursor.inFlight++;
    void o.run(i).then(
      (r) => {
        cursor.inFlight--;
        o.onResult(r, i);
      },
      (e: unknown) => {
        cursor.inFlight--;
        o.onError(e, i);
      },
    );
  }
  await condition(() => cursor.inFlight === 0);
  return cursor.next >= o.total;
}
