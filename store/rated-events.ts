import { sql } from 'kysely';
import {
  developmentParticipants,
  isChallengeRated,
  marathonParticipants,
  type ChallengeResultRow,
  type MissingRatedPolicy,
  type ReviewSummationRow,
  type SubmissionRow,
} from '../domain/rating/participants';
import type { Catalog } from '../domain/catalog';
import type { RatedEvent } from '../domain/rating/replay';
import type { Databases } from './db';
import { eachYielding } from './yielding';

/**
 * A rating stream's rated events as the engine replays them, read from the source databases with a few indexed
 * bulk reads and turned into participants by the pure rules of domain/rating/participants.ts.
 */

export interface StreamChallenge {
  challengeId: string;
  legacyId: number | null;
  typeId: string;
  name: string;
}

export interface RatedStream {
  events: RatedEvent[];
  challenges: Map<string, StreamChallenge>;
}

interface ChallengeRow extends StreamChallenge {
  endDate: Date;
}

export type Where = ReturnType<typeof sql>;

/** Marathon Match's own type (a rerate adds the other challenges its history names). */
export const marathonTyped = (catalog: Catalog): Where =>
  sql`"typeId" = ${catalog.types.find((t) => t.name === 'Marathon Match')!.id}::uuid`;

async function completedChallenges(dbs: Databases, where: Where): Promise<ChallengeRow[]> {
  const r = await sql<{ id: string; legacyId: number | null; typeId: string; name: string; endDate: Date }>`
    SELECT id::text AS id, "legacyId", "typeId"::text AS "typeId", name, "endDate" FROM challenges."Challenge"
    WHERE ${where} AND status = 'COMPLETED' AND "endDate" IS NOT NULL`.execute(dbs.challenges);
  return r.rows.map((c) => ({ challengeId: c.id, legacyId: c.legacyId, typeId: c.typeId, name: c.name, endDate: c.endDate }));
}

async function metadataOf(dbs: Databases, ids: string[]) {
  const r = await sql<{ challengeId: string; name: string; value: string | null }>`
    SELECT "challengeId"::text AS "challengeId", name, value FROM challenges."ChallengeMetadata"
    WHERE "challengeId" = ANY(${ids}::uuid[])`.execute(dbs.challenges);
  return group(r.rows, (m) => m.challengeId);
}

async function resultsOf(dbs: Databases, ids: string[]) {
  const r = await sql<ChallengeResultRow>`
    SELECT "challengeId", "userId", placement, "finalScore", "validSubmission" FROM reviews."challengeResult"
    WHERE "challengeId" = ANY(${ids}::text[])`.execute(dbs.reviews);
  return group(r.rows, (x) => x.challengeId);
}

function build(
  challenges: ChallengeRow[],
  rated: (c: ChallengeRow) => boolean,
  participants: (c: ChallengeRow) => RatedEvent['participants'],
): RatedStream {
  const events: RatedEvent[] = [];
  const info = new Map<string, StreamChallenge>();
  for (const c of challenges) {
    if (!rated(c)) continue;
    const p = participants(c);
    if (p.length === 0) continue;
    events.push({ challengeId: c.challengeId, endDate: c.endDate, participants: p });
    info.set(c.challengeId, { challengeId: c.challengeId, legacyId: c.legacyId, typeId: c.typeId, name: c.name });
  }
  return { events, challenges: info };
}

/** Narrows a stream's challenges (by end date, ids, legacy ids): a refresh reads the part it rates, not the stream. */
const ALL: Where = sql`true`;

/** The Development stream's challenges (a Challenge filter): the one place its track and types are named. */
const developmentTyped = (catalog: Catalog): Where => {
  const dev = catalog.tracks.find((t) => t.track === 'DEVELOPMENT')!.id;
  const types = catalog.types.filter((t) => t.name === 'Challenge' || t.name === 'CODE').map((t) => t.id);
  return sql`"trackId" = ${dev}::uuid AND "typeId" = ANY(${types}::uuid[])`;
};

/** Development: DEVELOPMENT track, type Challenge or legacy CODE. */
export async function developmentEvents(
  dbs: Databases,
  catalog: Catalog,
  policy: MissingRatedPolicy,
  scope: Where = ALL,
): Promise<RatedStream> {
  const challenges = await completedChallenges(dbs, sql`${developmentTyped(catalog)} AND (${scope})`);
  const ids = challenges.map((c) => c.challengeId);
  const [meta, results] = await Promise.all([metadataOf(dbs, ids), resultsOf(dbs, ids)]);
  return build(
    challenges,
    (c) => isChallengeRated(meta.get(c.challengeId) ?? [], policy),
    (c) => developmentParticipants(c.challengeId, results.get(c.challengeId) ?? []),
  );
}

/**
 * A participation developmentParticipants keeps (domain/rating/participants.ts), as SQL over challengeResult rows:
 * not marked invalid, a member id that is not blank (JavaScript's trim set), and a positive placement or a finite
 * positive final score (Postgres orders NaN above Infinity).
 */
const developmentParticipation = sql`("validSubmission" IS DISTINCT FROM false
  AND "userId" !~ ${'^[\u0009-\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*$'}
  AND (placement > 0 OR ("finalScore" > 0 AND "finalScore" < 'Infinity'::float8)))`;

export interface ContinuationStream extends RatedStream {
  /** challengeId → userId → the old system's newRating, for the members the engine may meet */
  recorded: Map<string, Map<string, number>>;
}

/**
 * The Development stream as the continuation (domain/rating/continue.ts) reads it, without reading every result of
 * the stream into memory: the engine rates only where a participant has no recorded outcome. Only such events
 * ("open": a result row without a newRating) get their participants; an event whose every outcome is recorded is
 * kept, participants left out, when developmentParticipants would find any (so the walk over recorded outcomes is
 * the same), and outcomes are read only for the members of open events — no one else's state reaches the engine.
 * The same history and states as continueFromLegacy over developmentEvents and every recorded outcome; a backfill
 * read 370,000 result rows twice on medium for 9,000 rated ones.
 */
export async function developmentContinuation(dbs: Databases, catalog: Catalog, policy: MissingRatedPolicy): Promise<ContinuationStream> {
  const all = await completedChallenges(dbs, developmentTyped(catalog));
  const allIds = all.map((c) => c.challengeId);
  // the metadata and each challenge's summary at once (one query each: on large they took 3 and 9 s one after the
  // other); the summary of a challenge the policy leaves unrated is simply not used
  const [meta, summary] = await Promise.all([
    metadataOf(dbs, allIds),
    sql<{ challengeId: string; open: boolean; participants: boolean }>`
      SELECT "challengeId", bool_or("newRating" IS NULL) AS open, bool_or(${developmentParticipation}) AS participants
      FROM reviews."challengeResult" WHERE "challengeId" = ANY(${allIds}::text[]) GROUP BY "challengeId"`.execute(dbs.reviews),
  ]);
  const challenges = all.filter((c) => isChallengeRated(meta.get(c.challengeId) ?? [], policy));
  const ids = challenges.map((c) => c.challengeId);
  const byId = new Map(summary.rows.map((r) => [r.challengeId, r]));
  const openIds = ids.filter((id) => byId.get(id)?.open);
  const results = await resultsOf(dbs, openIds);
  // build()'s inclusion: an event with participants; an open event's are read, a recorded one's only counted
  const events: RatedEvent[] = [];
  const info = new Map<string, StreamChallenge>();
  const met = new Set<string>();
  // in slices: the worker's event loop (its workflow tasks, heartbeats) goes on meanwhile
  await eachYielding(challenges, (c) => {
    const s = byId.get(c.challengeId);
    if (!s?.participants) return;
    const participants = s.open ? developmentParticipants(c.challengeId, results.get(c.challengeId) ?? []) : [];
    if (s.open && participants.length === 0) return;
    for (const p of participants) met.add(p.userId);
    events.push({ challengeId: c.challengeId, endDate: c.endDate, participants });
    info.set(c.challengeId, { challengeId: c.challengeId, legacyId: c.legacyId, typeId: c.typeId, name: c.name });
  });
  const r = await sql<{ challengeId: string; userId: string; newRating: number }>`
    SELECT "challengeId", "userId", "newRating" FROM reviews."challengeResult"
    WHERE "userId" = ANY(${[...met]}::text[]) AND "newRating" IS NOT NULL AND "challengeId" = ANY(${ids}::text[])`.execute(dbs.reviews);
  const recorded = new Map<string, Map<string, number>>();
  await eachYielding(r.rows, (x) => {
    let m = recorded.get(x.challengeId);
    if (!m) recorded.set(x.challengeId, (m = new Map()));
    m.set(x.userId, x.newRating);
  });
  return { events, challenges: info, recorded };
}

/**
 * Marathon Match: the type, whatever track it was imported under, plus `alsoIds` (a rerate adds the challenges
 * its Marathon Match history already names, whatever their type).
 */
export async function marathonEvents(
  dbs: Databases,
  catalog: Catalog,
  policy: MissingRatedPolicy,
  alsoIds: string[] = [],
  scope: Where = ALL,
): Promise<RatedStream> {
  const challenges = await completedChallenges(dbs, sql`(${marathonTyped(catalog)} OR id = ANY(${alsoIds}::uuid[])) AND (${scope})`);
  const ids = challenges.map((c) => c.challengeId);
  const [meta, results, subs] = await Promise.all([
    metadataOf(dbs, ids),
    resultsOf(dbs, ids),
    sql<SubmissionRow>`
      SELECT id::text AS id, "challengeId", "memberId", status, "finalScore", "submittedDate" FROM reviews.submission
      WHERE "challengeId" = ANY(${ids}::text[])`.execute(dbs.reviews),
  ]);
  const sums = await sql<ReviewSummationRow>`
    SELECT id::text AS id, "submissionId"::text AS "submissionId", "aggregateScore", "isFinal", "createdAt" FROM reviews."reviewSummation"
    WHERE "submissionId" = ANY(${subs.rows.map((s) => s.id)}::uuid[])`.execute(dbs.reviews);
  const subsBy = group(subs.rows, (s) => s.challengeId ?? '');
  const subChallenge = new Map(subs.rows.map((s) => [s.id, s.challengeId ?? '']));
  const sumsBy = group(sums.rows, (s) => subChallenge.get(s.submissionId) ?? '');
  return build(
    challenges,
    (c) => isChallengeRated(meta.get(c.challengeId) ?? [], policy),
    (c) =>
      marathonParticipants(
        c.challengeId,
        subsBy.get(c.challengeId) ?? [],
        sumsBy.get(c.challengeId) ?? [],
        results.get(c.challengeId) ?? [],
      ),
  );
}

function group<T>(rows: readonly T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}
