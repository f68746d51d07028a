import { TRACKS, TYPES } from '../catalog';
import { competitionPlacements } from './placement';

/**
 * Who is rated: pure functions over source rows (reviews/challenges schemas). See README.md for the decisions.
 */

export interface ChallengeRow {
  id: string;
  name: string;
  typeId: string;
  trackId: string;
  status: string;
  legacyId: number | null;
  endDate: Date | null;
}

export interface ChallengeMetadataRow {
  challengeId: string;
  name: string;
  value: string | null;
}

export interface ChallengeResultRow {
  challengeId: string;
  userId: string;
  placement: number | null;
  finalScore: number | null;
  validSubmission: boolean | null;
}

export interface SubmissionRow {
  id: string;
  challengeId: string | null;
  memberId: string | null;
  status: string | null;
  finalScore: number | null;
  submittedDate: Date | null;
}

export interface ReviewSummationRow {
  id: string;
  submissionId: string;
  aggregateScore: number | null;
  isFinal: boolean | null;
  createdAt: Date;
}

/** One participant of a rated event: the score the engine ranks by, and its competition placement. */
export interface RatedParticipantRow {
  userId: string;
  score: number;
  placement: number;
}

export type RatingStream = 'DEVELOPMENT' | 'MARATHON_MATCH';
export type MissingRatedPolicy = 'rated' | 'unrated';

/**
 * Missing metadata means rated. member-api-v6 (which owns ratings after the cutover) says so, and most migrated
 * legacy challenges predate the flag while legacy ratings include them: 'unrated' would silently drop most of
 * the history from every rerate. Operators pass 'unrated' explicitly to reproduce the other service.
 */
export const DEFAULT_MISSING_RATED_POLICY: MissingRatedPolicy = 'rated';

/** Names the source gives tracks and types, resolved by id (never assumed from fixed ids). */
export interface CatalogLookup {
  trackName(trackId: string): string | undefined;
  typeName(typeId: string): string | undefined;
}

export function catalogLookup(
  tracks: readonly { id: string; track: string }[],
  types: readonly { id: string; name: string }[],
): CatalogLookup {
  const trackById = new Map(tracks.map((t) => [t.id, t.track]));
  const typeById = new Map(types.map((t) => [t.id, t.name]));
  return { trackName: (id) => trackById.get(id), typeName: (id) => typeById.get(id) };
}

/** The catalogue of domain/catalog.ts — for tests and seeds; production builds one from ChallengeTrack/Type. */
export const CATALOG_LOOKUP = catalogLookup(TRACKS, TYPES);

/** 'Marathon Match' ≡ 'MARATHON_MATCH' ≡ 'marathon-match'. */
function norm(name: string | undefined): string {
  return (name ?? '')
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, '_');
}

/**
 * Which rating stream a challenge feeds, by type and track only: Marathon Match type whatever its track (some
 * were imported under Development); Development track with type Challenge or legacy CODE; otherwise none.
 */
export function ratingStream(challenge: Pick<ChallengeRow, 'typeId' | 'trackId'>, lookup: CatalogLookup): RatingStream | null {
  const type = norm(lookup.typeName(challenge.typeId));
  if (type === 'MARATHON_MATCH') return 'MARATHON_MATCH';
  if (norm(lookup.trackName(challenge.trackId)) === 'DEVELOPMENT' && (type === 'CHALLENGE' || type === 'CODE')) {
    return 'DEVELOPMENT';
  }
  return null;
}

function parseFlag(value: string | null): boolean | undefined {
  const v = (value ?? '').trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return undefined;
}

/**
 * Is a challenge rated, from its metadata rows: `rated` / `isRated` / `is_rated` (true/false/1/0, any case) and
 * `unrated` (inverted); names case-insensitive. Unparseable values count as absent. Conflicts (any signal says
 * unrated and another says rated) → unrated: a false "rated" rewrites many members' ratings, a false "unrated"
 * only delays one challenge until the metadata is fixed and a rerate runs. No usable signal → `policy`.
 */
export function isChallengeRated(metadata: readonly Pick<ChallengeMetadataRow, 'name' | 'value'>[], policy: MissingRatedPolicy): boolean {
  let rated = false;
  let unrated = false;
  for (const m of metadata) {
    const name = norm(m.name);
    const flag = parseFlag(m.value);
    if (flag === undefined) continue;
    if (name === 'RATED' || name === 'ISRATED' || name === 'IS_RATED') {
      if (flag) rated = true;
      else unrated = true;
    } else if (name === 'UNRATED') {
      if (flag) unrated = true;
      else rated = true;
    }
  }
  if (unrated) return false;
  if (rated) return true;
  return policy === 'rated';
}

/**
 * The stream a challenge is rated in, or null when it is not rated: a Development/MM challenge that is COMPLETED,
 * has an end date (the replay orders by it) and is rated per its metadata.
 */
export function ratedStreamOf(
  challenge: ChallengeRow,
  metadata: readonly ChallengeMetadataRow[],
  policy: MissingRatedPolicy,
  lookup: CatalogLookup,
): RatingStream | null {
  const stream = ratingStream(challenge, lookup);
  if (stream === null) return null;
  if (challenge.status.trim().toUpperCase() !== 'COMPLETED') return null;
  if (challenge.endDate === null || !Number.isFinite(challenge.endDate.getTime())) return null;
  const own = metadata.filter((m) => m.challengeId === challenge.id);
  return isChallengeRated(own, policy) ? stream : null;
}

/** A finite number or null (Postgres double precision can hold NaN and ±Infinity). */
function finite(x: number | null | undefined): number | null {
  return x !== null && x !== undefined && Number.isFinite(x) ? x : null;
}

function positivePlacement(x: number | null): number | null {
  return x !== null && Number.isInteger(x) && x > 0 ? x : null;
}

function withPlacements(rows: { userId: string; score: number }[]): RatedParticipantRow[] {
  const placements = competitionPlacements(rows.map((r) => r.score));
  return rows
    .map((r, i) => ({ ...r, placement: placements[i]! }))
    .sort((a, b) => a.placement - b.placement || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
}

/**
 * Development participants of one challenge from its challengeResult rows: validSubmission = false dropped;
 * kept when placement > 0 or finalScore > 0; score = finalScore when present (finite), else −placement.
 * The primary key makes userId unique per challenge; should a duplicate appear, the higher score is kept.
 */
export function developmentParticipants(challengeId: string, results: readonly ChallengeResultRow[]): RatedParticipantRow[] {
  const best = new Map<string, number>();
  for (const row of results) {
    if (row.challengeId !== challengeId || row.validSubmission === false || row.userId.trim() === '') continue;
    const placement = positivePlacement(finite(row.placement));
    const finalScore = finite(row.finalScore);
    if (placement === null && !(finalScore !== null && finalScore > 0)) continue;
    const score = finalScore ?? -placement!;
    const prior = best.get(row.userId);
    if (prior === undefined || score > prior) best.set(row.userId, score);
  }
  return withPlacements([...best].map(([userId, score]) => ({ userId, score })));
}

export const MM_SUBMISSION_STATUSES: readonly string[] = ['ACTIVE', 'COMPLETED_WITHOUT_WIN', 'FAILED_REVIEW'];

/** A usable Marathon Match score: > 0. The sources write 0 and −1 as "no score" placeholders. */
function usableScore(x: number | null): number | null {
  const v = finite(x);
  return v !== null && v > 0 ? v : null;
}

/** Latest summation per submission among those not explicitly non-final: createdAt, then id, greatest wins. */
export function latestFinalSummations(summations: readonly ReviewSummationRow[]): Map<string, ReviewSummationRow> {
  const latest = new Map<string, ReviewSummationRow>();
  for (const s of summations) {
    if (s.isFinal === false) continue;
    const cur = latest.get(s.submissionId);
    const t = s.createdAt.getTime();
    if (!cur || t > cur.createdAt.getTime() || (t === cur.createdAt.getTime() && s.id > cur.id)) latest.set(s.submissionId, s);
  }
  return latest;
}

interface MmCandidate {
  userId: string;
  score: number | null;
  placement: number | null;
  submittedAt: number;
  submissionId: string;
}

function timeOrEarliest(d: Date | null): number {
  const t = d?.getTime();
  return t !== undefined && Number.isFinite(t) ? t : Number.MIN_SAFE_INTEGER;
}

/** Better standing for one member's submissions: usable score (higher), then later submission, then greater id. */
function betterCandidate(a: MmCandidate, b: MmCandidate): boolean {
  if (a.score !== b.score) return b.score === null || (a.score !== null && a.score > b.score);
  if (a.submittedAt !== b.submittedAt) return a.submittedAt > b.submittedAt;
  return a.submissionId > b.submissionId;
}

/**
 * Marathon Match participants of one challenge. A submission counts when its status is one of
 * MM_SUBMISSION_STATUSES and it has a latest final summation (see latestFinalSummations). Its score is the first
 * usable of aggregateScore, submission.finalScore, the member's challengeResult.finalScore (0/−1 placeholders and
 * non-finite values are "no score"). A member with several submissions is represented by the best one
 * (betterCandidate). The member's placement is challengeResult.placement > 0 (rows with validSubmission = false
 * ignored). Members with neither a usable score nor a placement are not final standings and are left out.
 * Ranking score: −placement when every participant has a placement (the official standings); otherwise the usable
 * score, and −placement for members without one (they rank below every scored member, in placement order).
 */
export function marathonParticipants(
  challengeId: string,
  submissions: readonly SubmissionRow[],
  summations: readonly ReviewSummationRow[],
  results: readonly ChallengeResultRow[],
): RatedParticipantRow[] {
  const latest = latestFinalSummations(summations);
  const resultByUser = new Map<string, ChallengeResultRow>();
  for (const r of results) if (r.challengeId === challengeId && r.validSubmission !== false) resultByUser.set(r.userId, r);

  const best = new Map<string, MmCandidate>();
  for (const sub of submissions) {
    const userId = sub.memberId?.trim() ?? '';
    if (sub.challengeId !== challengeId || userId === '') continue;
    if (!MM_SUBMISSION_STATUSES.includes((sub.status ?? '').trim().toUpperCase())) continue;
    const summation = latest.get(sub.id);
    if (!summation) continue;
    const result = resultByUser.get(userId);
    const candidate: MmCandidate = {
      userId,
      score: usableScore(summation.aggregateScore) ?? usableScore(sub.finalScore) ?? usableScore(result?.finalScore ?? null),
      placement: positivePlacement(finite(result?.placement)),
      submittedAt: timeOrEarliest(sub.submittedDate),
      submissionId: sub.id,
    };
    if (candidate.score === null && candidate.placement === null) continue;
    const cur = best.get(userId);
    if (!cur || betterCandidate(candidate, cur)) best.set(userId, candidate);
  }

  const candidates = [...best.values()];
  const allPlaced = candidates.length > 0 && candidates.every((c) => c.placement !== null);
  return withPlacements(candidates.map((c) => ({ userId: c.userId, score: allPlaced || c.score === null ? -c.placement! : c.score })));
}

const MM_ROUND = /(?:MM|Marathon Match)\s*#?\s*([0-9]+)/i;

/** Marathon Match round number from a challenge name ("MM 145" ≡ "Marathon Match #145"), or null. */
export function marathonRoundNumber(name: string): number | null {
  const m = MM_ROUND.exec(name);
  const round = m ? Number(m[1]) : NaN;
  // An absurdly long digit run is no round number (and must not become Infinity).
  return Number.isSafeInteger(round) ? round : null;
}
