import { describe, expect, it } from 'vitest';
import {
  evaluateParityGate,
  gateEvidenceOf,
  MAX_SAMPLES,
  ParityOptions,
  RECHECK_FRESH_MINUTES,
  recheckScope,
  runWatermark,
  type GateEvidence,
} from '../domain/parity';
import { CAPTURED_TABLES } from '../migrations/0012-changed-members';
import { parseParityFlags } from '../scripts/commands/parity';
import { LEGACY, UNIFIED } from '../store/parity/watermark';

const W = 'w1';
let id = 0;
const ev = (e: Partial<GateEvidence>): GateEvidence => ({
  id: ++id,
  passed: true,
  mode: 'sample',
  seed: `s${id}`,
  samples: 50,
  sampleHash: `h${id}`,
  coversAllMembers: false,
  dataWatermark: W,
  createdAt: new Date(Date.UTC(2025, 0, 1, 0, id)).toISOString(),
  ...e,
});

describe('parity gate (pure)', () => {
  it('passes on two clean samples that differ in seed and members', () => {
    const a = ev({});
    const b = ev({});
    expect(evaluateParityGate([a, b], W)).toMatchObject({ passed: true, evidenceIds: [a.id, b.id] });
  });
  it('the same sample twice is one sample', () => {
    expect(evaluateParityGate([ev({ seed: 'x', sampleHash: 'h' }), ev({ seed: 'x', sampleHash: 'h' })], W).passed).toBe(false);
    // different seeds that happen to draw the same members are not different samples either
    expect(evaluateParityGate([ev({ seed: 'x', sampleHash: 'h' }), ev({ seed: 'y', sampleHash: 'h' })], W).passed).toBe(false);
  });
  it('sampled runs count only at --samples 50 or more (the runbook); smaller ones say so', () => {
    const g = evaluateParityGate([ev({ samples: 49 }), ev({ samples: 10 })], W);
    expect(g.passed).toBe(false);
    expect(g.reason).toMatch(/2 clean sampled run\(s\) of fewer than 50 members: the gate needs --samples 50/);
    expect(evaluateParityGate([ev({ samples: 49 }), ev({ samples: 50 }), ev({ samples: 200 })], W).passed).toBe(true);
    expect(evaluateParityGate([ev({ samples: undefined }), ev({ samples: 50 })], W).passed).toBe(false);
  });
  it('one clean full run passes; so does a sample that covered every member', () => {
    expect(evaluateParityGate([ev({ mode: 'full', sampleHash: 'all' })], W).passed).toBe(true);
    expect(evaluateParityGate([ev({ coversAllMembers: true })], W).passed).toBe(true);
  });
  it('evidence on other data does not count; a run over changing data matches no data', () => {
    const g = evaluateParityGate([ev({ mode: 'full', dataWatermark: 'old' }), ev({ dataWatermark: runWatermark(W, 'w2') })], W);
    expect(g).toMatchObject({ passed: false, stale: 2 });
    expect(g.reason).toMatch(/no longer count/);
    expect(runWatermark(W, W)).toBe(W);
  });
  it('a run on the current data that found differences blocks the gate; spot checks never count', () => {
    expect(evaluateParityGate([ev({ mode: 'full' }), ev({ passed: false })], W)).toMatchObject({
      passed: false,
      reason: expect.stringMatching(/found differences/),
    });
    expect(evaluateParityGate([ev({ mode: 'user' }), ev({ mode: 'user' })], W).passed).toBe(false);
    expect(evaluateParityGate([ev({ mode: 'user', passed: false }), ev({ mode: 'full' })], W).passed).toBe(true);
  });
});

describe('parity flags', () => {
  it('defaults to a random sample of 50 with a recorded seed', () => {
    expect(parseParityFlags({}, () => 'abc')).toMatchObject({ mode: 'sample', samples: 50, seed: 'abc' });
    expect(parseParityFlags({ full: true, seed: 'q' })).toMatchObject({ mode: 'full', seed: 'q' });
    expect(parseParityFlags({ userId: '7' })).toMatchObject({ mode: 'user', userId: 7 });
  });
  it.each([
    [{ full: true, samples: '5' }, /choose one of --samples, --full and --user-id/],
    [{ samples: '0' }, /--samples must be at least 1/],
    [{ samples: 'many' }, /--samples must be a whole number/],
    [{ samples: '20000' }, /at most 10000/],
    [{ userId: '5', seed: 'x' }, /--seed has no effect with --user-id/],
    [{ seed: 'a b' }, /--seed must be/],
  ])('%j is rejected', (flags, message) => {
    expect(() => parseParityFlags(flags)).toThrow(message);
  });
  it('the workflow input is validated again', () => {
    expect(ParityOptions.safeParse({ mode: 'sample' }).success).toBe(false);
  });
});

describe('parity gate under live traffic (pure)', () => {
  const T0 = Date.UTC(2025, 6, 1);
  const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
  let n = 100;
  /** a run on data that has moved on since (not the current watermark), started from a snapshot at `start` minutes */
  const run = (start: number, e: Partial<GateEvidence> = {}): GateEvidence => {
    const id = ++n;
    return {
      id,
      passed: true,
      mode: 'sample',
      seed: `live${id}`,
      samples: 50,
      sampleHash: `lh${id}`,
      coversAllMembers: false,
      dataWatermark: `moved-${id}`,
      snapshot: `${1000 + start}:${1000 + start}:`,
      snapshotAt: at(start),
      createdAt: at(start + 1),
      ...e,
    };
  };
  const full = (start: number, e: Partial<GateEvidence> = {}) =>
    run(start, { mode: 'full', seed: 'f', sampleHash: 'all', coversAllMembers: true, ...e });
  const recheck = (since: GateEvidence, start: number, e: Partial<GateEvidence> = {}) =>
    run(start, {
      mode: 'changed',
      seed: undefined,
      samples: undefined,
      since: since.id,
      changedMembers: 3,
      membersInScope: 3,
      deferredMembers: 1,
      ...e,
    });
  const gate = (evidence: GateEvidence[], nowMinutes: number) => evaluateParityGate(evidence, 'current', at(nowMinutes));

  it('a clean full base plus a fresh clean re-check of the members changed since holds, as of the re-check', () => {
    const base = full(0);
    const r = recheck(base, 5);
    const g = gate([base, r], 10);
    expect(g).toMatchObject({ passed: true, evidenceIds: [base.id, r.id], recheckSince: base.id, asOf: at(5) });
    expect(g.reason).toBe(`clean base #${base.id} + re-check #${r.id} of 3 changed member(s), 1 deferred, as of ${at(5)}`);
    // the same base without its re-check: the data moved on, nothing covers it — and the reason says what to run
    const alone = gate([base], 10);
    expect(alone).toMatchObject({ passed: false, recheckSince: base.id });
    expect(alone.reason).toMatch(
      new RegExp(
        `no parity run on the current data .*; under live traffic: clean base #${base.id} as of .* no re-check covers it: parity --changed-since ${base.id}$`,
      ),
    );
  });

  it('a re-check that failed on data that has not moved since asks for no other: it would find the same', () => {
    const base = full(0);
    const failed = recheck(base, 5, { passed: false, dataWatermark: 'current' });
    const g = gate([base, failed], 6);
    expect(g.passed).toBe(false);
    expect(g.recheckSince).toBeUndefined();
    // once the data moves on, a re-check may tell again
    expect(gate([base, { ...failed, dataWatermark: 'moved-on' }], 6)).toMatchObject({ passed: false, recheckSince: base.id });
  });

  it('two clean sampled runs (50+, different samples) are a base; the re-check must start from the earlier snapshot', () => {
    const a = run(0);
    const b = run(2);
    const fromA = recheck(a, 6);
    expect(gate([a, b, fromA], 8)).toMatchObject({
      passed: true,
      evidenceIds: [a.id, b.id, fromA.id],
      reason: expect.stringMatching(new RegExp(`^clean base #${a.id},#${b.id} \\+ re-check #${fromA.id} of 3`)),
    });
    // since the later one: a change between a's and b's snapshots would be missed
    const fromB = recheck(b, 6);
    expect(gate([a, b, fromB], 8)).toMatchObject({ passed: false, recheckSince: a.id });
    // the same sample twice, or samples under 50, are no base
    const again = run(2, { seed: a.seed, sampleHash: a.sampleHash });
    expect(gate([a, again, recheck(a, 6)], 8).passed).toBe(false);
    const small = run(2, { samples: 49 });
    expect(gate([a, small, recheck(a, 6)], 8).passed).toBe(false);
  });

  it('a re-check counts only when it ran after the base was stored, and only while fresh', () => {
    const base = full(0); // stored at minute 1
    expect(gate([base, recheck(base, -0.5)], 2).passed).toBe(false); // stored at minute 0.5, before the base
    // stored after the base, its coverage point moved back by the lag grace to before the base's evidence: counts
    expect(gate([base, recheck(base, 0.5)], 2)).toMatchObject({ passed: true, asOf: at(0.5) });
    const r = recheck(base, 2);
    expect(gate([base, r], 2 + RECHECK_FRESH_MINUTES - 1).passed).toBe(true);
    const old = gate([base, r], 2 + RECHECK_FRESH_MINUTES + 1);
    expect(old).toMatchObject({ passed: false, asOf: at(2), evidenceIds: [base.id, r.id] });
    expect(old.reason).toMatch(new RegExp(`older than ${RECHECK_FRESH_MINUTES} minutes: parity --changed-since ${base.id}$`));
  });

  it('a re-check that found differences breaks the gate until a later clean re-check of the same base', () => {
    const base = full(0);
    const clean = recheck(base, 2);
    const failed = recheck(base, 4, { passed: false, changedMembers: 2 });
    const g = gate([base, clean, failed], 6);
    expect(g).toMatchObject({ passed: false, evidenceIds: [failed.id] });
    expect(g.reason).toMatch(
      new RegExp(`re-check #${failed.id} of 2 changed member\\(s\\) found differences after the clean base #${base.id}`),
    );
    const fixed = recheck(base, 7, { deferredMembers: 0 });
    expect(gate([base, clean, failed, fixed], 9)).toMatchObject({ passed: true, evidenceIds: [base.id, fixed.id] });
  });

  it('a full or sampled run that found differences after the base breaks it; one before the base does not', () => {
    const before = run(-5, { passed: false, mode: 'full' });
    const base = full(0);
    const r = recheck(base, 3);
    expect(gate([before, base, r], 5).passed).toBe(true);
    const after = run(2, { passed: false });
    const g = gate([before, base, after, r], 5);
    expect(g).toMatchObject({ passed: false });
    expect(g.reason).toMatch(new RegExp(`parity run #${after.id} after the clean base #${base.id} found differences`));
    // a newer clean base (with its own re-check) stands again
    const base2 = full(6);
    expect(gate([before, base, after, r, base2, recheck(base2, 8)], 9).passed).toBe(true);
  });

  it('a re-check that had to compare every member is itself a clean full base for the next re-check', () => {
    const base = full(0);
    const wide = recheck(base, 2, { coversAllMembers: true, changedMembers: 10_001, membersInScope: 20_000 });
    const next = recheck(wide, 5);
    expect(gate([base, wide, next], 6)).toMatchObject({ passed: true });
    // and a failed all-member re-check breaks like a failed full run
    const failedWide = recheck(base, 4, { coversAllMembers: true, passed: false });
    expect(gate([base, failedWide, recheck(base, 5)], 6).passed).toBe(false);
  });

  it('runs recorded before change capture (no snapshot) never form a base; the current-data rule still comes first', () => {
    const old = full(0, { snapshot: undefined, snapshotAt: undefined });
    expect(gate([old, recheck(old, 2)], 3).passed).toBe(false);
    const onCurrent = full(0, { dataWatermark: 'current' });
    expect(gate([onCurrent], 60)).toMatchObject({ passed: true, reason: `clean full run #${onCurrent.id} on the current data` });
    // spot checks are neither base nor breaker
    const base = full(10);
    expect(gate([base, run(11, { mode: 'user', passed: false }), recheck(base, 12)], 13).passed).toBe(true);
  });

  it('stored inputs are read tolerantly: older rows lack the live-traffic fields', () => {
    const row = { id: 7, passed: true, dataWatermark: 'w', createdAt: at(1) };
    expect(gateEvidenceOf({ ...row, input: { mode: 'full', seed: 's', sampleHash: 'all' } })).toMatchObject({
      mode: 'full',
      coversAllMembers: false,
    });
    expect(
      gateEvidenceOf({
        ...row,
        input: { mode: 'changed', since: 3, snapshot: '1:1:', snapshotAt: at(0), changedMembers: 4 },
        deferredMembers: 2,
      }),
    ).toMatchObject({ mode: 'changed', since: 3, snapshot: '1:1:', changedMembers: 4, deferredMembers: 2 });
    expect(gateEvidenceOf({ ...row, input: { mode: 'bogus' } })).toBeUndefined();
  });
});

describe('re-check scope and options', () => {
  it('is the changed members, or every member (and says so) beyond MAX_SAMPLES', () => {
    expect(recheckScope([3, 5])).toEqual({ scope: { userIds: [3, 5] } });
    expect(recheckScope([1, 2, 3], 2)).toEqual({ scope: { all: true }, ranAsFull: expect.stringMatching(/more than 2 members changed/) });
    expect(recheckScope(Array.from({ length: MAX_SAMPLES + 1 }, (_, i) => i)).scope).toEqual({ all: true });
  });
  it('--changed-since takes a parity evidence id and nothing that picks another scope', () => {
    expect(parseParityFlags({ changedSince: '12' })).toMatchObject({ mode: 'changed', since: 12 });
    expect(parseParityFlags({ changedSince: '#12' }).seed).toBeUndefined();
    expect(() => parseParityFlags({ changedSince: '12', full: true })).toThrow(/choose one of --samples, --full and --user-id/);
    expect(() => parseParityFlags({ changedSince: '12', seed: 'x' })).toThrow(/--seed has no effect with --changed-since/);
    expect(() => parseParityFlags({ changedSince: 'x' })).toThrow(/--changed-since must be a whole number/);
    expect(ParityOptions.safeParse({ mode: 'changed' }).success).toBe(false);
    expect(ParityOptions.safeParse({ mode: 'full', since: 3 }).success).toBe(false);
  });
  it('change capture covers exactly the tables the data watermark digests', () => {
    expect(CAPTURED_TABLES.map((t) => t.table).sort()).toEqual([...UNIFIED, ...LEGACY].sort());
  });
});
