import { describe, expect, it } from 'vitest';
import { describeSourceChanges, hasChanges, histogram, sourceChanges, summarizeDiff, type RowChange } from '../domain/rerate-preview';

const change = (userId: number, challengeId: string, from: number | null, to: number): RowChange => ({
  userId,
  challengeId,
  challengeName: `c ${challengeId}`,
  from,
  to,
  fresh: from === null,
});

describe('rerate preview diff (pure)', () => {
  it('histogram bands are closed on both ends and cover every integer once', () => {
    const h = histogram([-1000, -200, -199, -100, -99, -1, 0, 0, 1, 19, 20, 199, 200, 5000]);
    expect(h.map((b) => b.count)).toEqual([2, 2, 1, 0, 1, 2, 2, 1, 0, 1, 2]);
  });

  it('summarizes by hand-counted figures: Δ 0 rows in the zero band, fresh rows outside the histogram, largest |Δ| first', () => {
    const d = summarizeDiff(
      9,
      3,
      [
        change(7, 'a', 1500, 1450),
        change(7, 'b', 1450, 1530),
        change(3, 'a', 1200, 1200),
        change(5, 'a', null, 1210),
        change(4, 'b', 900, 830),
      ],
      2,
    );
    expect(d).toMatchObject({ rows: 9, rowsChanged: 5, newRows: 1, membersChanged: 4 });
    // Δ: −50, +80, 0 (a placement change), −70, and three unchanged rated rows (0)
    expect(d.histogram.find((b) => b.from === 0)!.count).toBe(4);
    expect(d.histogram.find((b) => b.from === -99)!.count).toBe(2);
    expect(d.histogram.find((b) => b.from === 50)!.count).toBe(1);
    expect(d.largest.map((c) => [c.userId, c.challengeId, c.delta])).toEqual([
      [7, 'b', 80],
      [4, 'b', -70],
    ]);
  });

  it('source changes name changed, added and removed members and events, numerically ordered', () => {
    const then = { members: { '10': 'x', '9': 'y', '100': 'z' }, events: { e1: 'p', e2: 'q' } };
    const now = { members: { '10': 'x', '9': 'Y', '11': 'n' }, events: { e1: 'p', e2: 'Q' } };
    const c = sourceChanges(then, now);
    expect(c).toEqual({ members: ['9', '11', '100'], events: ['e2'] });
    expect(hasChanges(c)).toBe(true);
    expect(hasChanges(sourceChanges(then, then))).toBe(false);
    expect(describeSourceChanges('marathon', 'run-1', c, new Map([['e2', 'Marathon Match 7']]))).toMatch(
      /preview run-1 is stale: .*history of 3 member\(s\) \(9, 11, 100\) and 1 rated event\(s\) \(e2 "Marathon Match 7"\) changed\. Nothing was written/,
    );
  });
});
