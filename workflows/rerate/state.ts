import { upsertSearchAttributes } from '@temporalio/workflow';
import { rateAndEta } from '../../domain/backfill';
import { isConcurrency, concurrencyMessage } from '../../domain/limits';
import type { ChunkResult, ReratePlan, RerateProgress } from '../../domain/rerate';
import { CutoverState } from '../../domain/search-attributes';
import type { DbHealth, ThrottleStep } from '../../domain/throttle';
import type { WindowCursor } from '../support/window';

/** A stream rerate's state: handlers are one-liners into it. Time from the workflow clock. */
export class RerateState {
  phase: RerateProgress['state'] = 'preparing';
  plan?: ReratePlan;
  readonly cursor: WindowCursor = { next: 0, inFlight: 0 };
  readonly chunks: ChunkResult[] = [];
  paused = false;
  throttling = false;
  allowed: number;
  lastError?: string;
  private throttleReasons: string[] = [];
  private health?: DbHealth;
  private readonly startedAt = Date.now();
  private pausedMs = 0;
  private pausedAt = 0;

  constructor(public concurrency: number) {
    this.allowed = concurrency;
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
    if (!this.throttled()) this.allowed = n;
    this.concurrency = n;
    return n;
  }

  static validateConcurrency(n: number): void {
    if (!isConcurrency(n)) throw new Error(`${concurrencyMessage('concurrency')}, got ${n}`);
  }

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
    if (was !== this.throttled() && !this.paused && this.phase === 'running')
      upsertSearchAttributes([{ key: CutoverState, value: this.throttled() ? 'throttled' : 'running' }]);
  }

  chunkDone(r: ChunkResult): void {
    this.chunks.push(r);
  }

  chunkFailed(e: unknown): void {
    this.lastError = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
  }

  eventsDone(): number {
    return this.chunks.reduce((n, c) => n + c.events, 0);
  }

  rowsWritten(): number {
    return this.chunks.reduce((n, c) => n + c.written, 0);
  }

  workingMs(): number {
    return Date.now() - this.startedAt - this.pausedMs - (this.paused ? Date.now() - this.pausedAt : 0);
  }

  progress(): RerateProgress {
    const total = this.plan?.events ?? 0;
    const { membersPerSec: eventsPerSec, etaSeconds } = rateAndEta(this.eventsDone(), total, this.workingMs());
    return {
      state: this.phase !== 'running' ? this.phase : this.paused ? 'paused' : this.throttled() ? 'throttled' : 'running',
      stream: this.plan?.stream ?? null,
      eventsDone: this.eventsDone(),
      eventsTotal: total,
      chunksDone: this.chunks.length,
      chunksTotal: this.plan?.chunks ?? 0,
      membersTouched: this.plan?.membersTouched ?? 0,
      rowsWritten: this.rowsWritten(),
      inFlight: this.cursor.inFlight,
      concurrency: this.concurrency,
      eventsPerSec,
      etaSeconds,
      lastError: this.lastError,
      ...(this.throttling && (this.throttled() || this.health)
        ? { throttle: { allowed: Math.min(this.allowed, this.concurrency), reasons: this.throttleReasons, health: this.health } }
        : {}),
    };
  }
}
