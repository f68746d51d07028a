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
import type { DbHealth, ThrottleStep } from '../../domain/throttle';
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
  /** batches the throttle allowed when this run handed over */
  allowed?: number;
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
  /** whether the run throttles itself (the option, and a run that began after throttling existed) */
  throttling = false;
  /** batches the throttle allows in flight now (≤ concurrency) */
  allowed: number;
  private throttleReasons: string[] = [];
  private health?: DbHealth;
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
    this.allowed = carry?.allowed ?? this.concurrency;
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

  /** What the window may have in flight: the operator's concurrency, or less while throttled. */
  inFlightLimit(): number {
    return this.throttling ? Math.min(this.concurrency, this.allowed) : this.concurrency;
  }

  throttled(): boolean {
    return this.throttling && this.allowed < this.concurrency;
  }

  applyThrottle(step: ThrottleStep, health: DbHealth): void {
    const was = this.throttled();
    this.allowed = step.allowed;
    this.throttleReasons = step.reasons;
    this.health = health;
    // the Web UI filter follows the transitions only, not every reading
    if (was !== this.throttled() && !this.paused && this.phase === 'running')
      upsertSearchAttributes([{ key: CutoverState, value: this.throttled() ? 'throttled' : 'running' }]);
  }

  setConcurrency(n: number): number {
    // a run the throttle does not hold back follows a retune at once; a held-back one keeps recovering step by step
    if (!this.throttled()) this.allowed = n;
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
      state: this.phase !== 'running' ? this.phase : this.paused ? 'paused' : this.throttled() ? 'throttled' : 'running',
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
      ...(this.throttling && (this.throttled() || this.health)
        ? { throttle: { allowed: Math.min(this.allowed, this.concurrency), reasons: this.throttleReasons, health: this.health } }
        : {}),
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
      allowed: this.allowed,
    };
  }
}
