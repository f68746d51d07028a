import { rateAndEta } from '../../domain/backfill';
import type { ChunkResult, ReratePlan, RerateProgress } from '../../domain/rerate';
import { Steering } from '../support/steering';
import type { WindowCursor } from '../support/window';

type Phase = Exclude<RerateProgress['state'], 'paused' | 'throttled'>;

/** A stream rerate's state: handlers are one-liners into it. Time from the workflow clock. */
export class RerateState extends Steering<Phase> {
  plan?: ReratePlan;
  readonly cursor: WindowCursor = { next: 0, inFlight: 0 };
  readonly chunks: ChunkResult[] = [];

  constructor(concurrency: number) {
    super('preparing', concurrency);
  }

  chunkDone(r: ChunkResult): void {
    this.chunks.push(r);
  }

  eventsDone(): number {
    return this.chunks.reduce((n, c) => n + c.events, 0);
  }

  rowsWritten(): number {
    return this.chunks.reduce((n, c) => n + c.written, 0);
  }

  progress(): RerateProgress {
    const total = this.plan?.events ?? 0;
    const { membersPerSec: eventsPerSec, etaSeconds } = rateAndEta(this.eventsDone(), total, this.workingMs());
    return {
      state: this.state(),
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
      ...this.throttleProgress(),
    };
  }
}
