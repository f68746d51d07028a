import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sortHistory, type HistoryEntry } from '../domain/member-stats';
import {
  compareResponseShapes,
  describeShape,
  historyOrderProblem,
  rollbackReason,
  SwitchReadsInput,
  switchInputProblems,
  verifyMemberReads,
  type MemberCapture,
} from '../domain/switch';

/** Hand-built responses in the API's documented shape (domain/member-stats.ts). */
const track = (over: Record<string, unknown> = {}) => ({
  track: 'DEVELOPMENT',
  type: 'Challenge',
  challenges: 12,
  wins: 3,
  rating: 1500,
  volatility: 400,
  maxRating: 1620,
  minRating: 900,
  globalRank: 10,
  countryRank: 2,
  schoolRank: null,
  percentile: 97.5,
  avgRank: null,
  avgNumSubmissions: null,
  bestRank: null,
  topFiveFinishes: null,
  topTenFinishes: null,
  mostRecentEventDate: '2024-03-01T00:00:00.000Z',
  mostRecentSubmission: null,
  ...over,
});
const stats = (source: 'legacy' | 'unified', tracks: unknown[], maxRating: unknown = null) => ({
  userId: 7,
  handle: 'ann',
  handleLower: 'ann',
  readSource: source,
  tracks,
  maxRating,
});
const entry = (date: string, challengeId: string, over: Record<string, unknown> = {}) => ({
  track: 'DEVELOPMENT',
  type: 'Challenge',
  challengeId,
  challengeName: `Challenge ${challengeId}`,
  date,
  rating: 1500,
  placement: null,
  percentile: null,
  ...over,
});
const history = (source: 'legacy' | 'unified', entries: unknown[]) => ({ userId: 7, handle: 'ann', readSource: source, history: entries });

const legacyStats = stats('legacy', [track(), track({ track: 'DATA_SCIENCE', type: 'SRM', rating: null, maxRating: null })]);
const legacyHistory = history('legacy', [entry('2024-01-01T00:00:00.000Z', '100'), entry('2024-02-01T00:00:00.000Z', '101')]);

describe('response shapes compared structurally', () => {
  it('identical shapes pass, whatever the values and the number of entries', () => {
    const unified = stats(
      'unified',
      [track({ rating: 1700, challenges: 14 }), track({ type: 'First2Finish' }), track({ track: 'DESIGN' })],
      {
        rating: 1700,
        track: 'DEVELOPMENT',
        subTrack: 'Challenge',
        ratingColor: '#FCD617',
      },
    );
    expect(compareResponseShapes(legacyStats, unified)).toEqual([]);
    expect(compareResponseShapes(legacyHistory, history('unified', [entry('2024-01-01T00:00:00.000Z', 'abc')]))).toEqual([]);
    // an empty list on either side says nothing about its entries
    expect(compareResponseShapes(history('legacy', []), legacyHistory)).toEqual([]);
  });

  it('null and a value share one nullable slot, on either side, down to objects (maxRating)', () => {
    // legacy has no rating here (SRM unrated, maxRating null); unified rates it: same shape
    const unified = stats('unified', [track(), track({ track: 'DATA_SCIENCE', type: 'SRM', rating: 1200, percentile: 50 })], {
      rating: 1500,
      track: 'DEVELOPMENT',
      subTrack: 'Challenge',
      ratingColor: '#FCD617',
    });
    expect(compareResponseShapes(legacyStats, unified)).toEqual([]);
    expect(compareResponseShapes(unified, legacyStats)).toEqual([]);
  });

  it('a missing key fails, naming it', () => {
    const { wins: _wins, ...noWins } = track();
    const d = compareResponseShapes(legacyStats, stats('unified', [noWins]));
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ path: '$.tracks[].wins', legacy: 'number', unified: 'absent' });
    expect(d[0]!.message).toBe('$.tracks[].wins: missing from the unified response (legacy has it)');
  });

  it('a key missing from only some unified entries fails; a key unified added fails', () => {
    const { wins: _wins, ...noWins } = track();
    const some = compareResponseShapes(legacyStats, stats('unified', [track(), noWins]));
    expect(some.map((x) => x.message)).toEqual(['$.tracks[].wins: missing from some unified entries (every legacy entry has it)']);
    const added = compareResponseShapes(legacyHistory, history('unified', [entry('2024-01-01T00:00:00.000Z', '1', { oldRating: 1400 })]));
    expect(added.map((x) => x.message)).toEqual(['$.history[].oldRating: not in the legacy response (unified added it)']);
    const top = compareResponseShapes(legacyStats, { ...stats('unified', [track()]), etag: 'x' });
    expect(top.map((x) => x.path)).toEqual(['$.etag']);
  });

  it('a type change fails: number → string, a value → an object, a list → a value', () => {
    const d = compareResponseShapes(legacyStats, stats('unified', [track({ rating: '1500' })]));
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ path: '$.tracks[].rating', legacy: 'number', unified: 'string' });
    expect(d[0]!.message).toBe('$.tracks[].rating: type changed from number (legacy) to string (unified)');
    expect(
      compareResponseShapes(legacyHistory, history('unified', [entry('2024-01-01T00:00:00.000Z', '1', { rating: { v: 1 } })]))[0],
    ).toMatchObject({ path: '$.history[].rating', legacy: 'number', unified: 'object' });
    expect(compareResponseShapes(legacyStats, { ...stats('unified', []), tracks: 'none' })[0]).toMatchObject({
      path: '$.tracks',
      legacy: 'array',
      unified: 'string',
    });
  });

  it('entries that disagree in type within one response are caught even when one of them matches', () => {
    const d = compareResponseShapes(legacyStats, stats('unified', [track(), track({ wins: '3' })]));
    expect(d.map((x) => `${x.path} ${x.unified}`)).toEqual(['$.tracks[].wins mixed (number | string)']);
  });

  it('describes a shape without the data: small whatever the number of entries', () => {
    const many = history(
      'legacy',
      Array.from({ length: 2000 }, (_, i) => entry('2024-01-01T00:00:00.000Z', String(i))),
    );
    expect(JSON.stringify(describeShape(many)).length).toBeLessThan(600);
  });
});

describe('history order (chronological; ties by challengeId as text, then track, type)', () => {
  it('accepts the documented order, ties included', () => {
    expect(
      historyOrderProblem([
        entry('2024-01-01T00:00:00.000Z', '100'),
        entry('2024-01-01T00:00:00.000Z', '99', { track: 'DESIGN' }), // '100' < '99' as text
        entry('2024-01-01T00:00:00.000Z', '99'), // DESIGN < DEVELOPMENT
        entry('2024-02-01T00:00:00.000Z', '1'),
      ]),
    ).toBeUndefined();
  });

  it('is the order the read paths sort by (domain/member-stats.ts sortHistory)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            date: fc.constantFrom('2024-01-01T00:00:00.000Z', '2024-02-01T00:00:00.000Z'),
            challengeId: fc.constantFrom('1', '10', '9', 'abc'),
            track: fc.constantFrom('DESIGN', 'DEVELOPMENT'),
            type: fc.constantFrom('Challenge', 'CODE'),
          }),
          { maxLength: 12 },
        ),
        (rows) => historyOrderProblem(sortHistory(rows.map((r) => entry(r.date, r.challengeId, r) as HistoryEntry))) === undefined,
      ),
    );
  });

  it('names the first pair out of order', () => {
    expect(historyOrderProblem([entry('2024-02-01T00:00:00.000Z', '101'), entry('2024-01-01T00:00:00.000Z', '100')])).toBe(
      'history out of order at entry 1: DEVELOPMENT/Challenge 101 (2024-02-01T00:00:00.000Z) comes before DEVELOPMENT/Challenge 100 (2024-01-01T00:00:00.000Z)',
    );
    expect(historyOrderProblem([entry('2024-01-01T00:00:00.000Z', '99'), entry('2024-01-01T00:00:00.000Z', '100')])).toMatch(
      /entry 1: .* 99 .* before .* 100/,
    );
  });
});

describe("one member's unified reads against the legacy capture", () => {
  const capture: MemberCapture = {
    userId: 7,
    handle: 'ann',
    stats: { shape: describeShape(legacyStats), tracks: 2 },
    history: { shape: describeShape(legacyHistory), entries: 2 },
  };
  const ok = (body: unknown) => ({ status: 200, body });
  const entries = [entry('2024-01-01T00:00:00.000Z', '100'), entry('2024-02-01T00:00:00.000Z', '101')];
  const good = {
    stats: ok(stats('unified', [track(), track({ track: 'DATA_SCIENCE', type: 'SRM' })])),
    history: ok(history('unified', entries)),
  };

  it('passes when shape, order, counts and mostRecent hold', () => {
    const v = verifyMemberReads(capture, good, []);
    expect(v).toEqual({
      userId: 7,
      handle: 'ann',
      ok: true,
      problems: [],
      legacy: { tracks: 2, history: 2 },
      unified: { tracks: 2, history: 2 },
    });
  });

  it('fails naming the member: fewer history entries, out of order, answered from legacy, a broken mostRecent group', () => {
    const v = verifyMemberReads(
      capture,
      {
        stats: ok({ ...(good.stats.body as object), readSource: 'legacy' }),
        history: ok(history('unified', [entry('2024-02-01T00:00:00.000Z', '101')])),
      },
      [
        {
          userId: 7,
          track: 'DEVELOPMENT',
          type: 'Challenge',
          flagged: 1,
          latest: '2024-02-01T00:00:00.000Z',
          flaggedDate: '2024-01-01T00:00:00.000Z',
        },
        { userId: 8, track: 'DEVELOPMENT', type: 'Challenge', flagged: 2, latest: null, flaggedDate: null },
      ],
    );
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([
      'member 7 (ann): stats answered from legacy reads, not unified',
      'member 7 (ann): 1 history entries from unified, 2 from legacy (no fewer expected)',
      'member 7: DEVELOPMENT/Challenge: the mostRecent history row is dated 2024-01-01T00:00:00.000Z, but the latest eventDate is 2024-02-01T00:00:00.000Z',
    ]);
    const order = verifyMemberReads(capture, { ...good, history: ok(history('unified', [...entries].reverse())) }, []);
    expect(order.problems).toEqual([expect.stringMatching(/^member 7 \(ann\): history out of order at entry 1/)]);
  });

  it('a schema violation (null where the schema allows none), an error status and an unreachable API are problems', () => {
    const nullCount = verifyMemberReads(capture, { ...good, stats: ok(stats('unified', [track({ challenges: null })])) }, []);
    expect(nullCount.problems).toEqual([
      expect.stringMatching(/^member 7 \(ann\): stats not in the documented shape at tracks\.0\.challenges/),
    ]);
    const down = verifyMemberReads(
      capture,
      {
        stats: { status: 503, body: { error: 'Service Unavailable', message: 'the database is not reachable' } },
        history: { status: 0, body: { message: 'GET x failed' } },
      },
      [],
    );
    expect(down.problems).toEqual([
      'member 7 (ann): stats answered 503: the database is not reachable',
      'member 7 (ann): history got no answer: GET x failed',
    ]);
  });
});

describe('switch input', () => {
  it('defaults force and members; bad input names the field', () => {
    expect(SwitchReadsInput.parse({ actor: 'a', reason: 'r' })).toEqual({ actor: 'a', reason: 'r', force: false, members: 5 });
    const bad = SwitchReadsInput.safeParse({ actor: 'a', reason: ' ', members: 7, force: 'yes' });
    expect(bad.success).toBe(false);
    expect(switchInputProblems(bad.error!)).toEqual([
      'reason: reason is required (it goes into the audit trail)',
      'force: force must be true or false',
      'members: members must be 3 to 5',
    ]);
    expect(switchInputProblems(SwitchReadsInput.safeParse(null).error!)).toEqual([
      'input: the switch input must be an object {actor, reason, force?, members?}',
    ]);
  });

  it('the rollback reason quotes the first problems', () => {
    expect(rollbackReason(['a', 'b', 'c', 'd', 'e'])).toBe('automatic rollback: unified reads failed verification (a; b; c and 2 more)');
  });
});
