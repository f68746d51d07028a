import type { Kysely } from 'kysely';
import { PARITY_CATEGORIES } from '../../domain/parity';
import { duplicateKeys, unifiedChecksum, type UnifiedChecksum } from '../../store/checksum';
import type { BackfillResult } from '../../workflows/backfill/workflow';
import type { ParityResult } from '../../workflows/parity/workflow';
import type { ChaosSettings, FaultKind, FaultRecord, ParityRun } from './harness';
import { evidenceOf, evidenceTotals, type StoredEvidence } from './observe';

/** What one run (undisturbed or disturbed) left behind, and the checks that compare the two. */

export interface ParityOutcome extends ParityRun {
  evidence: StoredEvidence;
}

export interface RunOutcome {
  backfillStatus: string;
  backfill?: BackfillResult;
  backfillEvidence: StoredEvidence;
  parity: ParityOutcome;
  /** the disturbed run's second parity run, whose worker was SIGKILLed */
  parityAfterKill?: ParityOutcome;
  checksum: UnifiedChecksum;
  duplicates: { stats: number; history: number };
}

export async function snapshot(
  db: Kysely<any>,
  run: { backfillId: string; backfillStatus: string; backfill?: BackfillResult; parity: ParityRun; parityAfterKill?: ParityRun },
): Promise<RunOutcome> {
  const withEvidence = async (p: ParityRun): Promise<ParityOutcome> => ({ ...p, evidence: await evidenceOf(db, 'parity', p.id) });
  return {
    backfillStatus: run.backfillStatus,
    backfill: run.backfill,
    backfillEvidence: await evidenceOf(db, 'backfill', run.backfillId),
    parity: await withEvidence(run.parity),
    parityAfterKill: run.parityAfterKill && (await withEvidence(run.parityAfterKill)),
    checksum: await unifiedChecksum(db),
    duplicates: await duplicateKeys(db),
  };
}

export interface Check {
  name: string;
  expected: string;
  got: string;
  pass: boolean;
}

const TOTALS = ['members', 'missingMembers', 'statsRows', 'historyRows', 'staleRemoved', 'rerated', 'batches', 'ranksChanged'] as const;

const str = (v: unknown) => (v === undefined || v === null ? '–' : String(v));
const same = (name: string, expected: unknown, got: unknown): Check => ({
  name,
  expected: str(expected),
  got: str(got),
  pass: expected !== undefined && expected !== null && str(expected) === str(got),
});
const atLeast = (name: string, min: number, got: number): Check => ({ name, expected: `≥ ${min}`, got: String(got), pass: got >= min });

function resultTotals(r: BackfillResult | undefined): Record<string, unknown> | undefined {
  return r ? { ...r.totals, ranksChanged: r.ranksChanged } : undefined;
}
const parityCounts = (p: ParityResult | undefined) => (p ? PARITY_CATEGORIES.map((c) => p.categories[c].count).join('/') : undefined);
const parityVerdict = (p: ParityResult | undefined) =>
  p === undefined ? undefined : p.passed ? 'clean' : `${PARITY_CATEGORIES.reduce((n, c) => n + p.categories[c].count, 0)} differences`;

export function judge(ref: RunOutcome, got: RunOutcome, faults: FaultRecord[], s: ChaosSettings, unexpected: string[]): Check[] {
  const landed = (kind: FaultKind, phase?: 'backfill' | 'parity') =>
    faults.filter((f) => f.kind === kind && f.landed && (phase === undefined || f.phase === phase)).length;
  const recovered = faults.filter((f) => f.recoveredAfter !== undefined).length;
  const checks: Check[] = [
    atLeast('worker SIGKILLs mid-backfill', s.kills, landed('worker SIGKILL', 'backfill')),
    ...(s.parityKill ? [atLeast('worker SIGKILLs during parity', 1, landed('worker SIGKILL', 'parity'))] : []),
    atLeast('Temporal restarts mid-backfill', s.temporalRestarts, landed('temporal restart', 'backfill')),
    atLeast('Postgres session terminations mid-run', s.pgTerminations, landed('postgres sessions')),
    {
      name: `faults recovered from within ${s.recoverySeconds} s`,
      expected: String(faults.length),
      got: String(recovered),
      pass: recovered === faults.length,
    },
    {
      name: 'processes that died by themselves',
      expected: '0',
      got: unexpected.length === 0 ? '0' : unexpected.join('; '),
      pass: unexpected.length === 0,
    },
    same('backfill workflow', 'completed', got.backfillStatus),
    same('memberStats checksum', ref.checksum.stats, got.checksum.stats),
    same('memberStatsHistory checksum', ref.checksum.history, got.checksum.history),
    same('memberMaxRating checksum', ref.checksum.maxRating, got.checksum.maxRating),
    same('memberStats rows', ref.checksum.counts[0], got.checksum.counts[0]),
    same('memberStatsHistory rows', ref.checksum.counts[1], got.checksum.counts[1]),
    same('memberMaxRating rows', ref.checksum.counts[2], got.checksum.counts[2]),
    same('duplicate (userId,trackId,typeId) in memberStats', 0, got.duplicates.stats),
    same('duplicate (userId,trackId,typeId,challengeId) in history', 0, got.duplicates.history),
  ];
  const refTotals = resultTotals(ref.backfill);
  const gotTotals = resultTotals(got.backfill);
  for (const k of TOTALS) checks.push(same(`result ${k}`, refTotals?.[k], gotTotals?.[k]));
  checks.push(same('backfill evidence rows for the run', 1, got.backfillEvidence.rows));
  const refEvidence = evidenceTotals(ref.backfillEvidence);
  const gotEvidence = evidenceTotals(got.backfillEvidence);
  for (const k of TOTALS) checks.push(same(`evidence ${k}`, refEvidence?.[k], gotEvidence?.[k]));
  checks.push(...parityChecks('parity', ref.parity, got.parity));
  if (s.parityKill) {
    const after = got.parityAfterKill ?? { id: '', status: 'not run', evidence: { rows: 0, passed: null, result: null } };
    checks.push(...parityChecks('parity after a worker SIGKILL', ref.parity, after));
  }
  return checks;
}

function parityChecks(label: string, ref: ParityOutcome, got: ParityOutcome): Check[] {
  return [
    same(`${label}: workflow`, 'completed', got.status),
    same(`${label}: result (full)`, 'clean', parityVerdict(got.value)),
    same(`${label}: counts (${PARITY_CATEGORIES.length} categories)`, parityCounts(ref.value), parityCounts(got.value)),
    same(`${label}: members in scope`, ref.value?.membersInScope, got.value?.membersInScope),
    same(`${label}: evidence rows for the run`, 1, got.evidence.rows),
    same(`${label}: evidence passed`, true, got.evidence.passed),
  ];
}
