import { upsertSearchAttributes } from '@temporalio/workflow';
import { isConcurrency, concurrencyMessage } from '../../domain/limits';
import { CutoverState } from '../../domain/search-attributes';
import type { DbHealth, ThrottleStep } from '../../domain/throttle';

/** What a steered phase hands to its next run on continue-as-new. */
export interface SteeringCarry {
  startedAt: number;
  /** time spent paused before this run: rates and ETAs count working time only */
  pausedMs?: number;
  paused: boolean;
  concurrency: number;
  /** items the throttle allowed when this run handed over */
  allowed?: number;
}

/**
 * How a long phase is steered (backfill, rerate): pause and resume between items, retuned concurrency, and the
 * throttle for live reads. Its `phase` says whether items are being started. Time from the workflow clock.
 */
export class Steering<Phase extends string> {
  concurrency: number;
  paused: boolean;
  /** whether the run throttles itself (the option, and a run that began after throttling existed) */
  throttling = false;
  /** items the throttle allows in flight now (≤ concurrency) */
  allowed: number;
  lastError?: string;
  private throttleReasons: string[] = [];
  private health?: DbHealth;
  private readonly startedAt: number;
  private pausedMs: number;
  private pausedAt: number;

  constructor(
    public phase: Phase | 'running',
    concurrency: number,
    carry?: SteeringCarry,
  ) {
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

  itemFailed(e: unknown): void {
    this.lastError = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
  }

  workingMs(): number {
    return Date.now() - this.startedAt - this.pausedMs - (this.paused ? Date.now() - this.pausedAt : 0);
  }

  /** The state progress reports: the phase, or while running whether paused or throttled. */
  state(): Phase | 'running' | 'paused' | 'throttled' {
    return this.phase !== 'running' ? this.phase : this.paused ? 'paused' : this.throttled() ? 'throttled' : 'running';
  }

  throttleProgress(): { throttle?: { allowed: number; reasons: string[]; health?: DbHealth } } {
    return this.throttling && (this.throttled() || this.health)
      ? { throttle: { allowed: Math.min(this.allowed, this.concurrency), reasons: this.throttleReasons, health: this.health } }
      : {};
  }

  steeringCarry(): SteeringCarry {
    return {
      startedAt: this.startedAt,
      pausedMs: this.pausedMs + (this.paused ? Date.now() - this.pausedAt : 0),
      paused: this.paused,
      concurrency: this.concurrency,
      allowed: this.allowed,
    };
  }
}
