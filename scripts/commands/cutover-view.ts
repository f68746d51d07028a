import type { CutoverStatus, GateView, StepRecord } from '../../domain/cutover';

/** How a cutover reads on a terminal: the steps, the gates table, the operator's log. Pure. */

const MARK: Record<StepRecord['status'], string> = {
  pending: '·',
  running: '▶',
  'waiting-approval': '?',
  done: '✓',
  skipped: '–',
  failed: '✗',
  stopped: '■',
};

export function formatStep(s: StepRecord): string {
  const detail = s.status === 'skipped' ? `skipped: ${s.skipReason}` : (s.error ?? s.summary ?? '');
  const ev = s.evidenceIds.length ? ` [evidence ${s.evidenceIds.map((i) => `#${i}`).join(' ')}]` : '';
  const tries = s.attempts > 1 ? ` (attempt ${s.attempts})` : '';
  return `  ${MARK[s.status]} ${s.step.padEnd(16)} ${s.status.padEnd(16)}${detail}${tries}${ev}`;
}

export function formatGates(gates: readonly GateView[]): string {
  if (gates.length === 0) return '  (not evaluated yet)';
  const w = Math.max(...gates.map((g) => g.gate.length));
  return gates
    .map(
      (g) =>
        `  ${g.gate.padEnd(w)}  ${g.holds ? 'holds   ' : 'NOT     '} ${g.evidenceIds.length ? g.evidenceIds.map((i) => `#${i}`).join(',') : '-'}  ${g.reason}`,
    )
    .join('\n');
}

export function formatCutover(s: CutoverStatus, childProgress?: string): string {
  const out = [
    `cutover ${s.name}: ${s.state}${s.paused && s.state !== 'paused' ? ' (paused: the next step waits for resume)' : ''}${s.step ? ` at ${s.step}` : ''}${s.awaiting ? ` — waiting for \`approve ${s.awaiting} --reason …\`` : ''}`,
  ];
  if (s.blockedReason) out.push(`  ${s.state === 'blocked' ? 'blocked' : 'why'}: ${s.blockedReason}`);
  if (s.state === 'blocked') out.push('  next: `retry` once fixed, `rollback --reason …`, or `abort`');
  if (s.state === 'rolled-back') out.push('  reads are legacy; next: `retry` to run again from the backfill, or `abort`');
  out.push(...s.steps.map(formatStep));
  if (childProgress) out.push(`  running phase: ${childProgress}`);
  if (s.gates.length) out.push(`go/no-go gates${s.gatesAt ? ` (as of ${s.gatesAt})` : ''}:`, formatGates(s.gates));
  const recent = s.actions.slice(-5);
  if (recent.length) {
    out.push('operator log (latest):');
    for (const a of recent)
      out.push(
        `  ${a.at} ${a.actor}: ${a.action}${a.step ? ` ${a.step}` : ''}${a.forced ? ' (forced)' : ''}${a.reason ? ` — ${a.reason}` : ''}`,
      );
  }
  return out.join('\n');
}

/** One line per change worth telling while following a run (a step started, passed, blocked; a gate awaited). */
export function transitions(before: CutoverStatus | undefined, now: CutoverStatus): string[] {
  const lines: string[] = [];
  for (const s of now.steps) {
    const was = before?.steps.find((x) => x.step === s.step);
    if (was?.status === s.status && was.attempts === s.attempts) continue;
    if (s.status === 'running' && was?.status === 'waiting-approval') continue;
    if (s.status === 'pending' && !was) continue;
    lines.push(formatStep(s).trimStart());
  }
  if (now.state !== before?.state && (now.state === 'blocked' || now.state === 'rolled-back' || now.state === 'aborted'))
    lines.push(`${now.state}: ${now.blockedReason ?? ''}`);
  if (now.awaiting && now.awaiting !== before?.awaiting) lines.push(`waiting for approval of ${now.awaiting}`);
  return lines;
}
