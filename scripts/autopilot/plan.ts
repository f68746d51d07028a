import type { Rng } from '../seed/prng';

/**
 * Which "challenge ended" calls are made, and when: the faults autopilot's triggers really suffer. Pure and seeded.
 * - drop P: the challenge ended, the call is never made (recorded as dropped; the reconciler must catch it);
 * - duplicate P: the call is made twice, the second at once (concurrently) or shortly after;
 * - reorder P: the call is held back and delivered only after the calls of 1–maxHold later endings.
 * Every ending is either called (once or twice) or recorded as dropped; nothing is lost silently. A call still held
 * when the run ends is delivered by flush(); it counts as reordered only if a later ending's call overtook it.
 */

export interface FaultRates {
  drop: number;
  duplicate: number;
  reorder: number;
}

export interface Delivery {
  challengeId: string;
  /** the ending's position in the run (0-based) */
  index: number;
  /** 1: the call; 2: its duplicate */
  copy: 1 | 2;
  /** wait this long before sending (the duplicate's lag; 0 = concurrently) */
  delayMs: number;
  /** delivered after the call of a later ending */
  reordered: boolean;
}

export interface PlanStats {
  ended: number;
  /** endings whose call was made */
  called: number;
  dropped: number;
  /** endings called twice */
  duplicated: number;
  /** endings whose call a later one overtook */
  reordered: number;
  /** calls held back right now */
  held: number;
}

interface Held {
  challengeId: string;
  index: number;
  remaining: number;
  overtaken: boolean;
  duplicate: boolean;
  delayMs: number;
}

export class CallPlanner {
  private readonly held: Held[] = [];
  readonly dropped: string[] = [];
  readonly stats: PlanStats = { ended: 0, called: 0, dropped: 0, duplicated: 0, reordered: 0, held: 0 };

  constructor(
    private readonly rates: FaultRates,
    private readonly rng: Rng,
    /** the most later calls a held call waits for */
    private readonly maxHold = 3,
  ) {
    for (const [k, v] of Object.entries(rates))
      if (!(v >= 0 && v <= 1)) throw new RangeError(`${k} must be a probability in [0, 1], got ${v}`);
  }

  private deliver(h: Omit<Held, 'remaining'>, out: Delivery[]): void {
    this.stats.called++;
    if (h.overtaken) this.stats.reordered++;
    out.push({ challengeId: h.challengeId, index: h.index, copy: 1, delayMs: 0, reordered: h.overtaken });
    if (h.duplicate) {
      this.stats.duplicated++;
      out.push({ challengeId: h.challengeId, index: h.index, copy: 2, delayMs: h.delayMs, reordered: h.overtaken });
    }
  }

  /** An ending happened: the calls to make now (none when its call is dropped or held). */
  add(challengeId: string): Delivery[] {
    const rng = this.rng;
    const index = this.stats.ended++;
    const out: Delivery[] = [];
    // every draw is made for every ending, so one rate never shifts the others' draws
    const drop = rng.chance(this.rates.drop);
    const duplicate = rng.chance(this.rates.duplicate);
    const reorder = rng.chance(this.rates.reorder);
    const delayMs = rng.chance(0.5) ? 0 : rng.int(20, 500);
    const hold = rng.int(1, this.maxHold);
    if (drop) {
      this.stats.dropped++;
      this.dropped.push(challengeId);
      return out;
    }
    const h: Held = { challengeId, index, remaining: hold, overtaken: false, duplicate, delayMs };
    if (reorder) {
      this.held.push(h);
      this.stats.held = this.held.length;
      return out;
    }
    this.deliver(h, out);
    // this call overtook every held one; those that have waited long enough go right after it
    for (const x of this.held) {
      x.overtaken = true;
      x.remaining--;
    }
    for (const x of this.held.filter((y) => y.remaining <= 0)) this.deliver(x, out);
    this.held.splice(0, this.held.length, ...this.held.filter((y) => y.remaining > 0));
    this.stats.held = this.held.length;
    return out;
  }

  /** The run is over: every call still held, oldest first. */
  flush(): Delivery[] {
    const out: Delivery[] = [];
    for (const x of this.held.splice(0)) this.deliver(x, out);
    this.stats.held = 0;
    return out;
  }
}

export interface CallPlan {
  /** in delivery order */
  deliveries: Delivery[];
  dropped: string[];
  stats: PlanStats;
}

/** The whole plan for a list of endings, in order (the live run feeds the same CallPlanner one ending at a time). */
export function planCalls(endings: readonly (string | { challengeId: string })[], rates: FaultRates, rng: Rng, maxHold = 3): CallPlan {
  const planner = new CallPlanner(rates, rng, maxHold);
  const deliveries: Delivery[] = [];
  for (const e of endings) deliveries.push(...planner.add(typeof e === 'string' ? e : e.challengeId));
  deliveries.push(...planner.flush());
  return { deliveries, dropped: [...planner.dropped], stats: { ...planner.stats } };
}
