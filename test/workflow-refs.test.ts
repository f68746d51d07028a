import { describe, expect, it } from 'vitest';
import * as workflows from '../workflows';
import { Backfill, BackfillMember } from '../workflows/backfill/messages';
import { Cutover } from '../workflows/cutover/messages';
import { Dedupe } from '../workflows/dedupe/messages';
import { Parity } from '../workflows/parity/messages';
import { Preflight } from '../workflows/preflight/messages';
import { RatingSequencer, RefreshChallenge, RefreshMember, RefreshReconcile } from '../workflows/refresh/messages';
import { Reports } from '../workflows/reports/messages';
import { Rerate, RerateChallenge, RerateDiscard, RerateMember, ReratePromote } from '../workflows/rerate/messages';
import { SwitchReads } from '../workflows/switch/messages';

/** Clients start workflows through the references in the messages files: each must name a workflow the worker serves. */
describe('workflow references', () => {
  const refs = {
    Backfill,
    BackfillMember,
    Parity,
    Preflight,
    Rerate,
    RerateMember,
    RerateChallenge,
    ReratePromote,
    RerateDiscard,
    Dedupe,
    RefreshChallenge,
    RefreshMember,
    RatingSequencer,
    RefreshReconcile,
    SwitchReads,
    Reports,
    Cutover,
  };

  it.each(Object.entries(refs))('%s names an exported workflow function', (_label, ref) => {
    expect(typeof (workflows as Record<string, unknown>)[ref.name]).toBe('function');
  });

  it('covers every workflow the bundle exports', () => {
    expect(
      Object.values(refs)
        .map((r) => r.name)
        .sort(),
    ).toEqual(Object.keys(workflows).sort());
  });

  it('refuses to run as a function outside a client', () => {
    expect(() => (Backfill as unknown as () => void)()).toThrow(/workflow reference/);
  });
});
