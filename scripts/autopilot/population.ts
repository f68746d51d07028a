import { sql } from 'kysely';
import { normalQuantile } from '../../domain/rating/normal';
import type { Databases } from '../../store/db';
import { ActivePools, TRACKS_N, type Population } from '../seed/population';
import type { Rng } from '../seed/prng';
import { MS, TRACK_ORDER, type ChallengeKind } from '../seed/profile';
import { memberTrackIndex } from './kinds';
import type { Participant } from './outcome';

/**
 * Who takes part in a challenge that ends now: existing members, drawn the way the seed's simulation draws them —
 * its ActivePools (scripts/seed/population.ts) over a Population whose per-member parameters are estimated from the
 * databases instead of generated (the generator's draws are not stored anywhere):
 * - affinity per track: the member's results on that track over the last WINDOW_YEARS, relative to their busiest track;
 * - activity: results per year of their active span, relative to the 90th percentile of members (capped at 1);
 * - tau (how fast they fade): grows with how long they have been around, so members gone quiet for years drop out;
 * - skill per track: Φ⁻¹ of their mean placement percentile there, shrunk towards 0 for few results;
 * - lurker: no result in the window (the simulation's 40% who never compete).
 * The number of members follows the kind's log-normal size, capped at 60% of the track's pool, as simulate.ts does.
 * Loaded once per process (a few indexed reads); not updated as challenges end (a run is minutes, not years).
 */

export const WINDOW_YEARS = 6;

export interface MemberPopulation {
  pop: Population;
  pools: ActivePools;
  /** member index by userId */
  index: Map<number, number>;
  /** members with any result in the window: the fallback when a track's pool is empty */
  competitors: number[];
}

interface ResultAgg {
  userId: string;
  track: number;
  events: number;
  first: Date;
  last: Date;
  q: number | null;
  placed: number;
  handle: string | null;
}

/** Track index (TRACK_ORDER) members of a completed challenge were drawn from: Marathon Match and SRM are Data Science. */
function trackIndexOf(typeName: string, trackName: string): number {
  if (typeName === 'Marathon Match' || typeName === 'SRM') return TRACK_ORDER.indexOf('DATA_SCIENCE');
  return (TRACK_ORDER as readonly string[]).indexOf(trackName);
}

export async function loadPopulation(dbs: Databases, now: number): Promise<MemberPopulation> {
  const recent = await sql<{ id: string; type: string; track: string }>`
    WITH latest AS (SELECT max("endDate") AS t FROM challenges."Challenge" WHERE status = 'COMPLETED')
    SELECT c.id::text AS id, ty.name AS type, tr.track
    FROM challenges."Challenge" c
    JOIN challenges."ChallengeType" ty ON ty.id = c."typeId"
    JOIN challenges."ChallengeTrack" tr ON tr.id = c."trackId"
    WHERE c.status = 'COMPLETED' AND c."endDate" >= (SELECT t FROM latest) - make_interval(years => ${WINDOW_YEARS})`.execute(
    dbs.challenges,
  );
  const ids: string[] = [];
  const tracks: number[] = [];
  for (const c of recent.rows) {
    const t = trackIndexOf(c.type, c.track);
    if (t < 0) continue;
    ids.push(c.id);
    tracks.push(t);
  }
  const [aggs, members] = await Promise.all([
    sql<ResultAgg>`
      WITH ch AS (SELECT * FROM unnest(${ids}::text[], ${tracks}::int[]) AS x(id, track)),
      r AS (
        SELECT cr."userId", ch.track, cr.placement, cr."createdAt", cr.handle,
               count(*) OVER (PARTITION BY cr."challengeId") AS n
        FROM reviews."challengeResult" cr JOIN ch ON ch.id = cr."challengeId")
      SELECT "userId", track, count(*)::int AS events, min("createdAt") AS first, max("createdAt") AS last,
             avg((n - placement + 0.5)::float8 / n) FILTER (WHERE placement > 0 AND placement <= n) AS q,
             count(*) FILTER (WHERE placement > 0 AND placement <= n)::int AS placed,
             (array_agg(handle ORDER BY "createdAt" DESC))[1] AS handle
      FROM r WHERE "userId" ~ '^[0-9]{1,9}$'
      GROUP BY 1, 2`.execute(dbs.reviews),
    sql<{ userId: number; handle: string; createdAt: Date }>`
      SELECT "userId", handle, "createdAt" FROM members."member" WHERE "userId" < 2147483648 ORDER BY "userId"`.execute(dbs.members),
  ]);

  const index = new Map<number, number>();
  const userIds: number[] = [];
  const handles: string[] = [];
  const joins: number[] = [];
  const add = (userId: number, handle: string, joinAt: number) => {
    index.set(userId, userIds.length);
    userIds.push(userId);
    handles.push(handle);
    joins.push(joinAt);
  };
  for (const m of members.rows) add(Number(m.userId), m.handle, m.createdAt.getTime());
  // results of members the member table lost (a seeded anomaly): they still compete under their recorded handle
  for (const a of aggs.rows) {
    const id = Number(a.userId);
    if (!index.has(id)) add(id, a.handle ?? `user${id}`, a.first.getTime() - MS.HOUR);
  }
  const n = userIds.length;
  const pop: Population = {
    n,
    userId: Int32Array.from(userIds),
    handle: handles,
    joinAt: Float64Array.from(joins),
    lurker: new Uint8Array(n).fill(1),
    activity: new Float32Array(n),
    tau: new Float64Array(n).fill(0.2 * MS.YEAR),
    affinity: new Float32Array(n * TRACKS_N),
    skill: new Float32Array(n * TRACKS_N),
    homeCountry: new Int16Array(n).fill(-1),
    competitionCountry: new Int16Array(n).fill(-1),
    countryText: new Uint8Array(n),
    school: new Int32Array(n).fill(-1),
    status: new Array<string>(n).fill('ACTIVE'),
  };

  const events = new Float64Array(n * TRACKS_N);
  const first = new Float64Array(n).fill(Infinity);
  const last = new Float64Array(n).fill(-Infinity);
  for (const a of aggs.rows) {
    const m = index.get(Number(a.userId))!;
    events[m * TRACKS_N + a.track] = a.events;
    first[m] = Math.min(first[m]!, a.first.getTime());
    last[m] = Math.max(last[m]!, a.last.getTime());
    if (a.q !== null && a.placed > 0) {
      const q = Math.min(0.99, Math.max(0.01, a.q));
      pop.skill[m * TRACKS_N + a.track] = (normalQuantile(q) * a.placed) / (a.placed + 1);
    }
  }
  const competitors: number[] = [];
  const rates: number[] = [];
  for (let m = 0; m < n; m++) {
    let total = 0;
    let busiest = 0;
    for (let t = 0; t < TRACKS_N; t++) {
      total += events[m * TRACKS_N + t]!;
      busiest = Math.max(busiest, events[m * TRACKS_N + t]!);
    }
    if (total === 0) continue;
    competitors.push(m);
    pop.lurker[m] = 0;
    let skillSum = 0;
    let skilled = 0;
    for (let t = 0; t < TRACKS_N; t++) {
      const e = events[m * TRACKS_N + t]!;
      pop.affinity[m * TRACKS_N + t] = e / busiest;
      if (e > 0) {
        skillSum += pop.skill[m * TRACKS_N + t]!;
        skilled++;
      }
    }
    // tracks without results: the member's general level, damped (simulate.ts correlates tracks by 0.7·base)
    for (let t = 0; t < TRACKS_N; t++) if (events[m * TRACKS_N + t] === 0) pop.skill[m * TRACKS_N + t] = (0.5 * skillSum) / skilled;
    const joinAt = Math.min(pop.joinAt[m]!, first[m]!);
    pop.joinAt[m] = joinAt;
    pop.tau[m] = Math.max(0.2 * MS.YEAR, 0.5 * (last[m]! - joinAt) + 0.5 * MS.YEAR);
    const rate = total / Math.max(0.25, (last[m]! - first[m]!) / MS.YEAR);
    pop.activity[m] = rate;
    rates.push(rate);
  }
  rates.sort((a, b) => a - b);
  const ref = rates.length ? rates[Math.min(rates.length - 1, Math.floor(0.9 * rates.length))]! : 1;
  for (const m of competitors) pop.activity[m] = Math.min(1, Math.max(0.02, pop.activity[m]! / ref));

  const pools = new ActivePools(pop);
  pools.advance(now);
  return { pop, pools, index, competitors };
}

/** The simulation's participant count for a kind (simulate.ts `play`): log-normal, capped by the kind and by 60% of the pool. */
export function wantedParticipants(rng: Rng, kind: ChallengeKind, poolSize: number): number {
  const wanted = Math.min(kind.max, Math.max(1, Math.round(kind.sigma > 0 ? rng.logNormal(kind.median, kind.sigma) : kind.median)));
  const room = Math.max(1, Math.floor(0.6 * poolSize));
  return Math.min(wanted, room);
}

/**
 * Members for a challenge of this kind ending at `t`: the simulation's weighted draw from the track's active pool;
 * when that pool is empty (a database with no recent results on the track), a uniform draw from everyone who
 * competed recently, else from all members.
 */
export function drawParticipants(rng: Rng, mp: MemberPopulation, kind: ChallengeKind, t: number): Participant[] {
  const track = memberTrackIndex(kind);
  mp.pools.advance(t);
  let chosen: number[] = [];
  const size = mp.pools.size(track);
  if (size > 0) chosen = mp.pools.sample(rng, track, wantedParticipants(rng, kind, size), t);
  if (chosen.length === 0) {
    const from = mp.competitors.length > 0 ? mp.competitors : Array.from({ length: mp.pop.n }, (_, i) => i);
    const k = Math.min(from.length, wantedParticipants(rng, kind, from.length));
    const pool = [...from];
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rng.next() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    chosen = pool.slice(0, k);
  }
  const p = mp.pop;
  return chosen.map((m) => ({ userId: p.userId[m]!, handle: p.handle[m]!, skill: p.skill[m * TRACKS_N + track]!, joinAt: p.joinAt[m]! }));
}
