import type { Rng } from './prng';

/** Handles, countries and challenge names: plausible, unique where they must be, all from the seeded stream. */

/** ISO-3 code, name, weight (the platform's member base leans towards India, the US, China, Eastern Europe). */
export const COUNTRIES: readonly (readonly [string, string, number])[] = [
  ['IND', 'India', 24],
  ['USA', 'United States', 12],
  ['CHN', 'China', 10],
  ['RUS', 'Russian Federation', 6],
  ['UKR', 'Ukraine', 5],
  ['POL', 'Poland', 4],
  ['EGY', 'Egypt', 4],
  ['BRA', 'Brazil', 3],
  ['IDN', 'Indonesia', 3],
  ['VNM', 'Viet Nam', 3],
  ['LKA', 'Sri Lanka', 2],
  ['JPN', 'Japan', 3],
  ['DEU', 'Germany', 2],
  ['GBR', 'United Kingdom', 2],
  ['CAN', 'Canada', 2],
  ['PAK', 'Pakistan', 2],
  ['BGD', 'Bangladesh', 2],
  ['NGA', 'Nigeria', 2],
  ['ARG', 'Argentina', 1],
  ['MEX', 'Mexico', 1],
  ['BLR', 'Belarus', 2],
  ['ROU', 'Romania', 1],
  ['KOR', 'Korea, Republic of', 1],
  ['FRA', 'France', 1],
];
export const COUNTRY_WEIGHTS = COUNTRIES.map((c) => c[2]);

const SYLLABLES = [
  'ka',
  'ro',
  'mi',
  'ten',
  'zu',
  'lo',
  'var',
  'gen',
  'tor',
  'ix',
  'ne',
  'sha',
  'qu',
  'bit',
  'dex',
  'ran',
  'vo',
  'lin',
  'pho',
  'kri',
  'sto',
  'mar',
  'el',
  'jo',
  'an',
  'dre',
  'sky',
  'byte',
  'cod',
  'er',
];
const WORDS = [
  'coder',
  'hacker',
  'ninja',
  'pixel',
  'lambda',
  'vector',
  'matrix',
  'quant',
  'logic',
  'delta',
  'sigma',
  'bytes',
  'stack',
  'heap',
  'graph',
  'prime',
];

/** A handle generator that never repeats (case-insensitively): real handles are unique in handleLower. */
export class Handles {
  private readonly used = new Set<string>();

  constructor(private readonly rng: Rng) {}

  next(): string {
    for (;;) {
      const r = this.rng;
      let h: string;
      const style = r.next();
      if (style < 0.45) {
        h = Array.from({ length: r.int(2, 3) }, () => r.pick(SYLLABLES)).join('');
        if (r.chance(0.5)) h += String(r.int(1, 999));
      } else if (style < 0.75) {
        h = r.pick(SYLLABLES) + r.pick(SYLLABLES) + (r.chance(0.5) ? '_' : '') + r.pick(WORDS);
      } else {
        h = r.pick(WORDS) + String(r.int(10, 99999));
      }
      if (r.chance(0.2)) h = h.charAt(0).toUpperCase() + h.slice(1);
      const lower = h.toLowerCase();
      if (!this.used.has(lower)) {
        this.used.add(lower);
        return h;
      }
    }
  }
}

const PRODUCTS = [
  'Topcoder',
  'Member API',
  'Connect',
  'Payments',
  'Work Manager',
  'Review App',
  'Community App',
  'Gig Portal',
  'Forums',
  'Analytics',
  'Billing',
  'Identity',
  'Search',
  'Notifications',
  'Mobile App',
];
const PARTS = [
  'Profile',
  'Stats',
  'Dashboard',
  'Checkout',
  'Login',
  'Onboarding',
  'Reports',
  'Scheduler',
  'Importer',
  'Exporter',
  'Gateway',
  'Cache',
  'Uploader',
  'Admin Console',
  'Leaderboard',
];
const ACTIONS = [
  'Refactor',
  'Bug Fixes',
  'Performance Improvements',
  'API Update',
  'Prototype',
  'Migration',
  'Integration',
  'Unit Tests',
  'UI Redesign',
  'Hardening',
  'Architecture',
  'Assembly',
  'Test Suite',
  'Bug Hunt',
  'Logo',
];

/** A project-style challenge name ("Payments Checkout - API Update"). */
export function projectName(rng: Rng): string {
  return `${rng.pick(PRODUCTS)} ${rng.pick(PARTS)} - ${rng.pick(ACTIONS)}`;
}
