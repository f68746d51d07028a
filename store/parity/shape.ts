import { sql, type Kysely } from 'kysely';
import type { z } from 'zod';
import type { CatalogNames } from '../../domain/catalog';
import { maxRatingOf, MemberHistory, MemberStats, type HistoryEntry, type TrackStats } from '../../domain/member-stats';
import { RERANKED_KEYS } from '../../domain/mapping';
import type { ParityExample } from '../../domain/parity';
import { reratedRow } from '../backfill/keep-rerated';
import { dedupedHistory } from '../dedupe/runs';
import { rerankedPartitions } from '../derived';
import { membersById } from '../members/find';
import { legacyHistory, legacyTracks } from '../members/legacy';
import { unifiedHistory, unifiedTracks } from '../members/unified';

/**
 * response-shape: for a bounded sample of members, the read API's legacy and unified answers (built by the same
 * functions the API serves them with, no HTTP) must have the same shape — both valid against the one documented
 * schema, same keys, same JSON types wherever both sides are non-null — and equal values where parity holds:
 * every legacy entry (track/type; history by challenge) is in the unified answer with the values legacy has
 * (counts and dates as track-summary rules them, rating fields where legacy has a value), and maxRating agrees.
 */

const RATING_FIELDS = [
  'rating',
  'volatility',
  'maxRating',
  'minRating',
  'globalRank',
  'countryRank',
  'schoolRank',
  'percentile',
  'avgRank',
  'avgNumSubmissions',
  'bestRank',
  'topFiveFinishes',
  'topTenFinishes',
] as const satisfies ReadonlyArray<keyof TrackStats>;
const HISTORY_FIELDS = ['challengeName', 'date', 'rating', 'placement', 'percentile'] as const satisfies ReadonlyArray<keyof HistoryEntry>;

type Finding = ParityExample;
type Json = Record<string, unknown>;

const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Same keys, and the same JSON type for every key both sides fill. */
function compareShape(at: Omit<Finding, 'field' | 'legacy' | 'unified'>, path: string, legacy: Json, unified: Json): Finding[] {
  const out: Finding[] = [];
  for (const key of new Set([...Object.keys(legacy), ...Object.keys(unified)])) {
    const l = key in legacy ? jsonType(legacy[key]) : 'absent';
    const u = key in unified ? jsonType(unified[key]) : 'absent';
    if (l === u || (l === 'null' && u !== 'absent') || (u === 'null' && l !== 'absent')) continue;
    out.push({ ...at, field: `shape:${path}${key}`, legacy: l, unified: u });
  }
  return out;
}

function schemaIssues(
  at: Omit<Finding, 'field' | 'legacy' | 'unified'>,
  schema: z.ZodType,
  side: 'legacy' | 'unified',
  body: unknown,
): Finding[] {
  const r = schema.safeParse(body);
  if (r.success) return [];
  return r.error.issues.map((i) => ({
    ...at,
    field: `schema:${i.path.join('.')}`,
    legacy: side === 'legacy' ? i.message : null,
    unified: side === 'unified' ? i.message : null,
  }));
}

/** Rating fields a key's later events move on (the backfill rates what follows legacy, from legacy's state). */
const MOVES_WITH_EVENTS = new Set<string>(['rating', 'volatility', 'maxRating', 'minRating']);
/** Rank fields of the partitions we re-rank ourselves: ours by rule, not legacy's. */
const RERANKED_FIELDS = new Set<string>(['globalRank', 'countryRank']);
/** History fields a rerate recomputes (placement comes from the results and stays). */
const RERATED_HISTORY_FIELDS = new Set<string>(['rating', 'percentile']);

/**
 * Preserved versus computed: what is ours by decision is not compared with legacy. Keys a phase D rerate (or a live
 * rating) rewrote carry computed ratings; partitions we re-ranked (the Development stream always, others once a
 * rating of ours moved them) carry computed ranks.
 */
interface Computed {
  /** "track/type" names */
  reranked: Set<string>;
  rerated: Set<string>;
  /** "track/type/challengeId" of legacy rows a standing dedupe (D5) removed for their round's canonical row */
  deduped: Set<string>;
}

async function computedFor(db: Kysely<any>, names: CatalogNames, userId: number): Promise<Computed> {
  const [partitions, keys, deduped] = await Promise.all([
    rerankedPartitions(db),
    sql<{ trackId: string; typeId: string }>`
      SELECT DISTINCT x."trackId"::text AS "trackId", x."typeId"::text AS "typeId" FROM members."memberStatsHistory" x
      WHERE x."userId" = ${userId} AND ${reratedRow('x')}`.execute(db),
    sql<{ trackId: string; typeId: string; challengeId: string }>`
      SELECT d."trackId"::text AS "trackId", d."typeId"::text AS "typeId", d."challengeId" FROM (${dedupedHistory()}) d
      WHERE d."userId" = ${userId}`.execute(db),
  ]);
  const name = (k: { trackId: string; typeId: string }) => `${names.trackName(k.trackId)}/${names.typeName(k.typeId)}`;
  return {
    reranked: new Set([...RERANKED_KEYS.map((k) => `${k.track}/${k.type}`), ...partitions.map(name)]),
    rerated: new Set(keys.rows.map(name)),
    deduped: new Set(deduped.rows.map((k) => `${name(k)}/${k.challengeId}`)),
  };
}

/** Keys on which unified carries events after legacy's last one. */
function grownKeys(legacy: TrackStats[], unified: TrackStats[]): Set<string> {
  const byKey = new Map(unified.map((t) => [`${t.track}/${t.type}`, t]));
  const out = new Set<string>();
  for (const l of legacy) {
    const u = byKey.get(`${l.track}/${l.type}`);
    if (u?.mostRecentEventDate && (l.mostRecentEventDate === null || u.mostRecentEventDate > l.mostRecentEventDate))
      out.add(`${l.track}/${l.type}`);
  }
  return out;
}

function compareTracks(userId: number, legacy: TrackStats[], unified: TrackStats[], computed: Computed): Finding[] {
  const out: Finding[] = [];
  const byKey = new Map(unified.map((t) => [`${t.track}/${t.type}`, t]));
  for (const l of legacy) {
    const at = { userId, track: l.track, type: l.type };
    const u = byKey.get(`${l.track}/${l.type}`);
    if (!u) {
      out.push({ ...at, field: 'tracks', legacy: 'present', unified: null });
      continue;
    }
    out.push(...compareShape(at, 'tracks[].', l, u));
    // unified may carry results newer than legacy's last event on this key: then counts may only grow
    const grew = u.mostRecentEventDate !== null && l.mostRecentEventDate !== null && u.mostRecentEventDate > l.mostRecentEventDate;
    for (const f of ['challenges', 'wins'] as const) {
      if (grew ? u[f] < l[f] : u[f] !== l[f]) out.push({ ...at, field: `tracks.${f}`, legacy: l[f], unified: u[f] });
    }
    if (!grew && u.mostRecentEventDate !== l.mostRecentEventDate)
      out.push({ ...at, field: 'tracks.mostRecentEventDate', legacy: l.mostRecentEventDate, unified: u.mostRecentEventDate });
    if (u.mostRecentSubmission !== l.mostRecentSubmission)
      out.push({ ...at, field: 'tracks.mostRecentSubmission', legacy: l.mostRecentSubmission, unified: u.mostRecentSubmission });
    const key = `${l.track}/${l.type}`;
    for (const f of RATING_FIELDS) {
      if (((grew || computed.rerated.has(key)) && MOVES_WITH_EVENTS.has(f)) || (computed.reranked.has(key) && RERANKED_FIELDS.has(f)))
        continue;
      if (l[f] !== null && u[f] !== l[f]) out.push({ ...at, field: `tracks.${f}`, legacy: l[f], unified: u[f] });
    }
  }
  return out;
}

function compareMaxRating(
  userId: number,
  legacy: MemberStats['maxRating'],
  unified: MemberStats['maxRating'],
  grown: Set<string>,
): Finding[] {
  // a rating that moved on with later events may have handed the maximum to another key
  if (legacy === null || grown.has(`${legacy.track}/${legacy.subTrack}`)) return [];
  const at = { userId, track: legacy.track, type: legacy.subTrack };
  if (unified === null) return [{ ...at, field: 'maxRating', legacy: legacy.rating, unified: null }];
  const sameKey = unified.track === legacy.track && unified.subTrack === legacy.subTrack;
  // another key may only take over with a higher rating (one legacy never had)
  if (sameKey ? unified.rating !== legacy.rating : unified.rating < legacy.rating)
    return [{ ...at, field: 'maxRating.rating', legacy: legacy.rating, unified: unified.rating }];
  if (sameKey && unified.ratingColor !== legacy.ratingColor)
    return [{ ...at, field: 'maxRating.ratingColor', legacy: legacy.ratingColor, unified: unified.ratingColor }];
  return [];
}

function compareHistory(userId: number, legacy: HistoryEntry[], unified: HistoryEntry[], computed: Computed): Finding[] {
  const out: Finding[] = [];
  const byKey = new Map(unified.map((h) => [`${h.track}/${h.type}/${h.challengeId}`, h]));
  for (const l of legacy) {
    const at = { userId, track: l.track, type: l.type };
    const u = byKey.get(`${l.track}/${l.type}/${l.challengeId}`);
    if (!u) {
      // a duplicate D5 removed is answered by its round's canonical entry: computed, not a missing row
      if (!computed.deduped.has(`${l.track}/${l.type}/${l.challengeId}`))
        out.push({ ...at, field: `history[${l.challengeId}]`, legacy: 'present', unified: null });
      continue;
    }
    out.push(...compareShape(at, 'history[].', l, u));
    const rerated = computed.rerated.has(`${l.track}/${l.type}`);
    for (const f of HISTORY_FIELDS) {
      if (rerated && RERATED_HISTORY_FIELDS.has(f)) continue;
      if (l[f] !== null && u[f] !== l[f]) out.push({ ...at, field: `history[${l.challengeId}].${f}`, legacy: l[f], unified: u[f] });
    }
  }
  return out;
}

async function compareMember(
  db: Kysely<any>,
  names: CatalogNames,
  m: { userId: number; handle: string; handleLower: string },
): Promise<Finding[]> {
  const [lTracks, u, lHistory, uHistory, computed] = await Promise.all([
    legacyTracks(db, m.userId),
    unifiedTracks(db, names, m.userId),
    legacyHistory(db, m.userId),
    unifiedHistory(db, names, m.userId),
    computedFor(db, names, m.userId),
  ]);
  const legacy: MemberStats = { ...m, readSource: 'legacy', tracks: lTracks, maxRating: maxRatingOf(lTracks, names) };
  const unified: MemberStats = { ...m, readSource: 'unified', tracks: u.tracks, maxRating: u.maxRating };
  const at = { userId: m.userId, track: null, type: null };
  return [
    ...schemaIssues(at, MemberStats, 'legacy', legacy),
    ...schemaIssues(at, MemberStats, 'unified', unified),
    ...schemaIssues(at, MemberHistory, 'legacy', { userId: m.userId, handle: m.handle, readSource: 'legacy', history: lHistory }),
    ...schemaIssues(at, MemberHistory, 'unified', { userId: m.userId, handle: m.handle, readSource: 'unified', history: uHistory }),
    ...compareShape(at, '', legacy, unified),
    ...compareTracks(m.userId, lTracks, u.tracks, computed),
    ...compareMaxRating(m.userId, legacy.maxRating, unified.maxRating, new Set([...grownKeys(lTracks, u.tracks), ...computed.rerated])),
    ...compareHistory(m.userId, lHistory, uHistory, computed),
  ];
}

/** All findings for these members, `concurrency` members at a time. */
export async function responseShapeFindings(db: Kysely<any>, names: CatalogNames, userIds: number[], concurrency = 4): Promise<Finding[]> {
  const queue = await membersById(db, userIds);
  const out: Finding[] = [];
  const worker = async () => {
    for (let m = queue.shift(); m; m = queue.shift()) out.push(...(await compareMember(db, names, m)));
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out.sort(
    (a, b) => (a.userId ?? 0) - (b.userId ?? 0) || `${a.track}/${a.type}/${a.field}`.localeCompare(`${b.track}/${b.type}/${b.field}`),
  );
}
