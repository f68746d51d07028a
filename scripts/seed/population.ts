import { COUNTRIES, COUNTRY_WEIGHTS, Handles } from './names';
import type { Rng } from './prng';
import { FIRST_YEAR, HISTORY_END, JOIN_YEAR_WEIGHT, MS } from './profile';

/**
 * The member population, in join order (user ids ascend with registration, as on the real platform). Columnar
 * typed arrays keep half a million members cheap. Per track a member has an affinity (how likely they enter
 * that track's challenges at all) and a skill (what drives their scores); activity decays with time since joining
 * (weight·e^(−age/τ)), and 40% of registrants never compete.
 */

export const TRACKS_N = 4;

export interface Population {
  n: number;
  userId: Int32Array;
  handle: string[];
  joinAt: Float64Array;
  lurker: Uint8Array;
  activity: Float32Array;
  tau: Float64Array;
  /** [member * 4 + track] */
  affinity: Float32Array;
  skill: Float32Array;
  /** index into COUNTRIES, or −1 */
  homeCountry: Int16Array;
  competitionCountry: Int16Array;
  /** whether the free-text `country` column is filled (with the home country's name) */
  countryText: Uint8Array;
  /** −1: no school */
  school: Int32Array;
  status: string[];
}

function yearStart(year: number): number {
  return Date.UTC(year, 0, 1);
}

/** A time in a year drawn by weight, uniform within it (the last year ends at HISTORY_END). */
export function timeInWeightedYears(
  rng: Rng,
  weights: readonly number[],
  fromYear = FIRST_YEAR,
  toYear = FIRST_YEAR + weights.length - 1,
): number {
  const slice = weights.slice(fromYear - FIRST_YEAR, toYear - FIRST_YEAR + 1);
  const year = fromYear + rng.weighted(slice);
  const start = yearStart(year);
  const end = Math.min(yearStart(year + 1), HISTORY_END);
  return start + rng.next() * (end - start);
}

export function generatePopulation(rng: Rng, n: number): Population {
  const joins = Array.from({ length: n }, () => Math.floor(timeInWeightedYears(rng, JOIN_YEAR_WEIGHT)));
  joins.sort((a, b) => a - b);
  const handles = new Handles(rng.fork('handles'));
  const schools = Math.max(4, Math.floor(n / 150));
  const p: Population = {
    n,
    userId: new Int32Array(n),
    handle: new Array<string>(n),
    joinAt: Float64Array.from(joins),
    lurker: new Uint8Array(n),
    activity: new Float32Array(n),
    tau: new Float64Array(n),
    affinity: new Float32Array(n * TRACKS_N),
    skill: new Float32Array(n * TRACKS_N),
    homeCountry: new Int16Array(n),
    competitionCountry: new Int16Array(n),
    countryText: new Uint8Array(n),
    school: new Int32Array(n),
    status: new Array<string>(n),
  };
  let id = 10_000_000;
  for (let m = 0; m < n; m++) {
    id += rng.int(1, 40);
    p.userId[m] = id;
    p.handle[m] = handles.next();
    p.lurker[m] = rng.chance(0.4) ? 1 : 0;
    p.activity[m] = Math.min(1, rng.logNormal(0.35, 0.8));
    p.tau[m] = Math.max(0.2, rng.logNormal(2.5, 0.8)) * MS.YEAR;
    // primary track: Development half the members, then Design, Data Science, QA; some dabble elsewhere
    const primary = rng.weighted([0.5, 0.2, 0.2, 0.1]);
    const base = rng.normal();
    for (let t = 0; t < TRACKS_N; t++) {
      p.affinity[m * TRACKS_N + t] = t === primary ? 1 : rng.chance(0.35) ? rng.uniform(0.05, 0.5) : 0;
      p.skill[m * TRACKS_N + t] = 0.7 * base + 0.7 * rng.normal();
    }
    const home = rng.weighted(COUNTRY_WEIGHTS);
    p.homeCountry[m] = rng.chance(0.04) ? -1 : home;
    const comp = rng.next();
    p.competitionCountry[m] = comp < 0.85 ? home : comp < 0.9 ? rng.weighted(COUNTRY_WEIGHTS) : -1;
    p.countryText[m] = rng.chance(0.7) ? 1 : 0;
    p.school[m] = rng.chance(0.25) ? rng.int(0, schools - 1) : -1;
    const s = rng.next();
    p.status[m] = s < 0.96 ? 'ACTIVE' : s < 0.98 ? 'INACTIVE_USER_REQUEST' : 'UNVERIFIED';
  }
  return p;
}

/** The country code a member is ranked in (competition, else home), as the legacy ranks used it. */
export function rankCountryOf(p: Population, m: number): number {
  const c = p.competitionCountry[m]!;
  return c >= 0 ? c : p.homeCountry[m]!;
}

export function countryCode(index: number): string | null {
  return index >= 0 ? COUNTRIES[index]![0] : null;
}

/**
 * Members who could enter a track's challenges at a given time: joined, not a lurker, some affinity, and not
 * long gone (age ≤ 3τ, where their activity weight has decayed below 5%). Time only moves forward.
 */
export class ActivePools {
  private nextJoin = 0;
  private lastPrune = -Infinity;
  private readonly pools: number[][] = Array.from({ length: TRACKS_N }, () => []);
  private readonly stamp: Int32Array;
  private stampValue = 0;

  constructor(private readonly p: Population) {
    this.stamp = new Int32Array(p.n);
  }

  advance(t: number): void {
    const p = this.p;
    while (this.nextJoin < p.n && p.joinAt[this.nextJoin]! <= t) {
      const m = this.nextJoin++;
      if (p.lurker[m]) continue;
      for (let tr = 0; tr < TRACKS_N; tr++) if (p.affinity[m * TRACKS_N + tr]! > 0) this.pools[tr]!.push(m);
    }
    if (t - this.lastPrune > 30 * MS.DAY) {
      this.lastPrune = t;
      for (let tr = 0; tr < TRACKS_N; tr++) {
        this.pools[tr] = this.pools[tr]!.filter((m) => t - p.joinAt[m]! <= 3 * p.tau[m]!);
      }
    }
  }

  size(track: number): number {
    return this.pools[track]!.length;
  }

  private weight(m: number, track: number, t: number): number {
    const p = this.p;
    return p.activity[m]! * p.affinity[m * TRACKS_N + track]! * Math.exp(-(t - p.joinAt[m]!) / p.tau[m]!);
  }

  /** Up to k distinct members, each accepted with probability equal to their current weight (rejection sampling). */
  sample(rng: Rng, track: number, k: number, t: number): number[] {
    const pool = this.pools[track]!;
    const out: number[] = [];
    if (pool.length === 0 || k <= 0) return out;
    const stamp = ++this.stampValue;
    let attempts = 2_000 + k * 200;
    while (out.length < k && attempts-- > 0) {
      const m = pool[Math.floor(rng.next() * pool.length)]!;
      if (this.stamp[m] === stamp) continue;
      if (rng.next() < this.weight(m, track, t)) {
        this.stamp[m] = stamp;
        out.push(m);
      }
    }
    return out;
  }
}
