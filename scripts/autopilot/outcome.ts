import { competitionPlacements } from '../../domain/rating/placement';
import type { ChallengeResultRow, ReviewSummationRow, SubmissionRow } from '../../domain/rating/participants';
import type { Rng } from '../seed/prng';
import { ANOMALY_RATES, MS, type ChallengeKind } from '../seed/profile';

/**
 * What a challenge leaves behind when it ends: every participant's score and placement, Marathon Match submissions
 * with their review summations, the challengeResult rows as stored and the ChallengeWinner rows. Pure.
 *
 * Copied from scripts/seed/simulate.ts (its `scored`, `marathon`, `addSummations` and `writeWinners` are private
 * methods of the Simulation class): the same score models, submission counts, statuses and winner rules. Two
 * differences, both because the challenge ends now rather than in a replayed past:
 * - anomalies are drawn per row at the seed's rates (simulate.ts spreads them with Injectors across the whole
 *   history, which a single challenge has no use for); at most one per row or submission, as there;
 * - review summations are written during a review phase that ends with the challenge (the seed dates final
 *   summations up to three days after the end date, which here would lie in the future).
 */

export interface Participant {
  userId: number;
  handle: string;
  /** skill on the challenge's track (the simulation's per-track skill; estimated from history here) */
  skill: number;
  /** registration time (ms): no submission before it */
  joinAt: number;
}

export interface Entry {
  userId: string;
  handle: string;
  /** the score the member really earned (challengeResult.finalScore before placeholders) */
  score: number;
  passed: boolean;
  placement: number;
  submittedAt: number;
  submissions: number;
  /** Marathon Match: has a submission the rating rules count */
  eligible: boolean;
}

export type RowAnomaly = 'scorePlaceholder' | 'partialPlacement' | 'invalidSubmission';
export type SubmissionAnomaly = 'deleted' | 'noFinal' | 'superseded' | 'zeroScore';

export interface ResultRow extends ChallengeResultRow {
  handle: string;
  passedReview: boolean;
  anomaly: RowAnomaly | null;
}

export interface StoredSubmission extends SubmissionRow {
  challengeId: string;
  memberId: string;
  status: string;
  submittedDate: Date;
  anomaly: SubmissionAnomaly | null;
}

export interface StoredSummation extends ReviewSummationRow {
  isPassing: boolean;
  reviewedDate: Date;
}

export interface WinnerRow {
  userId: number;
  handle: string;
  placement: number;
  type: 'PLACEMENT' | 'PASSED_REVIEW';
}

export interface Outcome {
  entries: Entry[];
  results: ResultRow[];
  submissions: StoredSubmission[];
  summations: StoredSummation[];
  winners: WinnerRow[];
}

export interface EndingChallenge {
  id: string;
  startAt: number;
  endAt: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** One of several exclusive kinds at their rates, or null (one draw). */
function exclusive<K extends string>(rng: Rng, kinds: readonly (readonly [K, number])[]): K | null {
  let u = rng.next();
  for (const [kind, rate] of kinds) {
    if (u < rate) return kind;
    u -= rate;
  }
  return null;
}

const ROW_ANOMALIES: readonly (readonly [RowAnomaly, number])[] = [
  ['scorePlaceholder', ANOMALY_RATES.scorePlaceholder],
  ['partialPlacement', ANOMALY_RATES.partialPlacement],
  ['invalidSubmission', ANOMALY_RATES.invalidSubmission],
];
const SUBMISSION_ANOMALIES: readonly (readonly [SubmissionAnomaly, number])[] = [
  ['deleted', ANOMALY_RATES.submissionDeleted],
  ['noFinal', ANOMALY_RATES.summationNoFinal],
  ['superseded', ANOMALY_RATES.summationSupersededFinal],
  ['zeroScore', ANOMALY_RATES.summationZeroScore],
];

/** The review phase closing the challenge: submissions end where it starts. */
function phases(c: EndingChallenge): { submissionEnd: number; reviewSpan: number } {
  const reviewSpan = Math.max(MS.MINUTE, Math.min(72 * MS.HOUR, (c.endAt - c.startAt) / 4));
  return { submissionEnd: c.endAt - reviewSpan, reviewSpan };
}

function submissionTime(rng: Rng, c: EndingChallenge, p: Participant): number {
  const end = phases(c).submissionEnd;
  const earliest = Math.min(Math.max(c.startAt, p.joinAt + MS.HOUR), end - MS.MINUTE);
  return Math.floor(earliest + rng.next() * Math.max(0, end - MS.MINUTE - earliest));
}

/** Review-scored challenges (Development, Design, QA), tasks and SRMs: one score per member (simulate.ts `scored`). */
function scored(rng: Rng, c: EndingChallenge, kind: ChallengeKind, members: Participant[]): Entry[] {
  const model = kind.score;
  const entries = members.map((p): Entry => {
    const perf = p.skill + 0.9 * rng.normal();
    let score: number;
    if (model === 'task') score = 100;
    else if (model === 'srm') score = round2(Math.max(1.5, 300 + 320 * perf));
    else score = round2(25 + 75 / (1 + Math.exp(-(0.9 * perf + 1))));
    const passed = model !== 'review' || score >= 75;
    const submissions = kind.track === 'DESIGN' && rng.chance(0.25) ? 2 : 1;
    return {
      userId: String(p.userId),
      handle: p.handle,
      score,
      passed,
      placement: 0,
      submittedAt: submissionTime(rng, c, p),
      submissions,
      eligible: true,
    };
  });
  const placements = competitionPlacements(entries.map((e) => e.score));
  entries.forEach((e, i) => (e.placement = placements[i]!));
  return entries;
}

/** Provisional and final review summations of one Marathon Match submission (simulate.ts `addSummations`). */
function summationsOf(rng: Rng, c: EndingChallenge, s: StoredSubmission, score: number, passing: boolean): StoredSummation[] {
  const out: StoredSummation[] = [];
  const { submissionEnd, reviewSpan } = phases(c);
  const submitted = s.submittedDate.getTime();
  const add = (aggregateScore: number, isFinal: boolean | null, at: number) => {
    const when = new Date(Math.floor(Math.min(at, c.endAt - 1)));
    out.push({ id: rng.uuid(), submissionId: s.id, aggregateScore, isFinal, isPassing: passing, createdAt: when, reviewedDate: when });
  };
  const inReview = (lo: number, hi: number) => Math.max(submitted + MS.MINUTE, submissionEnd + rng.uniform(lo, hi) * reviewSpan);
  const provisional = () => add(round4(score * rng.uniform(0.85, 1.1)), false, submitted + rng.uniform(5, 60) * MS.MINUTE);
  if (s.anomaly === 'noFinal') {
    provisional();
    if (rng.chance(0.3)) add(round4(score * rng.uniform(0.85, 1.1)), false, submitted + rng.uniform(61, 120) * MS.MINUTE);
    return out;
  }
  if (rng.chance(0.7)) provisional();
  if (s.anomaly === 'superseded') {
    // an earlier final summation, superseded by a later one: the latest counts
    add(round4(score * rng.uniform(1.02, 1.15)), true, inReview(0.05, 0.45));
    add(score, true, inReview(0.5, 0.95));
    return out;
  }
  add(s.anomaly === 'zeroScore' ? 0 : score, rng.chance(0.9) ? true : null, inReview(0.05, 0.95));
  return out;
}

/**
 * Marathon Matches (simulate.ts `marathon`): 1–6 submissions per member, each better than the last, each with 1–3
 * review summations. Standings: members with a submission the rating rules count, by their best such score, then
 * the others.
 */
function marathon(
  rng: Rng,
  c: EndingChallenge,
  kind: ChallengeKind,
  members: Participant[],
): { entries: Entry[]; submissions: StoredSubmission[]; summations: StoredSummation[] } {
  const scale = rng.pick([1, 100, 1000, 1_000_000]);
  const subs: { s: StoredSubmission; userId: string; score: number; passing: boolean }[] = [];
  const entries = members.map((p): Entry => {
    const perf = p.skill + 0.7 * rng.normal();
    const q = 0.5 + 0.45 * Math.tanh(perf / 1.5);
    const best = Math.max(round4(scale * q), round4(scale * 0.01));
    const n = Math.min(6, 1 + Math.floor(-Math.log(1 - rng.next()) / 0.8));
    const times = Array.from({ length: n }, () => submissionTime(rng, c, p)).sort((a, b) => a - b);
    const scores = Array.from({ length: n - 1 }, () => round4(best * rng.uniform(0.6, 0.98))).sort((a, b) => a - b);
    scores.push(best);
    let effective: number | null = null;
    for (let i = 0; i < n; i++) {
      const score = scores[i]!;
      const anomaly = exclusive(rng, SUBMISSION_ANOMALIES);
      subs.push({
        userId: String(p.userId),
        score,
        passing: q >= 0.15,
        s: {
          id: rng.uuid(),
          challengeId: c.id,
          memberId: String(p.userId),
          status: anomaly === 'deleted' ? 'DELETED' : 'COMPLETED_WITHOUT_WIN',
          finalScore: anomaly === 'zeroScore' || rng.chance(0.85) ? score : null,
          submittedDate: new Date(times[i]!),
          anomaly,
        },
      });
      if (anomaly !== 'deleted' && anomaly !== 'noFinal') effective = Math.max(effective ?? 0, score);
    }
    return {
      userId: String(p.userId),
      handle: p.handle,
      score: effective ?? best,
      passed: q >= 0.15,
      placement: 0,
      submittedAt: times[n - 1]!,
      submissions: n,
      eligible: effective !== null,
    };
  });
  const eligible = entries.filter((e) => e.eligible);
  const others = entries.filter((e) => !e.eligible);
  competitionPlacements(eligible.map((e) => e.score)).forEach((p, i) => (eligible[i]!.placement = p));
  competitionPlacements(others.map((e) => e.score)).forEach((p, i) => (others[i]!.placement = eligible.length + p));
  const byUser = new Map(entries.map((e) => [e.userId, e]));
  const lastEligible = new Map<string, StoredSubmission>();
  for (const { s, userId } of subs) if (s.anomaly !== 'deleted' && s.anomaly !== 'noFinal') lastEligible.set(userId, s);
  const summations: StoredSummation[] = [];
  for (const { s, userId, score, passing } of subs) {
    const e = byUser.get(userId)!;
    if (s.anomaly !== 'deleted') {
      if (!e.passed) s.status = 'FAILED_REVIEW';
      else if (lastEligible.get(userId) === s && e.placement <= kind.prizes) s.status = 'ACTIVE';
    }
    summations.push(...summationsOf(rng, c, s, score, passing));
  }
  return { entries, submissions: subs.map((x) => x.s), summations };
}

/** ChallengeWinner rows (simulate.ts `writeWinners`): prize places PLACEMENT, other passers PASSED_REVIEW (SRMs: none). */
function winnersOf(kind: ChallengeKind, entries: Entry[]): WinnerRow[] {
  const ordered = [...entries].sort((a, b) => a.placement - b.placement || Number(a.userId) - Number(b.userId));
  const out: WinnerRow[] = [];
  for (const e of ordered) {
    if (!e.passed || !e.eligible) continue;
    const type = e.placement <= kind.prizes ? 'PLACEMENT' : kind.score === 'srm' ? null : 'PASSED_REVIEW';
    if (type) out.push({ userId: Number(e.userId), handle: e.handle, placement: e.placement, type });
  }
  return out;
}

/** The outcome of one challenge ending now with these members. */
export function playOutcome(rng: Rng, c: EndingChallenge, kind: ChallengeKind, members: Participant[]): Outcome {
  let entries: Entry[];
  let submissions: StoredSubmission[] = [];
  let summations: StoredSummation[] = [];
  if (kind.score === 'marathon') ({ entries, submissions, summations } = marathon(rng, c, kind, members));
  else entries = scored(rng, c, kind, members);
  // challengeResult as stored: the true outcome with row anomalies (at most one per row)
  const results = entries.map((e): ResultRow => {
    const row: ResultRow = {
      challengeId: c.id,
      userId: e.userId,
      handle: e.handle,
      placement: e.placement,
      finalScore: e.score,
      validSubmission: true,
      passedReview: e.passed,
      anomaly: exclusive(rng, ROW_ANOMALIES),
    };
    if (row.anomaly === 'scorePlaceholder') row.finalScore = rng.chance(0.5) ? 0 : -1;
    else if (row.anomaly === 'partialPlacement') row.placement = rng.chance(0.5) ? null : 0;
    else if (row.anomaly === 'invalidSubmission') row.validSubmission = false;
    return row;
  });
  return { entries, results, submissions, summations, winners: winnersOf(kind, entries) };
}
