import { describe, expect, it } from 'vitest';
import { evaluateParityGate, ParityOptions, runWatermark, type GateEvidence } from '../domain/parity';
import { parseParityFlags } from '../scripts/commands/parity';

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
