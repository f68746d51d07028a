/**
 * Seeded randomness for the generator. sfc32 (small, fast, passes PractRand) seeded through splitmix32; every
 * concern gets its own stream (`fork(label)`) so adding draws to one part of the generator does not reshuffle
 * the others. Math.random is never used: a seed must reproduce the same data byte for byte.
 */

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a over a label, so forks are keyed by name rather than by call order. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(
    readonly seed: number,
    readonly label = 'root',
  ) {
    const sm = splitmix32((seed ^ hashLabel(label)) >>> 0);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** An independent stream for one concern of the generator. */
  fork(label: string): Rng {
    return new Rng(this.seed, `${this.label}/${label}`);
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal (Box–Muller, the second value cached). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = this.next();
    while (u <= 1e-12) u = this.next();
    const v = this.next();
    const m = Math.sqrt(-2 * Math.log(u));
    this.spare = m * Math.sin(2 * Math.PI * v);
    return m * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median and log-space sigma. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Index drawn by weight (weights need not sum to 1). */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /** A version-4-shaped UUID from the stream (deterministic, unlike crypto.randomUUID). */
  uuid(): string {
    const h = (n: number) => n.toString(16).padStart(8, '0');
    const a = h(this.u32());
    const b = h(this.u32());
    const c = h(this.u32());
    const d = h(this.u32());
    const variant = ((parseInt(c[0]!, 16) & 0x3) | 0x8).toString(16);
    return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`;
  }
}

/**
 * Injects one kind of anomaly at a steady rate over a stream of candidates. Credit grows by rate·U(0,2) per
 * candidate and an injection spends 1, so the count stays within one of rate·N (no binomial luck), and the
 * initial credit of 0.75–1 makes even a tiny seed get its first injection within the first 0.25/rate candidates —
 * tests can rely on every kind being present.
 */
export class Injector {
  private credit: number;
  count = 0;

  constructor(
    private readonly rng: Rng,
    readonly rate: number,
  ) {
    this.credit = 0.75 + 0.25 * rng.next();
  }

  /** Accrue credit for one candidate; true when an injection is due (call take() if it is applied). */
  offer(): boolean {
    this.credit += this.rate * 2 * this.rng.next();
    return this.credit >= 1;
  }

  take(): void {
    this.credit -= 1;
    this.count++;
  }

  /** offer + take in one step, for kinds that never compete with another kind on the same candidate. */
  hit(): boolean {
    if (!this.offer()) return false;
    this.take();
    return true;
  }
}

/**
 * Several mutually exclusive anomaly kinds over the same candidates: at most one applies to a candidate, so
 * their SQL definitions never overlap. A due kind that loses to an earlier one stays due for the next candidate.
 */
export function pickExclusive<K extends string>(injectors: ReadonlyArray<readonly [K, Injector]>): K | null {
  let chosen: K | null = null;
  for (const [kind, inj] of injectors) {
    if (inj.offer() && chosen === null) {
      inj.take();
      chosen = kind;
    }
  }
  return chosen;
}
