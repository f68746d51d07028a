import {
  addBatch,
  progressLine,
  rateAndEta,
  recentRate,
  STALLED_AFTER_MS,
  type ProgressSample,
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

  /** members done at each batch's end, in working time (the recent rate); not carried over continue-as-new */
  private samples: ProgressSample[] = [];

  batchDone(r: BatchResult): void {
    this.totals = addBatch(this.totals, r);
    this.samples.push([this.workingMs(), this.totals.members]);
    if (this.samples.length > 500) this.samples.splice(0, this.samples.length - 500);
  }

  batchFailed(e: unknown): void {
    this.itemFailed(e);
  }

  items(): number {
    return this.plan ? this.plan.ranges.length + this.plan.userIds.length : 0;
  }

  progress(): BackfillProgress {
    const total = this.plan?.membersTotal ?? 0;
    const state = this.state();
    const now = this.workingMs();
    const average = rateAndEta(this.totals.members, total, now);
    // the rate of the last half minute of working time, else the run's average
    const membersPerSec = recentRate(this.samples, now) ?? average.membersPerSec;
    const last = this.samples.at(-1)?.[0] ?? 0;
    const stalled = state === 'running' && now - last > STALLED_AFTER_MS;
    // no ETA while nothing moves: paused, held back for live reads, or stalled
    const etaSeconds =
      state === 'paused' || state === 'throttled' || stalled || membersPerSec <= 0
        ? null
        : Math.max(0, (total - this.totals.members) / membersPerSec);
    return {
      state,
      membersDone: this.totals.members,
      membersTotal: total,
      rowsWritten: this.totals.statsRows + this.totals.historyRows,
      batchesDone: this.totals.batches,
      batchesTotal: this.items(),
      inFlight: this.cursor.inFlight,
      concurrency: this.concurrency,
      membersPerSec,
      etaSeconds,
      totals: this.totals,
      lastError: this.lastError,
      ...this.throttleProgress(),
    };
  }

  /** the Web UI's current details */
  details(): string {
    const p = this.progress();
    return progressLine(
      'backfill',
      { state: p.state, done: p.membersDone, total: p.membersTotal, perSec: p.membersPerSec, etaSeconds: p.etaSeconds },
      'members',
    );
  }

  carry(): BackfillCarry {
    return { plan: this.plan!, next: this.cursor.next, totals: this.totals, ...this.steeringCarry() };
  }
}
