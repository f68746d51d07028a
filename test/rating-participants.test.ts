import { describe, expect, it } from 'vitest';
import { trackByName, typeByName } from '../domain/catalog';
import {
  CATALOG_LOOKUP,
  DEFAULT_MISSING_RATED_POLICY,
  developmentParticipants,
  isChallengeRated,
  latestFinalSummations,
  marathonParticipants,
  marathonRoundNumber,
  ratedStreamOf,
  ratingStream,
  type ChallengeResultRow,
  type ChallengeRow,
  type ReviewSummationRow,
  type SubmissionRow,
} from '../domain/rating/participants';

const DEV = trackByName('DEVELOPMENT').id;
const DS = trackByName('DATA_SCIENCE').id;
const CHALLENGE = typeByName('Challenge').id;
const CODE = typeByName('CODE').id;
const MM = typeByName('Marathon Match').id;
const F2F = typeByName('First2Finish').id;

const challenge = (patch: Partial<ChallengeRow> = {}): ChallengeRow => ({
  id: 'ch1',
  name: 'Some challenge',
  typeId: CHALLENGE,
  trackId: DEV,
  status: 'COMPLETED',
  legacyId: null,
  endDate: new Date('2024-05-01T00:00:00Z'),
  ...patch,
});
const meta = (name: string, value: string | null) => ({ challengeId: 'ch1', name, value });

describe('rating stream and rated challenges', () => {
  it('Development: DEVELOPMENT track with Challenge or legacy CODE; MM whatever its track', () => {
    expect(ratingStream(challenge(), CATALOG_LOOKUP)).toBe('DEVELOPMENT');
    expect(ratingStream(challenge({ typeId: CODE }), CATALOG_LOOKUP)).toBe('DEVELOPMENT');
    expect(ratingStream(challenge({ typeId: F2F }), CATALOG_LOOKUP)).toBeNull();
    expect(ratingStream(challenge({ trackId: DS }), CATALOG_LOOKUP)).toBeNull();
    expect(ratingStream(challenge({ typeId: MM, trackId: DS }), CATALOG_LOOKUP)).toBe('MARATHON_MATCH');
    expect(ratingStream(challenge({ typeId: MM, trackId: DEV }), CATALOG_LOOKUP)).toBe('MARATHON_MATCH');
    expect(ratingStream(challenge({ typeId: 'unknown' }), CATALOG_LOOKUP)).toBeNull();
  });

  it('metadata flags: rated/isRated/unrated, any case, true/false/1/0', () => {
    expect(isChallengeRated([meta('rated', 'TRUE')], 'unrated')).toBe(true);
    expect(isChallengeRated([meta('isRated', '1')], 'unrated')).toBe(true);
    expect(isChallengeRated([meta('ISRATED', ' false ')], 'rated')).toBe(false);
    expect(isChallengeRated([meta('rated', '0')], 'rated')).toBe(false);
    expect(isChallengeRated([meta('unrated', 'true')], 'rated')).toBe(false);
    expect(isChallengeRated([meta('Unrated', 'False')], 'unrated')).toBe(true);
  });

  it('missing or unusable metadata follows the explicit policy; the default is rated', () => {
    expect(DEFAULT_MISSING_RATED_POLICY).toBe('rated');
    expect(isChallengeRated([], 'rated')).toBe(true);
    expect(isChallengeRated([], 'unrated')).toBe(false);
    expect(isChallengeRated([meta('rated', 'yes'), meta('other', 'true')], 'unrated')).toBe(false);
    expect(isChallengeRated([meta('rated', null)], 'rated')).toBe(true);
  });

  it('conflicting metadata → unrated', () => {
    expect(isChallengeRated([meta('rated', 'true'), meta('unrated', 'true')], 'rated')).toBe(false);
    expect(isChallengeRated([meta('rated', 'true'), meta('isRated', 'false')], 'rated')).toBe(false);
  });

  it('a rated challenge is COMPLETED, has an end date and is rated; only its own metadata counts', () => {
    expect(ratedStreamOf(challenge(), [], 'rated', CATALOG_LOOKUP)).toBe('DEVELOPMENT');
    expect(ratedStreamOf(challenge({ status: 'ACTIVE' }), [], 'rated', CATALOG_LOOKUP)).toBeNull();
    expect(ratedStreamOf(challenge({ endDate: null }), [], 'rated', CATALOG_LOOKUP)).toBeNull();
    expect(ratedStreamOf(challenge(), [meta('rated', 'false')], 'rated', CATALOG_LOOKUP)).toBeNull();
    expect(ratedStreamOf(challenge(), [{ challengeId: 'other', name: 'rated', value: 'false' }], 'rated', CATALOG_LOOKUP)).toBe(
      'DEVELOPMENT',
    );
    expect(ratedStreamOf(challenge({ typeId: MM, trackId: DEV }), [], 'rated', CATALOG_LOOKUP)).toBe('MARATHON_MATCH');
  });
});

const result = (userId: string, patch: Partial<ChallengeResultRow> = {}): ChallengeResultRow => ({
  challengeId: 'ch1',
  userId,
  placement: null,
  finalScore: null,
  validSubmission: true,
  ...patch,
});

describe('Development participants', () => {
  it('drops invalid submissions and rows with neither placement nor a positive score', () => {
    const rows = [
      result('a', { finalScore: 90, placement: 1 }),
      result('b', { finalScore: 80, validSubmission: false }),
      result('c', { finalScore: 0 }),
      result('d', { finalScore: -1 }),
      result('e', { placement: 3 }),
      result('f', { finalScore: 70, validSubmission: null }),
      result('g', { finalScore: 95, challengeId: 'other' }),
      result('h', { finalScore: Number.NaN, placement: 2 }),
    ];
    expect(developmentParticipants('ch1', rows)).toEqual([
      { userId: 'a', score: 90, placement: 1 },
      { userId: 'f', score: 70, placement: 2 },
      { userId: 'h', score: -2, placement: 3 },
      { userId: 'e', score: -3, placement: 4 },
    ]);
  });
  it('a kept row with a zero finalScore keeps it (finalScore wins over placement when present)', () => {
    expect(developmentParticipants('ch1', [result('a', { finalScore: 0, placement: 1 })])).toEqual([
      { userId: 'a', score: 0, placement: 1 },
    ]);
  });
  it('ties share a competition placement', () => {
    const rows = [result('a', { finalScore: 50 }), result('b', { finalScore: 50 }), result('c', { finalScore: 10 })];
    expect(developmentParticipants('ch1', rows).map((r) => r.placement)).toEqual([1, 1, 3]);
  });
});

const t = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));
const sub = (id: string, memberId: string, patch: Partial<SubmissionRow> = {}): SubmissionRow => ({
  id,
  challengeId: 'ch1',
  memberId,
  status: 'ACTIVE',
  finalScore: null,
  submittedDate: t(0),
  ...patch,
});
const sum = (
  id: string,
  submissionId: string,
  aggregateScore: number | null,
  patch: Partial<ReviewSummationRow> = {},
): ReviewSummationRow => ({
  id,
  submissionId,
  aggregateScore,
  isFinal: true,
  createdAt: t(10),
  ...patch,
});

describe('Marathon Match participants', () => {
  it('latest summation per submission among those not explicitly non-final (createdAt, then id)', () => {
    const latest = latestFinalSummations([
      sum('s1', 'x', 10, { createdAt: t(1) }),
      sum('s2', 'x', 20, { createdAt: t(2) }),
      sum('s3', 'x', 30, { createdAt: t(3), isFinal: false }),
      sum('s4', 'y', 1, { createdAt: t(5), isFinal: null }),
      sum('s6', 'y', 2, { createdAt: t(5) }),
      sum('s5', 'y', 3, { createdAt: t(5) }),
    ]);
    expect(latest.get('x')!.id).toBe('s2');
    expect(latest.get('y')!.id).toBe('s6');
  });

  it('submission statuses, score fallbacks and placeholders', () => {
    const submissions = [
      sub('p1', 'a'),
      sub('p2', 'b', { finalScore: 77 }),
      sub('p3', 'c'),
      sub('p4', 'd', { status: 'DELETED' }),
      sub('p5', 'e', { status: 'completed_without_win' }),
      sub('p6', 'f', { status: 'FAILED_REVIEW' }),
      sub('p7', 'g'),
      sub('p8', 'h'), // no summation at all
      sub('p9', 'i', { challengeId: 'other' }),
    ];
    const summations = [
      sum('s1', 'p1', 88.5),
      sum('s2', 'p2', 0), // placeholder → submission.finalScore
      sum('s3', 'p3', -1), // placeholder → challengeResult.finalScore
      sum('s4', 'p4', 99),
      sum('s5', 'p5', 50),
      sum('s6', 'p6', 10),
      sum('s7', 'p7', -1), // no usable score and no placement → not a participant
      sum('s9', 'p9', 90),
    ];
    const results = [result('c', { finalScore: 60 }), result('g', { finalScore: 0 })];
    expect(marathonParticipants('ch1', submissions, summations, results)).toEqual([
      { userId: 'a', score: 88.5, placement: 1 },
      { userId: 'b', score: 77, placement: 2 },
      { userId: 'c', score: 60, placement: 3 },
      { userId: 'e', score: 50, placement: 4 },
      { userId: 'f', score: 10, placement: 5 },
    ]);
  });

  it('a member with several submissions is represented by the best one', () => {
    const submissions = [sub('p1', 'a', { submittedDate: t(1) }), sub('p2', 'a', { submittedDate: t(2) }), sub('p3', 'b')];
    const summations = [sum('s1', 'p1', 70), sum('s2', 'p2', 65), sum('s3', 'p3', 68)];
    expect(marathonParticipants('ch1', submissions, summations, [])).toEqual([
      { userId: 'a', score: 70, placement: 1 },
      { userId: 'b', score: 68, placement: 2 },
    ]);
  });

  it('when every participant has a placement, score = −placement (the official standings)', () => {
    const submissions = [sub('p1', 'a'), sub('p2', 'b')];
    const summations = [sum('s1', 'p1', 90), sum('s2', 'p2', 10)];
    const results = [result('a', { placement: 2 }), result('b', { placement: 1 })];
    expect(marathonParticipants('ch1', submissions, summations, results)).toEqual([
      { userId: 'b', score: -1, placement: 1 },
      { userId: 'a', score: -2, placement: 2 },
    ]);
  });

  it('partial placements: scores rank; placed members without a score go below, by placement', () => {
    const submissions = [sub('p1', 'a'), sub('p2', 'b'), sub('p3', 'c'), sub('p4', 'd')];
    const summations = [sum('s1', 'p1', 90), sum('s2', 'p2', 0), sum('s3', 'p3', -1), sum('s4', 'p4', 40)];
    const results = [result('a', { placement: 1 }), result('b', { placement: 4 }), result('c', { placement: 3 })];
    expect(marathonParticipants('ch1', submissions, summations, results)).toEqual([
      { userId: 'a', score: 90, placement: 1 },
      { userId: 'd', score: 40, placement: 2 },
      { userId: 'c', score: -3, placement: 3 },
      { userId: 'b', score: -4, placement: 4 },
    ]);
  });

  it('ignores challengeResult rows with validSubmission = false', () => {
    const submissions = [sub('p1', 'a'), sub('p2', 'b')];
    const summations = [sum('s1', 'p1', 0), sum('s2', 'p2', 5)];
    const results = [result('a', { finalScore: 99, placement: 1, validSubmission: false })];
    expect(marathonParticipants('ch1', submissions, summations, results)).toEqual([{ userId: 'b', score: 5, placement: 1 }]);
  });
});

describe('Marathon Match round numbers', () => {
  it.each([
    ['MM 145', 145],
    ['Marathon Match 145', 145],
    ['marathon match #145', 145],
    ['TCO19 MM#12 Finals', 12],
    ['mm145', 145],
    ['Marathon Match   007', 7],
    ['Development challenge 145', null],
    ['Marathon Match', null],
    [`MM ${'9'.repeat(400)}`, null],
  ])('%s → %s', (name, round) => {
    expect(marathonRoundNumber(name)).toBe(round);
  });
});
