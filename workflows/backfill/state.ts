import { upsertSearchAttributes } from '@temporalio/workflow';
import {
  addBatch,
  rateAndEta,
  zeroTotals,
  type BackfillPlan,
  type BackfillProgress,
  type BackfillTotals,
  type BatchResult,
} from '../../domain/backfill';
import { isConcurrency, concurrencyMessage } from '../../domain/limits';
import { CutoverState } from '../../domain/search-attributes';
import type { WindowCursor } from '../support/window';

/** What a backfill hands to its next run on continue-as-new. */
export interface BackfillCarry {
  plan: BackfillPlan;
  next: number;
  totals: BackfillTotals;
  startedAt: number;
  /** time spent paused before this run: rate and ETA count working time only */
  pausedMs?: number;
  paused: boolean;
  concurrency: number;
}

/**
 * A backfill's state: message handlers are one-liners into it, and `carry()` is what continue-as-new hands on.
 * Time comes from the workflow clock (Date.now is deterministic in workflows).
 */
export class BackfillState {
  phase: BackfillProgress['state'];
  plan?: BackfillPlan;
  totals: BackfillTotals;
  readonly cursor: WindowCursor;
  concurrency: number;
  paused: boolean;
  lastError?: string;
  private readonly startedAt: number;
  private pausedMs: number;
  private pausedAt: number;

  constructor(concurrency: number, carry?: BackfillCarry) {
    this.phase = carry ? 'running' : 'preparing';
    this.plan = carry?.plan;
    this.totals = carry?.totals ?? zeroTotals();
    this.cursor = { next: carry?.next ?? 0, inFlight: 0 };
    this.concurrency = carry?.concurrency ?? concurrency;
    this.paused = carry?.paused ?? false;
    this.startedAt = carry?.startedAt ?? Date.now();
    this.pausedMs = carry?.pausedMs ?? 0;
    this.pausedAt = this.paused ? Date.now() : 0;
  }

  pause(): void {
    if (!this.paused) this.pausedAt = Date.now();
    this.paused = true;
    upsertSearchAttributes([{ key: CutoverState, value: 'paused' }]);
  }

  resume(): void {
    if (this.paused) this.pausedMs += Date.now() - this.pausedAt;
    this.paused = false;
    upsertSearchAttributes([{ key: CutoverState, value: 'running' }]);
  }

  setConcurrency(n: number): number {
    this.concurrency = n;
    return this.concurrency;
  }

  static validateConcurrency(n: number): void {
    if (!isConcurrency(n)) throw new Error(`${concurrencyMessage('concurrency')}, got ${n}`);
  }

  batchDone(r: BatchResult): void {
    this.totals = addBatch(this.totals, r);
  }

  batchFailed(e: unknown): void {
    this.lastError = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
  }

  workingMs(): number {
    return Date.now() - this.startedAt - this.pausedMs - (this.paused ? Date.now() - this.pausedAt : 0);
  }

  items(): number {
    return this.plan ? this.plan.ranges.length + this.plan.userIds.length : 0;
  }

  progress(): BackfillProgress {
    const total = this.plan?.membersTotal ?? 0;
    return {
      state: this.paused && this.phase === 'running' ? 'paused' : this.phase,
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
    };
  }

  carry(): BackfillCarry {
    return {
      plan: this.plan!,
      next: this.cursor.next,
      totals: this.totals,
      startedAt: this.startedAt,
      pausedMs: this.pausedMs + (this.paused ? Date.now() - this.pausedAt : 0),
      paused: this.paused,
      concurrency: this.concurrency,
    };
  }
}
