import type { StatusReport } from '../../api/status';
import { formatCutover } from './cutover-view';
export { collectStatus, type StatusReport } from '../../api/status';

export function formatStatus(s: StatusReport): string {
  const out = [
    `Read source: ${s.readSource}`,
    ...(s.readSourceWarning ? [`  WARNING: ${s.readSourceWarning}`] : []),
    `Temporal: ${s.temporal.address ?? '-'}${s.temporal.uiUrl ? ` (Web UI ${s.temporal.uiUrl})` : ''}`,
    `Legacy reads: ${s.legacyReads.total}${
      s.legacyReads.lastReadAt
        ? ` (last ${s.legacyReads.lastReadAt}; ${Object.entries(s.legacyReads.perRoute)
            .map(([r, n]) => `${r} ${n}`)
            .join(', ')})`
        : ''
    }`,
    'Read source switches (latest first):',
    ...(s.switches.length ? s.switches.map((w) => `  ${w.at} ${w.from ?? '–'} → ${w.to} by ${w.actor}: ${w.reason}`) : ['  (none)']),
  ];
  if (s.stranded.length > 0)
    out.push(
      `WARNING: workflows are running but no worker polls their task queue: nothing moves until one runs (\`npm run stack\`, or \`npm run worker\`) — ${s.stranded.slice(0, 5).join(', ')}${s.stranded.length > 5 ? ', …' : ''}`,
    );
  if (s.cutover) out.push(`${formatCutover(s.cutover)}${s.cutover.live ? '' : '\n  (as last mirrored: the workflow did not answer)'}`);
  if (s.backfill) {
    const b = s.backfill;
    out.push(
      `Backfill ${b.state}: ${b.membersDone}/${b.membersTotal} members, ${b.rowsWritten} rows, ${b.membersPerSec.toFixed(0)}/s, ` +
        `ETA ${b.etaSeconds === null ? '–' : `${Math.ceil(b.etaSeconds)} s`}, ${b.inFlight}/${b.concurrency} batches in flight`,
    );
    if (b.state === 'throttled' && b.throttle)
      out.push(`  throttled for live reads: ${b.throttle.allowed} of ${b.concurrency} batches allowed — ${b.throttle.reasons.join('; ')}`);
  }
  for (const r of s.rerates) {
    out.push(
      `Rerate ${r.stream ?? ''} ${r.state}: ${r.eventsDone}/${r.eventsTotal} events, ${r.chunksDone}/${r.chunksTotal} chunks, ` +
        `${r.membersTouched} members, ${r.rowsWritten} rows written, ETA ${r.etaSeconds === null ? '–' : `${Math.ceil(r.etaSeconds)} s`}`,
    );
    if (r.state === 'throttled' && r.throttle) out.push(`  throttled for live reads: ${r.throttle.reasons.join('; ')}`);
  }
  for (const p of s.previews)
    out.push(
      `Preview ${p.runKey} (${p.stream}, ${p.startedAt}): ${p.diff ? `${p.diff.rowsChanged} rows, ${p.diff.membersChanged} members would change` : ''} — ` +
        `rerate promote ${p.runKey} | rerate discard ${p.runKey}`,
    );
  const rc = s.reconciler;
  out.push(
    rc.mark === null
      ? 'Refresh reconciler: not started (its first run sets the mark at the latest completed challenge)'
      : `Refresh reconciler: ${rc.behind} completed challenge(s) behind${rc.oldestBehind ? `, oldest ended ${rc.oldestBehind}` : ''} (mark ${rc.mark})`,
  );
  out.push(`Parity gate: ${s.parityGate.passed ? 'holds' : 'does not hold'} (${s.parityGate.reason})`);
  out.push('Latest evidence (a parity run taken before the data last changed no longer counts towards the gate):');
  if (s.evidence.length === 0) out.push('  (none yet)');
  for (const e of s.evidence) {
    // a run that stopped on an error, one that found differences and one that did not pass its check read differently
    const outcome = e.passed ? 'passed' : e.error ? 'STOPPED' : e.kind === 'parity' ? 'DIFFERENCES' : 'FAILED';
    out.push(`  ${e.kind.padEnd(12)} #${e.id} ${outcome.padEnd(11)} ${e.createdAt}  ${e.workflowId}`);
    if (e.error) out.push(`               stopped: ${e.error}`);
  }
  out.push('Recent workflows:');
  if (s.workflows.length === 0) out.push('  (none)');
  for (const w of s.workflows)
    out.push(`  ${w.status.padEnd(10)} ${w.type.padEnd(12)} ${(w.state ?? '').padEnd(8)} ${w.startTime}  ${w.workflowId}`);
  return out.join('\n');
}
