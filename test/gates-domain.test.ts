import { describe, expect, it } from 'vitest';
import {
  evaluateGates,
  GATES,
  goNoGo,
  legacyUnused,
  SinceTime,
  type GateId,
  type GateResult,
  type LegacyReadRow,
  type StoredEvidence,
} from '../domain/gates';
import { PARITY_CATEGORIES, type ParityCategory } from '../domain/parity';

const W = 'wm-now';
let seq = 0;
/** minutes after 2025-01-01T00:00Z */
const at = (min: number) => new Date(Date.UTC(2025, 0, 1, 0, min)).toISOString();

function row(kind: string, over: Partial<StoredEvidence> = {}): StoredEvidence {
  const id = ++seq;
  return {
    id,
    kind,
    workflowId: `wf/${kind}/${id}`,
    runId: `run-${id}`,
    passed: true,
    input: {},
    dataWatermark: null,
    createdAt: at(id),
    ...over,
  };
}

type Counts = Partial<Record<ParityCategory, number>>;
const report = (counts: Counts = {}, examples: Record<string, unknown>[] = []) => ({
  passed: PARITY_CATEGORIES.every((c) => (counts[c] ?? 0) === 0),
  categories: Object.fromEntries(
    PARITY_CATEGORIES.map((c) => [c, { count: counts[c] ?? 0, examples: (counts[c] ?? 0) > 0 ? examples : [], ms: 3 }]),
  ),
});

function parity(o: {
  mode?: 'sample' | 'full' | 'user';
  samples?: number;
  seed?: string;
  shapeSamples?: number;
  membersInScope?: number;
  counts?: Counts;
  examples?: Record<string, unknown>[];
  watermark?: string;
  createdAt?: string;
  result?: unknown;
}): StoredEvidence {
  const mode = o.mode ?? 'full';
  const r = report(o.counts, o.examples);
  const e = row('parity', { passed: r.passed, dataWatermark: o.watermark ?? W, result: 'result' in o ? o.result : r });
  e.input = {
    mode,
    seed: o.seed ?? `seed${e.id}`,
    ...(mode === 'sample' ? { samples: o.samples ?? 50 } : {}),
    sampleHash: `hash${e.id}`,
    coversAllMembers: false,
    membersInScope: o.membersInScope ?? (mode === 'sample' ? (o.samples ?? 50) : 300),
    shapeSamples: o.shapeSamples ?? 20,
  };
  if (o.createdAt) e.createdAt = o.createdAt;
  return e;
}

const refresh = (caller: { clientId: string; via: string }, over: Partial<StoredEvidence> = {}, flat = false) =>
  row('refresh', { input: flat ? { challengeId: 'c-1', ...caller } : { challengeId: 'c-1', caller }, ...over });
const rerate = (stream: string, over: Partial<StoredEvidence> = {}) =>
  row('rerate', { input: { stream, preview: false, concurrency: 2 }, result: { stream }, ...over });
const reports = (passed: boolean, over: Partial<StoredEvidence> = {}) =>
  row('reports', {
    passed,
    input: { samples: 20 },
    result: passed ? {} : { problems: ['mm: 2 rated member(s) without a unified rating'] },
    ...over,
  });
const switchEv = (passed: boolean, over: Partial<StoredEvidence> = {}) =>
  row('switch', {
    passed,
    input: { actor: 'op', reason: 'go', force: false, members: 5 },
    result: passed ? {} : { problems: ['member 7: history out of order'] },
    ...over,
  });

const gate = (results: GateResult[], id: GateId): GateResult => {
  const g = results.find((r) => r.gate === id);
  if (!g) throw new Error(`no ${id}`);
  return g;
};

/** evidence on which every gate holds */
function everything() {
  const p = parity({});
  const r = refresh({ clientId: 'autopilot-v6', via: 'api' });
  const d = rerate('develop');
  const m = row('rerate-member', { input: { stream: 'marathon', userId: 42 }, result: { userId: 42, stream: 'marathon', rows: 3 } });
  const rep = reports(true);
  return { p, r, d, m, rep, rows: [p, r, d, m, rep] };
}

describe('go/no-go gates (pure)', () => {
  it('every gate holds on complete evidence, each naming the evidence it rests on; goNoGo says go', () => {
    const { p, r, d, m, rep, rows } = everything();
    const results = evaluateGates(rows, W);
    expect(results.map((x) => x.gate)).toEqual([...GATES]);
    expect(results.filter((x) => !x.holds)).toEqual([]);
    expect(gate(results, 'parity').evidenceIds).toEqual([p.id]);
    for (const g of ['most-recent', 'non-null', 'response-shape', 'history-order'] as const)
      expect(gate(results, g).evidenceIds).toEqual([p.id]);
    expect(gate(results, 'refresh-m2m')).toMatchObject({ evidenceIds: [r.id], reason: expect.stringMatching(/by client autopilot-v6/) });
    expect(gate(results, 'rerate-develop')).toMatchObject({
      evidenceIds: [d.id],
      reason: expect.stringMatching(/Development stream rerate/),
    });
    expect(gate(results, 'rerate-marathon')).toMatchObject({ evidenceIds: [m.id], reason: expect.stringMatching(/member 42 rerate/) });
    expect(gate(results, 'reports').evidenceIds).toEqual([rep.id]);
    expect(goNoGo(results)).toEqual({ go: true, failing: [] });
  });

  it('with no evidence no gate holds, and each reason says what to run', () => {
    const results = evaluateGates([], W);
    expect(results.every((r) => !r.holds && r.evidenceIds.length === 0)).toBe(true);
    expect(gate(results, 'parity').reason).toMatch(/no parity run yet → run `npm run cutover -- parity --full`/);
    expect(gate(results, 'most-recent').reason).toMatch(/no parity run on the current data .*→ run `npm run cutover -- parity --full`/);
    expect(gate(results, 'response-shape').reason).toMatch(/no switch verification.*switch --to unified/);
    expect(gate(results, 'refresh-m2m').reason).toMatch(/no refresh evidence → .*npm run autopilot/);
    expect(gate(results, 'rerate-develop').reason).toMatch(/no Development rerate → run `npm run cutover -- rerate --stream develop`/);
    expect(gate(results, 'rerate-marathon').reason).toMatch(/rerate --stream marathon/);
    expect(gate(results, 'reports').reason).toMatch(/no reports evidence → run `npm run cutover -- reports`/);
    expect(goNoGo(results)).toEqual({ go: false, failing: [...GATES] });
  });

  describe('parity', () => {
    it('holds on two clean samples of 50 on different samples, not on one; says what to run', () => {
      const a = parity({ mode: 'sample' });
      const b = parity({ mode: 'sample' });
      expect(gate(evaluateGates([a, b], W), 'parity')).toMatchObject({ holds: true, evidenceIds: [a.id, b.id] });
      const one = gate(evaluateGates([a], W), 'parity');
      expect(one).toMatchObject({ holds: false, evidenceIds: [a.id] });
      expect(one.reason).toMatch(/one clean sample so far.*→ run `npm run cutover -- parity --full`/);
    });
    it('runs on other data no longer count; a run that found differences blocks and is named', () => {
      const stale = gate(evaluateGates([parity({ watermark: 'old' })], W), 'parity');
      expect(stale).toMatchObject({ holds: false, reason: expect.stringMatching(/no longer count/) });
      const bad = parity({ counts: { 'rating-mismatch': 2 } });
      const g = gate(evaluateGates([parity({}), bad], W), 'parity');
      expect(g).toMatchObject({ holds: false, evidenceIds: [bad.id] });
      expect(g.reason).toMatch(new RegExp(`found differences → see \`npm run cutover -- evidence ${bad.id}\``));
    });
    it('keeps its current-data rule whatever --since says', () => {
      const p = parity({ createdAt: at(-500) });
      expect(gate(evaluateGates([p], W, { since: at(0) }), 'parity')).toMatchObject({ holds: true, evidenceIds: [p.id] });
      expect(gate(evaluateGates([p], W, { since: at(0) }), 'most-recent').holds).toBe(true);
    });
  });

  describe('the parity-derived gates read the categories of the runs the parity gate counted', () => {
    it('most-recent: 0 violation groups holds; any does not, naming the run and examples', () => {
      expect(gate(evaluateGates([parity({})], W), 'most-recent')).toMatchObject({
        holds: true,
        reason: expect.stringMatching(/^0 mostRecent/),
      });
      const bad = parity({
        counts: { 'most-recent-violations': 3 },
        examples: [{ userId: 7, track: 'DEVELOP', type: 'Challenge', field: 'mostRecent', legacy: 1, unified: 0 }],
      });
      const g = gate(evaluateGates([bad], W), 'most-recent');
      expect(g).toMatchObject({ holds: false, evidenceIds: [bad.id] });
      expect(g.reason).toMatch(/3 mostRecent violation group\(s\).*member 7 DEVELOP\/Challenge mostRecent.*backfill --user-id/);
    });
    it('a run that failed on another category still proves this one (it is on the current data)', () => {
      const failed = parity({ counts: { 'rating-mismatch': 1 } });
      const results = evaluateGates([failed], W);
      expect(gate(results, 'parity').holds).toBe(false);
      expect(gate(results, 'most-recent')).toMatchObject({ holds: true, evidenceIds: [failed.id] });
      expect(gate(results, 'non-null')).toMatchObject({ holds: true, evidenceIds: [failed.id] });
    });
    it('non-null: fewer non-null rows than legacy does not hold', () => {
      const bad = parity({
        counts: { 'non-null-rows': 1 },
        examples: [{ userId: null, track: 'DATA_SCIENCE', type: 'MARATHON_MATCH', field: 'rating rows' }],
      });
      const g = gate(evaluateGates([bad], W), 'non-null');
      expect(g).toMatchObject({ holds: false, evidenceIds: [bad.id] });
      expect(g.reason).toMatch(/1 unified key\(s\) with fewer non-null .*DATA_SCIENCE\/MARATHON_MATCH rating rows.*backfill --track-id/);
      expect(gate(evaluateGates([parity({})], W), 'non-null').holds).toBe(true);
    });
    it('stale parity runs are not read', () => {
      const old = parity({ watermark: 'old' });
      expect(gate(evaluateGates([old], W), 'non-null')).toMatchObject({ holds: false, evidenceIds: [] });
    });
    it('a counted run without the category (an older format) does not hold', () => {
      const p = parity({ result: { categories: {} } });
      expect(gate(evaluateGates([p], W), 'most-recent')).toMatchObject({
        holds: false,
        evidenceIds: [p.id],
        reason: expect.stringMatching(/records no most-recent-violations category/),
      });
      // results not loaded at all
      const q = parity({ result: undefined });
      expect(gate(evaluateGates([q], W), 'non-null').holds).toBe(false);
    });
    it(`response-shape: clean for 5 members or more holds; fewer does not; a passed switch verification stands in`, () => {
      const p = parity({ shapeSamples: 5 });
      expect(gate(evaluateGates([p], W), 'response-shape')).toMatchObject({
        holds: true,
        reason: expect.stringMatching(/5 members' API responses/),
      });
      const few = parity({ shapeSamples: 3 });
      const g = gate(evaluateGates([few], W), 'response-shape');
      expect(g).toMatchObject({ holds: false, evidenceIds: [few.id] });
      expect(g.reason).toMatch(/only 3 members' API responses compared \(5 needed\); no switch verification → .*switch --to unified/);
      const sw = switchEv(true);
      expect(gate(evaluateGates([few, sw], W), 'response-shape')).toMatchObject({ holds: true, evidenceIds: [sw.id] });
      // no parity at all: the switch verification alone
      expect(gate(evaluateGates([sw], W), 'response-shape')).toMatchObject({ holds: true, evidenceIds: [sw.id] });
    });
    it('response-shape: differences found on the current data are not outweighed by a switch verification', () => {
      const bad = parity({ counts: { 'response-shape': 2 }, examples: [{ userId: 9, track: null, type: null, field: 'stats.rating' }] });
      const g = gate(evaluateGates([bad, switchEv(true)], W), 'response-shape');
      expect(g).toMatchObject({ holds: false, evidenceIds: [bad.id] });
      expect(g.reason).toMatch(new RegExp(`2 API response difference\\(s\\).*member 9 stats.rating.*evidence ${bad.id}`));
    });
    it('history-order: clean over 5 members holds; a run over 4 members does not; the newest switch verification decides', () => {
      expect(
        gate(evaluateGates([parity({ mode: 'sample', samples: 50 }), parity({ mode: 'sample', samples: 60 })], W), 'history-order').holds,
      ).toBe(true);
      const tiny = parity({ membersInScope: 4 });
      expect(gate(evaluateGates([tiny], W), 'history-order').reason).toMatch(/only 4 members' history compared/);
      const older = switchEv(true);
      const newer = switchEv(false);
      const g = gate(evaluateGates([tiny, older, newer], W), 'history-order');
      expect(g).toMatchObject({ holds: false, evidenceIds: [tiny.id] });
      expect(g.reason).toMatch(new RegExp(`the newest switch verification #${newer.id} failed: member 7: history out of order`));
      expect(gate(evaluateGates([tiny, newer, switchEv(true)], W), 'history-order').holds).toBe(true);
      const dirty = parity({ counts: { 'history-order': 1 } });
      expect(gate(evaluateGates([dirty], W), 'history-order')).toMatchObject({ holds: false, evidenceIds: [dirty.id] });
    });
    it('a switch to legacy (a rollback) is no verification', () => {
      const rb = row('switch', { input: { to: 'legacy' } });
      expect(gate(evaluateGates([rb], W), 'history-order').holds).toBe(false);
    });
  });

  describe('refresh-m2m', () => {
    it('holds on a passed refresh through the API with a client id (caller nested or flat, as stored today)', () => {
      const r = refresh({ clientId: 'autopilot-v6', via: 'api' });
      expect(gate(evaluateGates([r], W), 'refresh-m2m')).toMatchObject({ holds: true, evidenceIds: [r.id] });
      const flat = refresh({ clientId: 'autopilot-v6', via: 'api' }, {}, true);
      expect(gate(evaluateGates([flat], W), 'refresh-m2m')).toMatchObject({
        holds: true,
        evidenceIds: [flat.id],
        reason: expect.stringMatching(/of challenge c-1/),
      });
    });
    it('not through the reconciler or the CLI, not without a client id, not when failed', () => {
      const results = evaluateGates(
        [
          refresh({ clientId: 'reconciler', via: 'reconciler' }),
          refresh({ clientId: 'op', via: 'cli' }),
          refresh({ clientId: ' ', via: 'api' }),
        ],
        W,
      );
      const g = gate(results, 'refresh-m2m');
      expect(g.holds).toBe(false);
      expect(g.reason).toMatch(/no refresh through the API with an M2M token \(refreshes came via api, cli, reconciler\)/);
      const failed = refresh({ clientId: 'autopilot-v6', via: 'api' }, { passed: false });
      expect(gate(evaluateGates([failed], W), 'refresh-m2m')).toMatchObject({ holds: false, evidenceIds: [failed.id] });
    });
  });

  describe('rerate-develop / rerate-marathon', () => {
    it('a stream rerate counts for its stream only', () => {
      const results = evaluateGates([rerate('develop')], W);
      expect(gate(results, 'rerate-develop').holds).toBe(true);
      expect(gate(results, 'rerate-marathon').holds).toBe(false);
    });
    it('a promoted preview counts (stream on the result); a preview alone does not, and says promote', () => {
      const promote = row('rerate', { input: { runKey: 'p-1' }, result: { stream: 'marathon', promotedFrom: 'p-1' } });
      expect(gate(evaluateGates([promote], W), 'rerate-marathon')).toMatchObject({
        holds: true,
        reason: expect.stringMatching(/promoted preview p-1/),
      });
      const preview = row('rerate-preview', { input: { stream: 'marathon', preview: true } });
      const g = gate(evaluateGates([preview], W), 'rerate-marathon');
      expect(g.holds).toBe(false);
      expect(g.reason).toMatch(new RegExp(`preview #${preview.id} counts once promoted`));
    });
    it('member and challenge-level rerates (rerate-member evidence) count', () => {
      const m = row('rerate-member', { input: { stream: 'develop', userId: 5, from: 'c-9' } });
      expect(gate(evaluateGates([m], W), 'rerate-develop')).toMatchObject({ holds: true, evidenceIds: [m.id] });
    });
    it('a rerate that did not pass does not count, and is named with why', () => {
      const bad = rerate('develop', { passed: false, result: { stream: 'develop', error: 'chunk 3 failed' } });
      const noop = row('rerate-member', { passed: false, input: { stream: 'develop', userId: 5 } });
      const g = gate(evaluateGates([bad, noop], W), 'rerate-develop');
      expect(g).toMatchObject({ holds: false, evidenceIds: [noop.id, bad.id] });
      expect(g.reason).toMatch(new RegExp(`2 did not \\(newest #${noop.id}, no member touched\\)`));
      expect(gate(evaluateGates([bad], W), 'rerate-develop').reason).toMatch(/chunk 3 failed/);
      // a later failure does not undo an earlier success
      const ok = rerate('develop');
      expect(gate(evaluateGates([ok, rerate('develop', { passed: false })], W), 'rerate-develop')).toMatchObject({
        holds: true,
        evidenceIds: [ok.id],
      });
    });
  });

  describe('reports', () => {
    it('the newest reports evidence decides', () => {
      const ok = reports(true);
      expect(gate(evaluateGates([ok], W), 'reports')).toMatchObject({ holds: true, evidenceIds: [ok.id] });
      const bad = reports(false);
      const g = gate(evaluateGates([ok, bad], W), 'reports');
      expect(g).toMatchObject({ holds: false, evidenceIds: [bad.id] });
      expect(g.reason).toMatch(/failed: mm: 2 rated member\(s\) without a unified rating → see .*evidence/);
    });
  });

  describe('since', () => {
    it('evidence created before since does not count (at since does); reasons name what predates it', () => {
      const { rows, r, d, m, rep } = everything();
      const since = d.createdAt; // r predates it; d, m, rep do not
      const results = evaluateGates(rows, W, { since });
      expect(gate(results, 'refresh-m2m').holds).toBe(false);
      expect(gate(results, 'refresh-m2m').reason).toMatch(
        new RegExp(`no refresh evidence since ${since} \\(the latest M2M refresh #${r.id} at .* predates --since`),
      );
      expect(gate(results, 'rerate-develop')).toMatchObject({ holds: true, evidenceIds: [d.id] });
      expect(gate(results, 'rerate-marathon')).toMatchObject({ holds: true, evidenceIds: [m.id] });
      expect(gate(results, 'reports')).toMatchObject({ holds: true, evidenceIds: [rep.id] });
      expect(goNoGo(results)).toEqual({ go: false, failing: ['refresh-m2m'] });
      const later = evaluateGates(rows, W, { since: at(1000) });
      expect(gate(later, 'reports').reason).toMatch(/no reports evidence since .* predates --since/);
      expect(gate(later, 'rerate-develop').holds).toBe(false);
      // a switch verification before since does not stand in
      const sw = switchEv(true, { createdAt: at(-10) });
      expect(gate(evaluateGates([sw], W, { since: at(0) }), 'response-shape').reason).toMatch(
        /switch verification #\d+ at .* predates --since/,
      );
    });
    it('accepts ISO times with offsets and days; refuses anything else', () => {
      expect(SinceTime.parse('2025-01-01T02:00:00+02:00')).toBe('2025-01-01T00:00:00.000Z');
      expect(SinceTime.parse('2025-01-31')).toBe('2025-01-31T00:00:00.000Z');
      expect(SinceTime.safeParse('yesterday').success).toBe(false);
      expect(SinceTime.safeParse('2025-01-01T00:00:00').success).toBe(false); // no offset: ambiguous
      expect(() => evaluateGates([], W, { since: 'soon' })).toThrow(/--since must be an ISO time/);
    });
  });

  describe('goNoGo', () => {
    it('go only when every runbook gate is present and holds; extra checks count too', () => {
      const all = GATES.map((gate) => ({ gate, holds: true }));
      expect(goNoGo(all)).toEqual({ go: true, failing: [] });
      expect(goNoGo(all.slice(1))).toEqual({ go: false, failing: ['parity'] });
      expect(goNoGo([...all, { gate: 'legacy-unused', holds: false }])).toEqual({ go: false, failing: ['legacy-unused'] });
      expect(goNoGo([])).toEqual({ go: false, failing: [...GATES] });
    });
  });
});

describe('legacyUnused (flag removal)', () => {
  const window = { start: '2025-03-10T12:00:00.000Z', end: '2025-03-12T12:00:00.000Z' };
  const r = (day: string, count: number, lastReadAt: string, route = 'GET /members/:handle/stats'): LegacyReadRow => ({
    route,
    day,
    count,
    lastReadAt,
  });

  it('holds with no reads, and with reads only outside the window', () => {
    expect(legacyUnused([], window)).toMatchObject({ gate: 'legacy-unused', holds: true, evidenceIds: [], used: [], undetermined: [] });
    const outside = legacyUnused([r('2025-03-09', 40, '2025-03-09T23:59:59.000Z'), r('2025-03-13', 7, '2025-03-13T08:00:00.000Z')], window);
    expect(outside).toMatchObject({ holds: true, reason: expect.stringMatching(/47 legacy read\(s\) counted outside the window/) });
  });

  it('a read exactly at the window start counts; so does one exactly at the end', () => {
    const atStart = r('2025-03-10', 1, window.start);
    expect(legacyUnused([atStart], window)).toMatchObject({ holds: false, used: [atStart] });
    expect(legacyUnused([r('2025-03-12', 2, window.end)], window).holds).toBe(false);
    expect(legacyUnused([r('2025-03-11', 2, '2025-03-11T03:00:00.000Z')], window).reason).toMatch(
      /legacy read path was used .*GET \/members\/:handle\/stats read up to 2 time\(s\) on 2025-03-11/,
    );
  });

  it('reads on the same day before the window start do not count (lastReadAt before start)', () => {
    const before = r('2025-03-10', 25, '2025-03-10T11:59:59.999Z');
    expect(legacyUnused([before], window)).toMatchObject({ holds: true, used: [], undetermined: [] });
  });

  it('a single read after the end is outside; several with the last after the end may not be: not proven unused', () => {
    expect(legacyUnused([r('2025-03-12', 1, '2025-03-12T13:00:00.000Z')], window).holds).toBe(true);
    const several = r('2025-03-12', 3, '2025-03-12T13:00:00.000Z');
    const g = legacyUnused([several], window);
    expect(g).toMatchObject({ holds: false, used: [], undetermined: [several] });
    expect(g.reason).toMatch(/possibly used .*read 3 times on 2025-03-12, the last at 2025-03-12T13:00:00.000Z after the window/);
    // a day that starts after the window ends holds no read inside it
    expect(legacyUnused([r('2025-03-13', 9, '2025-03-13T00:00:01.000Z')], window).holds).toBe(true);
  });

  it('ignores empty rows; refuses a window that ends before it starts', () => {
    expect(legacyUnused([r('2025-03-11', 0, '2025-03-11T03:00:00.000Z')], window).holds).toBe(true);
    expect(() => legacyUnused([], { start: window.end, end: window.start })).toThrow(/starts .* after it ends/);
  });

  it('a one-instant window', () => {
    const w = { start: '2025-03-10T12:00:00.000Z', end: '2025-03-10T12:00:00.000Z' };
    expect(legacyUnused([r('2025-03-10', 1, w.start)], w).holds).toBe(false);
    expect(legacyUnused([r('2025-03-10', 1, '2025-03-10T11:00:00.000Z')], w).holds).toBe(true);
  });
});
