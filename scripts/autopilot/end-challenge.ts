import { sql, type Kysely, type Transaction } from 'kysely';
import { developmentParticipants, isChallengeRated, marathonParticipants } from '../../domain/rating/participants';
import type { HistoryRow } from '../../domain/rating/replay';
import type { Databases } from '../../store/db';
import { applyLegacyEvent } from '../seed/legacy-rating';
import { projectName } from '../seed/names';
import { Rng } from '../seed/prng';
import { ANOMALY_RATES, HAND_CORRECTION_RATE, MS, type ChallengeKind, type StatsItem } from '../seed/profile';
import { kindOf, pickKind, streamOf, type Stream } from './kinds';
import { ensureLedger, lastRatingOrder, ledgerEntry, recordEnding } from './ledger';
import { legacyStates, writeLegacy } from './legacy';
import { playOutcome, type Outcome, type WinnerRow } from './outcome';
import { drawParticipants, loadPopulation, type MemberPopulation } from './population';

/**
 * Ending a challenge the way the platform does, in the source databases: the challenge becomes COMPLETED with its
 * end date now, its results land in the review database (challengeResult; Marathon Matches also submission and
 * reviewSummation), its winners in ChallengeWinner, and the legacy pipeline updates the legacy member stats and
 * history tables, rating the event the old way when it is rated (scripts/seed/legacy-rating.ts). Without an ACTIVE
 * challenge left, a new one is opened the way the seed's calendar plans them and ended at once.
 *
 * Order and atomicity. One ending at a time: a transaction on the challenges database takes the autopilot's
 * advisory lock, picks the challenge (FOR UPDATE) and gives it an end date strictly after every completed one, so
 * challenges end — and become visible as COMPLETED — in end-date order (a reconciler keyed on (endDate, id) never
 * sees one appear behind its high-water mark). Inside it, the results are written (review database), then the
 * legacy rows and the ledger entry (members database, ledger.ts), and COMPLETED is written last, when everything it
 * implies is in place. Where the databases are one, that is one transaction. Where they are separate, a crash
 * between commits is repaired by ending the challenge again: partial results are replaced, and the ledger keeps
 * the legacy counts from going up twice and supplies the end date and winners that were applied.
 *
 * Idempotent: a challenge already COMPLETED is not touched (`alreadyEnded`).
 */

export type StreamName = 'DEVELOPMENT' | 'MARATHON_MATCH' | 'SRM';

const STREAM_NAMES: Record<Stream, StreamName> = { DEV: 'DEVELOPMENT', MM: 'MARATHON_MATCH', SRM: 'SRM' };

export interface EndedChallenge {
  challengeId: string;
  legacyId: number;
  name: string;
  trackId: string;
  typeId: string;
  /** the seed's kind key (dev, mm, design, …) */
  kind: string;
  endDate: Date;
  /** opened by this call because no ACTIVE challenge was left */
  created: boolean;
  /** it was COMPLETED already: nothing was written */
  alreadyEnded: boolean;
  /** user ids of everyone with a result, in placement order */
  participants: number[];
  /** ChallengeWinner rows written: user ids in placement order */
  winners: number[];
  /** a rating stream's challenge, rated per its metadata (none = rated, as the legacy system rated it) */
  rated: boolean;
  stream: StreamName | null;
  /** members the legacy pipeline rated in this event */
  ratedMembers: number;
  /** legacy item rows written (updated or added) and legacy history rows added */
  legacy: { items: number; history: number };
}

export interface EndOptions {
  /** end this challenge (must be ACTIVE, or COMPLETED for a no-op); default: the ACTIVE one due first */
  challengeId?: string;
  /** the seed's kind key of a challenge opened because none is ACTIVE (default: drawn like the calendar's mix) */
  kind?: string;
  /** the randomness of this ending (default: from `seed`, else from the clock) */
  rng?: Rng;
  seed?: number;
  /** the clock (ms); the end date is max(now, latest completed end + 1 ms) */
  now?: () => number;
  /** administrators' hand corrections of legacy ratings, per rating (default: the seed's rate) */
  handCorrectionRate?: number;
}

/** The ledger's record of an applied ending: enough to finish it after a crash. */
interface EndingRecord {
  kind: string;
  participants: number[];
  winners: WinnerRow[];
  rated: boolean;
  ratedMembers: number;
  legacy: { items: number; history: number };
}

interface ChallengeRowDb {
  id: string;
  name: string;
  typeId: string;
  trackId: string;
  status: string;
  legacyId: number | null;
  startDate: Date | null;
  endDate: Date | null;
}

interface CatalogNames {
  typeName: Map<string, string>;
  trackName: Map<string, string>;
  typeId: Map<string, string>;
  trackId: Map<string, string>;
}

interface Context {
  catalog?: Promise<CatalogNames>;
  population?: Promise<MemberPopulation>;
  seededOrder: Map<Stream, Promise<number>>;
  /** this process's endings, one after the other: a caller waits here, not on the lock holding a pooled connection */
  queue: Promise<unknown>;
}

const contexts = new WeakMap<Databases, Context>();
function contextOf(dbs: Databases): Context {
  let c = contexts.get(dbs);
  if (!c) contexts.set(dbs, (c = { seededOrder: new Map(), queue: Promise.resolve() }));
  return c;
}

function serially<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  const run = ctx.queue.then(fn, fn);
  ctx.queue = run.catch(() => undefined);
  return run;
}

/** A per-process load, shared by every ending; forgotten when it fails so the next ending tries again. */
function once<K extends 'catalog' | 'population'>(ctx: Context, key: K, load: () => NonNullable<Context[K]>): NonNullable<Context[K]> {
  let p = ctx[key];
  if (!p) {
    const loaded = load();
    loaded.catch(() => (ctx[key] = undefined));
    ctx[key] = loaded;
    p = loaded;
  }
  return p as NonNullable<Context[K]>;
}

/** Serialises endings across processes (pg_advisory_xact_lock key). */
export const AUTOPILOT_LOCK = 4_242_001_717;

const CHALLENGE_COLUMNS = sql`c.id::text AS id, c.name, c."typeId"::text AS "typeId", c."trackId"::text AS "trackId", c.status, c."legacyId", c."startDate", c."endDate"`;

async function loadCatalog(db: Kysely<any>): Promise<CatalogNames> {
  const [types, tracks] = await Promise.all([
    sql<{ id: string; name: string }>`SELECT id::text AS id, name FROM challenges."ChallengeType"`.execute(db),
    sql<{ id: string; track: string }>`SELECT id::text AS id, track FROM challenges."ChallengeTrack"`.execute(db),
  ]);
  return {
    typeName: new Map(types.rows.map((t) => [t.id, t.name])),
    trackName: new Map(tracks.rows.map((t) => [t.id, t.track])),
    typeId: new Map(types.rows.map((t) => [t.name, t.id])),
    trackId: new Map(tracks.rows.map((t) => [t.track, t.id])),
  };
}

/** The latest end date of a completed challenge: per (type, track) through the (typeId, trackId, status, endDate) index. */
async function latestCompletedEnd(tx: Kysely<any>): Promise<number> {
  const r = await sql<{ t: Date | null }>`
    SELECT max(m.e) AS t FROM challenges."ChallengeType" ty CROSS JOIN challenges."ChallengeTrack" tr
    CROSS JOIN LATERAL (
      SELECT max(c."endDate") AS e FROM challenges."Challenge" c
      WHERE c."typeId" = ty.id AND c."trackId" = tr.id AND c.status = 'COMPLETED') m`.execute(tx);
  return r.rows[0]?.t?.getTime() ?? 0;
}

/** The ACTIVE challenge due first (same index), locked. */
async function nextActive(tx: Kysely<any>): Promise<ChallengeRowDb | undefined> {
  const r = await sql<{ id: string }>`
    SELECT a.id FROM challenges."ChallengeType" ty CROSS JOIN challenges."ChallengeTrack" tr
    CROSS JOIN LATERAL (
      SELECT c.id, c."endDate" FROM challenges."Challenge" c
      WHERE c."typeId" = ty.id AND c."trackId" = tr.id AND c.status = 'ACTIVE'
      ORDER BY c."endDate" NULLS LAST, c.id LIMIT 1) a
    ORDER BY a."endDate" NULLS LAST, a.id LIMIT 1`.execute(tx);
  const id = r.rows[0]?.id;
  return id === undefined ? undefined : lockChallenge(tx, id);
}

async function lockChallenge(tx: Kysely<any>, id: string): Promise<ChallengeRowDb | undefined> {
  const r =
    await sql<ChallengeRowDb>`SELECT ${CHALLENGE_COLUMNS} FROM challenges."Challenge" c WHERE c.id = ${id}::uuid FOR UPDATE`.execute(tx);
  return r.rows[0];
}

/** The next id of a challenges-database table with a BIGINT id and no sequence (the caller holds the lock). */
async function nextIds(tx: Kysely<any>, table: 'ChallengeMetadata' | 'ChallengeWinner'): Promise<() => number> {
  const r = await sql<{ id: number }>`SELECT COALESCE(max(id), 0)::bigint AS id FROM ${sql.table(`challenges.${table}`)}`.execute(tx);
  let next = r.rows[0]!.id;
  return () => ++next;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Opens a challenge the way the seed's calendar plans one (calendar.ts planChallenges): a kind from the live mix,
 * legacyId after the largest, "Marathon Match N" after the latest round (misfiled under Development at the seed's
 * rate), SRMs "SRM N", project-style names otherwise ("F2F - …", "Task - …"), rating metadata named rated / isRated /
 * unrated or missing at the seed's rate, a submission limit on some. Status ACTIVE, running [startAt, endAt].
 */
async function openChallenge(
  tx: Kysely<any>,
  catalog: CatalogNames,
  rng: Rng,
  kind: ChallengeKind,
  startAt: number,
  endAt: number,
  createdAt: number,
): Promise<ChallengeRowDb> {
  const typeId = catalog.typeId.get(kind.type);
  const ownTrack = catalog.trackId.get(kind.track);
  const devTrack = catalog.trackId.get('DEVELOPMENT');
  if (!typeId || !ownTrack || !devTrack)
    throw new Error(`the challenges database has no ChallengeType "${kind.type}" or ChallengeTrack "${kind.track}"`);
  const legacy = await sql<{ id: number }>`SELECT COALESCE(max("legacyId"), 30000000)::bigint AS id FROM challenges."Challenge"`.execute(
    tx,
  );
  const legacyId = legacy.rows[0]!.id + rng.int(1, 12);
  let name: string;
  let trackId = ownTrack;
  if (kind.score === 'marathon' || kind.score === 'srm') {
    const pattern = kind.score === 'marathon' ? '^(?:Marathon Match|MM)\\s*#?\\s*([0-9]{1,9})$' : '^SRM\\s*#?\\s*([0-9]{1,9})$';
    const r = await sql<{ n: number | null }>`
      SELECT max((regexp_match(name, ${pattern}, 'i'))[1]::int) AS n FROM challenges."Challenge" WHERE "typeId" = ${typeId}::uuid`.execute(
      tx,
    );
    const round = (r.rows[0]?.n ?? (kind.score === 'srm' ? 199 : 0)) + 1;
    name = kind.score === 'marathon' ? `Marathon Match ${round}` : `SRM ${round}`;
    if (kind.score === 'marathon' && rng.chance(ANOMALY_RATES.marathonMatchUnderDevelopmentTrack)) trackId = devTrack;
  } else {
    const prefix = kind.type === 'First2Finish' ? 'F2F - ' : kind.type === 'Task' ? 'Task - ' : '';
    name = prefix + projectName(rng);
  }
  // keyed by the new legacyId: the same seed on a database that moved on never repeats an id
  const id = rng.fork(`challenge/${legacyId}`).uuid();
  const missing = rng.chance(ANOMALY_RATES.challengeNoRatingMetadata);
  const rated = kind.ratedShare > 0 && (missing || rng.chance(kind.ratedShare));
  const variant = rng.weighted([0.6, 0.25, 0.15]);
  const metaName = variant === 0 ? 'rated' : variant === 1 ? 'isRated' : 'unrated';
  await sql`
    INSERT INTO challenges."Challenge" (id, name, "typeId", "trackId", status, "legacyId", "startDate", "endDate", "createdAt", "updatedAt")
    VALUES (${id}::uuid, ${name}, ${typeId}::uuid, ${trackId}::uuid, 'ACTIVE', ${legacyId}, ${new Date(startAt)}, ${new Date(endAt)},
            ${new Date(createdAt)}, ${new Date(Math.max(createdAt, startAt))})`.execute(tx);
  const metadata: [string, string][] = [];
  if (!missing) metadata.push([metaName, metaName === 'unrated' ? String(!rated) : String(rated)]);
  if (rng.chance(0.3))
    metadata.push(['submissionLimit', JSON.stringify({ unlimited: 'false', limit: 'true', count: String(rng.int(1, 5)) })]);
  if (metadata.length > 0) {
    const next = await nextIds(tx, 'ChallengeMetadata');
    const rows = metadata.map(([n, v]) => ({ id: next(), name: n, value: v }));
    await sql`
      INSERT INTO challenges."ChallengeMetadata" (id, "challengeId", name, value)
      SELECT x.id, ${id}::uuid, x.name, x.value FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(id bigint, name text, value text)`.execute(
      tx,
    );
  }
  return {
    id,
    name,
    typeId,
    trackId,
    status: 'ACTIVE',
    legacyId,
    startDate: new Date(startAt),
    endDate: new Date(endAt),
  };
}

function defaultRng(opts: { rng?: Rng; seed?: number }, label: string): Rng {
  if (opts.rng) return opts.rng;
  const seed = opts.seed ?? (Date.now() ^ (process.pid << 16)) & 0x7fffffff;
  return new Rng(seed, `autopilot/${label}`);
}

export interface OpenedChallenge {
  challengeId: string;
  legacyId: number;
  name: string;
  typeId: string;
  trackId: string;
  kind: string;
  startDate: Date;
  endDate: Date;
}

/**
 * Opens a new ACTIVE challenge (calendar-like, see openChallenge) running from now for the kind's usual duration.
 * The platform opens challenges all the time; tests use it to have an ACTIVE challenge of a known kind to end.
 */
export async function openActiveChallenge(
  dbs: Databases,
  opts: { kind?: string; rng?: Rng; seed?: number; now?: () => number } = {},
): Promise<OpenedChallenge> {
  const rng = defaultRng(opts, 'open');
  const ctx = contextOf(dbs);
  const catalog = await once(ctx, 'catalog', () => loadCatalog(dbs.challenges));
  const kind = pickKind(rng, opts.kind);
  const now = (opts.now ?? Date.now)();
  const [lo, hi] = kind.durationDays;
  const endAt = Math.floor(now + rng.uniform(lo, hi) * MS.DAY);
  return serially(ctx, () =>
    dbs.challenges.transaction().execute(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(${AUTOPILOT_LOCK})`.execute(tx);
      const c = await openChallenge(tx, catalog, rng, kind, now, endAt, now);
      return {
        challengeId: c.id,
        legacyId: c.legacyId!,
        name: c.name,
        typeId: c.typeId,
        trackId: c.trackId,
        kind: kind.key,
        startDate: c.startDate!,
        endDate: c.endDate!,
      };
    }),
  );
}

/** The largest ratingOrder the seeded (pre-autopilot) results of a stream carry: read once per process. */
async function seededRatingOrder(challenges: Kysely<any>, reviews: Kysely<any>, catalog: CatalogNames, stream: Stream): Promise<number> {
  const typeNames = stream === 'DEV' ? ['Challenge', 'CODE'] : stream === 'MM' ? ['Marathon Match'] : ['SRM'];
  const typeIds = typeNames.map((n) => catalog.typeId.get(n)).filter((x): x is string => x !== undefined);
  const track = stream === 'DEV' ? (catalog.trackId.get('DEVELOPMENT') ?? null) : null;
  const ids = await sql<{ id: string }>`
    SELECT id::text AS id FROM challenges."Challenge"
    WHERE "typeId" = ANY(${typeIds}::uuid[]) AND (${track}::uuid IS NULL OR "trackId" = ${track}::uuid)`.execute(challenges);
  const r = await sql<{ n: number | null }>`
    SELECT max("ratingOrder") AS n FROM reviews."challengeResult" WHERE "challengeId" = ANY(${ids.rows.map((x) => x.id)}::text[])`.execute(
    reviews,
  );
  return r.rows[0]?.n ?? 0;
}

/** Runs `fn` in `outer` when `db` is the same database handle, else in a transaction of its own. */
function within<T>(db: Kysely<any>, outer: Transaction<any>, owner: Kysely<any>, fn: (tx: Kysely<any>) => Promise<T>): Promise<T> {
  return db === owner ? fn(outer) : db.transaction().execute(fn);
}

async function writeResults(
  tx: Kysely<any>,
  challengeId: string,
  outcome: Outcome,
  rated: ReadonlyMap<string, HistoryRow>,
  ratingOrder: number | null,
  endAt: number,
): Promise<void> {
  // leftovers of an ending that crashed before its COMPLETED commit (an ACTIVE challenge has no results)
  await sql`DELETE FROM reviews."reviewSummation" WHERE "submissionId" IN (SELECT id FROM reviews.submission WHERE "challengeId" = ${challengeId})`.execute(
    tx,
  );
  await sql`DELETE FROM reviews.submission WHERE "challengeId" = ${challengeId}`.execute(tx);
  await sql`DELETE FROM reviews."challengeResult" WHERE "challengeId" = ${challengeId}`.execute(tx);
  const at = new Date(endAt).toISOString();
  const results = outcome.results.map((r) => {
    const h = rated.get(r.userId);
    return {
      userId: r.userId,
      handle: r.handle,
      placement: r.placement,
      finalScore: r.finalScore,
      rated: h !== undefined,
      passedReview: r.passedReview,
      validSubmission: r.validSubmission,
      oldRating: h?.oldRating ?? null,
      newRating: h?.newRating ?? null,
      ratingOrder: h ? ratingOrder : null,
    };
  });
  if (results.length > 0) {
    await sql`
      INSERT INTO reviews."challengeResult" ("challengeId", "userId", handle, placement, "finalScore", rated, "passedReview", "validSubmission",
                                             "oldRating", "newRating", "ratingOrder", "createdAt", "updatedAt")
      SELECT ${challengeId}, x."userId", x.handle, x.placement, x."finalScore", x.rated, x."passedReview", x."validSubmission",
             x."oldRating", x."newRating", x."ratingOrder", ${at}::timestamptz, ${at}::timestamptz
      FROM jsonb_to_recordset(${JSON.stringify(results)}::jsonb) AS x("userId" text, handle text, placement int, "finalScore" float8, rated boolean,
           "passedReview" boolean, "validSubmission" boolean, "oldRating" int, "newRating" int, "ratingOrder" int)`.execute(tx);
  }
  if (outcome.submissions.length > 0) {
    const subs = outcome.submissions.map((s) => ({
      id: s.id,
      memberId: s.memberId,
      status: s.status,
      finalScore: s.finalScore,
      submittedDate: s.submittedDate.toISOString(),
    }));
    await sql`
      INSERT INTO reviews.submission (id, "challengeId", "memberId", status, type, "finalScore", "submittedDate")
      SELECT x.id, ${challengeId}, x."memberId", x.status, 'CONTEST_SUBMISSION', x."finalScore", x."submittedDate"
      FROM jsonb_to_recordset(${JSON.stringify(subs)}::jsonb) AS x(id uuid, "memberId" text, status text, "finalScore" float8, "submittedDate" timestamptz)`.execute(
      tx,
    );
  }
  if (outcome.summations.length > 0) {
    const sums = outcome.summations.map((s) => ({
      id: s.id,
      submissionId: s.submissionId,
      aggregateScore: s.aggregateScore,
      isPassing: s.isPassing,
      isFinal: s.isFinal,
      at: s.createdAt.toISOString(),
    }));
    await sql`
      INSERT INTO reviews."reviewSummation" (id, "submissionId", "aggregateScore", "isPassing", "isFinal", "reviewedDate", "createdAt")
      SELECT x.id, x."submissionId", x."aggregateScore", x."isPassing", x."isFinal", x.at, x.at
      FROM jsonb_to_recordset(${JSON.stringify(sums)}::jsonb) AS x(id uuid, "submissionId" uuid, "aggregateScore" float8, "isPassing" boolean,
           "isFinal" boolean, at timestamptz)`.execute(tx);
  }
}

async function writeWinners(tx: Kysely<any>, challengeId: string, winners: readonly WinnerRow[]): Promise<void> {
  await sql`DELETE FROM challenges."ChallengeWinner" WHERE "challengeId" = ${challengeId}::uuid`.execute(tx);
  if (winners.length === 0) return;
  const next = await nextIds(tx, 'ChallengeWinner');
  const rows = winners.map((w) => ({ id: next(), ...w }));
  await sql`
    INSERT INTO challenges."ChallengeWinner" (id, "challengeId", "userId", handle, placement, type)
    SELECT x.id, ${challengeId}::uuid, x."userId", x.handle, x.placement, x.type
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(id bigint, "userId" int, handle text, placement int, type text)`.execute(
    tx,
  );
}

async function alreadyEnded(
  challenges: Kysely<any>,
  reviews: Kysely<any>,
  c: ChallengeRowDb,
  catalog: CatalogNames,
): Promise<EndedChallenge> {
  const results = await sql<{ userId: string; rated: boolean | null }>`
    SELECT "userId", rated FROM reviews."challengeResult" WHERE "challengeId" = ${c.id} ORDER BY placement NULLS LAST, "userId"`.execute(
    reviews,
  );
  const winners = await sql<{ userId: number }>`
    SELECT "userId" FROM challenges."ChallengeWinner" WHERE "challengeId" = ${c.id}::uuid ORDER BY placement, "userId"`.execute(challenges);
  const meta = await sql<{ name: string; value: string }>`
    SELECT name, value FROM challenges."ChallengeMetadata" WHERE "challengeId" = ${c.id}::uuid`.execute(challenges);
  const kind = kindOf(catalog.typeName.get(c.typeId) ?? '', catalog.trackName.get(c.trackId) ?? '');
  const stream = streamOf(kind);
  return {
    challengeId: c.id,
    legacyId: c.legacyId ?? 0,
    name: c.name,
    trackId: c.trackId,
    typeId: c.typeId,
    kind: kind.key,
    endDate: c.endDate!,
    created: false,
    alreadyEnded: true,
    participants: results.rows.map((r) => Number(r.userId)),
    winners: winners.rows.map((w) => w.userId),
    rated: stream !== null && kind.ratedShare > 0 && isChallengeRated(meta.rows, 'rated'),
    stream: stream ? STREAM_NAMES[stream] : null,
    ratedMembers: results.rows.filter((r) => r.rated).length,
    legacy: { items: 0, history: 0 },
  };
}

/** Ends one challenge now (see the module comment). */
export async function endChallenge(dbs: Databases, opts: EndOptions = {}): Promise<EndedChallenge> {
  if (opts.challengeId !== undefined && !UUID.test(opts.challengeId))
    throw new Error(`challenge id must be a UUID, got "${opts.challengeId}"`);
  const endingRng = defaultRng(opts, 'end');
  const clock = opts.now ?? Date.now;
  const ctx = contextOf(dbs);
  await ensureLedger(dbs.members);
  const catalog = await once(ctx, 'catalog', () => loadCatalog(dbs.challenges));
  const population = await once(ctx, 'population', () => loadPopulation(dbs, clock()));

  const outcome = await serially(ctx, () =>
    dbs.challenges.transaction().execute(async (ctrx): Promise<EndedChallenge | { done: EndedChallenge }> => {
      // the other databases through this transaction when they are this database (never a second pooled connection)
      const on = (db: Kysely<any>) => (db === dbs.challenges ? ctrx : db);
      await sql`SELECT pg_advisory_xact_lock(${AUTOPILOT_LOCK})`.execute(ctrx);
      let c = opts.challengeId !== undefined ? await lockChallenge(ctrx, opts.challengeId) : await nextActive(ctrx);
      if (opts.challengeId !== undefined && !c) throw new Error(`challenge ${opts.challengeId} does not exist`);
      if (c && c.status === 'COMPLETED') return { done: await alreadyEnded(ctrx, on(dbs.reviews), c, catalog) };
      if (c && c.status !== 'ACTIVE') throw new Error(`challenge ${c.id} is ${c.status}: only an ACTIVE challenge can end`);

      const applied = c ? await ledgerEntry(on(dbs.members), c.id) : undefined;
      const endAt = applied ? applied.endDate.getTime() : Math.max(Math.floor(clock()), (await latestCompletedEnd(ctrx)) + 1);
      let created = false;
      let kind: ChallengeKind;
      if (!c) {
        kind = pickKind(endingRng, opts.kind);
        const [lo, hi] = kind.durationDays;
        const startAt = Math.floor(endAt - endingRng.uniform(lo, hi) * MS.DAY);
        c = await openChallenge(ctrx, catalog, endingRng, kind, startAt, endAt, Math.floor(startAt - endingRng.uniform(1, 10) * MS.DAY));
        created = true;
      } else {
        kind = kindOf(catalog.typeName.get(c.typeId) ?? '', catalog.trackName.get(c.trackId) ?? '');
      }
      const challenge = c;
      const typeName = catalog.typeName.get(challenge.typeId) ?? '';
      const legacyId = challenge.legacyId ?? 0;

      let record: EndingRecord;
      if (applied) {
        record = applied.record as EndingRecord;
      } else {
        // the outcome's own stream, keyed by the challenge: its submission and summation ids never repeat across runs
        const rng = endingRng.fork(`outcome/${challenge.id}`);
        const meta = await sql<{ name: string; value: string }>`
        SELECT name, value FROM challenges."ChallengeMetadata" WHERE "challengeId" = ${challenge.id}::uuid`.execute(ctrx);
        const stream = streamOf(kind);
        const rated = stream !== null && kind.ratedShare > 0 && isChallengeRated(meta.rows, 'rated');
        const item: StatsItem = rng.pick(kind.items);
        const startAt = Math.min(challenge.startDate?.getTime() ?? endAt - kind.durationDays[0] * MS.DAY, endAt - MS.HOUR);
        const members = drawParticipants(rng, population, kind, endAt);
        if (members.length === 0) throw new Error('no members to take part: the members database is empty');
        const played = playOutcome(rng, { id: challenge.id, startAt, endAt }, kind, members);

        // the legacy pipeline rates a rated event the old way (legacy-rating.ts), from the members' legacy state
        const history = new Map<string, HistoryRow>();
        let ratingOrder: number | null = null;
        const membersDb = on(dbs.members);
        if (rated && stream) {
          const participants =
            stream === 'MM'
              ? marathonParticipants(challenge.id, played.submissions, played.summations, played.results)
              : developmentParticipants(challenge.id, played.results);
          if (participants.length > 0) {
            const states = await legacyStates(
              membersDb,
              stream,
              participants.map((p) => p.userId),
            );
            const rate = opts.handCorrectionRate ?? HAND_CORRECTION_RATE;
            const rows = applyLegacyEvent({ challengeId: challenge.id, endDate: new Date(endAt), participants }, states, () =>
              rng.chance(rate) ? (rng.chance(0.5) ? 1 : -1) * rng.int(5, 40) : 0,
            );
            for (const h of rows) history.set(h.userId, h);
            let seeded = ctx.seededOrder.get(stream);
            if (!seeded) {
              seeded = seededRatingOrder(ctrx, on(dbs.reviews), catalog, stream);
              seeded.catch(() => ctx.seededOrder.delete(stream));
              ctx.seededOrder.set(stream, seeded);
            }
            ratingOrder = Math.max(await seeded, await lastRatingOrder(membersDb, STREAM_NAMES[stream])) + 1;
          }
        }

        await within(dbs.reviews, ctrx, dbs.challenges, (tx) => writeResults(tx, challenge.id, played, history, ratingOrder, endAt));
        const entries = [...played.entries].sort((a, b) => a.placement - b.placement || Number(a.userId) - Number(b.userId));
        record = {
          kind: kind.key,
          participants: entries.map((e) => Number(e.userId)),
          winners: played.winners,
          rated,
          ratedMembers: history.size,
          legacy: { items: 0, history: 0 },
        };
        await within(dbs.members, ctrx, dbs.challenges, async (tx) => {
          const written = await writeLegacy(tx, {
            challenge: { id: challenge.id, name: challenge.name, legacyId, endAt, item, typeName },
            entries: played.entries,
            stream,
            rated: history,
            rng,
          });
          record.legacy = { items: written.items, history: written.history };
          const ok = await recordEnding(tx, {
            challengeId: challenge.id,
            stream: ratingOrder !== null && stream ? STREAM_NAMES[stream] : null,
            ratingOrder,
            endDate: new Date(endAt),
            record,
          });
          // a concurrent writer recorded it first (the lock makes this unreachable): roll our legacy rows back
          if (!ok) throw new Error(`challenge ${challenge.id}: its legacy rows were applied by another process meanwhile`);
        });
      }

      await writeWinners(ctrx, challenge.id, record.winners);
      await sql`
      UPDATE challenges."Challenge" SET status = 'COMPLETED', "endDate" = ${new Date(endAt)}, "updatedAt" = ${new Date(endAt)}
      WHERE id = ${challenge.id}::uuid`.execute(ctrx);
      const streamKey = streamOf(kind);
      return {
        challengeId: challenge.id,
        legacyId,
        name: challenge.name,
        trackId: challenge.trackId,
        typeId: challenge.typeId,
        kind: record.kind,
        endDate: new Date(endAt),
        created,
        alreadyEnded: false,
        participants: record.participants,
        winners: record.winners.map((w) => w.userId),
        rated: record.rated,
        stream: streamKey ? STREAM_NAMES[streamKey] : null,
        ratedMembers: record.ratedMembers,
        legacy: record.legacy,
      };
    }),
  );
  return 'done' in outcome ? outcome.done : outcome;
}
