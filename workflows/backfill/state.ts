import {
  addBatch,
  rateAndEta,
  zeroTotals,
  type BackfillPlan,
  type BackfillProgress,
  type BackfillTotals,
  type BatchResult,
} from '../../domain/backfill';
import { Steering, type SteeringCarry } from '../support/steering';
import type { WindowCursor } from '../support/window';

/** What a backfill hands to its next run on continue-as-new. */
export interface BackfillCarry extends SteeringCarry {
  plan: BackfillPlan;
  next: number;
  totals: BackfillTotals;
}

type Phase = Exclude<BackfillProgress['state'], 'paused' | 'throttled'>;

/**
 * A backfill's state: message handlers are one-liners into it, and `carry()` is what continue-as-new hands on.
 * Time comes from the workflow clock (Date.now is deterministic in workflows).
 */
export class BackfillState extends Steering<Phase> {
  plan?: BackfillPlan;
  totals: BackfillTotals;
  readonly cursor: WindowCursor;

  constructor(concurrency: number, carry?: BackfillCarry) {
    super(carry ? 'running' : 'preparing', concurrency, carry);
    this.plan = carry?.plan;
    this.totals = carry?.totals ?? zeroTotals();
    this.cursor = { next: carry?.next ?? 0, inFlight: 0 };
  }

  batchDone(r: BatchResult): void {
    this.totals = addBatch(this.totals, r);
  }

  batchFailed(e: unknown): void {
    this.itemFailed(e);
  }

  items(): number {
    return this.plan ? this.plan.ranges.length + this.plan.userIds.length : 0;
  }

  progress(): BackfillProgress {
    const total = this.plan?.membersTotal ?? 0;
    return {
      state: this.state(),
      membersDone: this.totals.members,
      membersTotal: total,
      rowsWritten: this.totals.statsRows + this.totals.historyRows,
      batchesDone: this.totals.batches,
      batchesTotal: this.items(),
      inFlight: this.cursor.inFlight,
      concurrency: this.concurrency,
      ...rateAndEta(this.totals.members, total, this.workingMs()),
      totals: this.totals,
      lastError: this.lastError,
      ...this.throttleProgress(),
    };
  }

  carry(): BackfillCarry {
    return { plan: this.plan!, next: this.cursor.next, totals: this.totals, ...this.steeringCarry() };
  }
}
