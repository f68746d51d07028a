import type { CutoverChaosReport } from './cutover';
import type { Check } from './outcome';
import type { ChaosReport } from './run';

/** The printed report: each fault injected, then each outcome check, expected against got. */

function table(header: string[], rows: string[][], align: Array<'l' | 'r'>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : align[i] === 'r' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** Each outcome check, expected against got, and the verdict. */
function outcome(checks: Check[], passed: boolean): string[] {
  return [
    ...table(
      ['check', 'expected', 'got', 'result'],
      checks.map((c) => [c.name, c.expected, c.got, c.pass ? 'pass' : 'FAIL']),
      ['l', 'l', 'l', 'l'],
    ),
    '',
    `${passed ? 'PASSED' : 'FAILED'}: ${checks.filter((c) => c.pass).length} of ${checks.length} checks pass`,
  ];
}

export function formatChaos(r: ChaosReport): string {
  const s = r.settings;
  const out = [
    `Chaos suite: backfill (batch size ${s.batchSize}, concurrency ${s.concurrency}, heartbeat ${s.heartbeatSeconds} s) then full parity; ` +
      `undisturbed run ${r.seconds.undisturbed.toFixed(1)} s, disturbed run ${r.seconds.disturbed.toFixed(1)} s`,
    '',
    'Faults injected (time since the disturbed run started; progress = batches committed at that moment)',
    ...table(
      ['#', 'kind', 'at (s)', 'progress', 'observed'],
      r.faults.map((f, i) => [String(i + 1), f.kind, f.at.toFixed(1), f.progress + (f.landed ? '' : ' (after the end)'), f.observed]),
      ['r', 'l', 'r', 'l', 'l'],
    ),
    '',
    'Outcome (the disturbed run against the undisturbed one on the same seeded data)',
    ...outcome(r.checks, r.passed),
  ];
  return out.join('\n');
}

export function formatCutoverChaos(r: CutoverChaosReport): string {
  return [
    `Cutover chaos: worker SIGKILLed in ${r.settings.killAt.join(', ')}; undisturbed cutover ${r.seconds.undisturbed.toFixed(1)} s, disturbed ${r.seconds.disturbed.toFixed(1)} s`,
    '',
    ...table(
      ['#', 'meant for', 'landed in', 'at (s)'],
      r.kills.map((k, i) => [String(i + 1), k.meant, k.landed, k.atSeconds.toFixed(1)]),
      ['r', 'l', 'l', 'r'],
    ),
    '',
    ...outcome(r.checks, r.passed),
  ].join('\n');
}
