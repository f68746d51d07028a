import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { DEFAULT_REPORT_SAMPLES, REPORTS, ReportsOptions } from '../../domain/reports';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { stderrLog, type Stack } from '../../lib/stack';
import { Reports, reportsWorkflowId } from '../../workflows/reports/messages';
import type { ReportsResult } from '../../workflows/reports/workflow';
import { inputErrorsAsUsage, UsageError, wholeNumber, withStack, withWorker } from '../cli-support';

/**
 * `reports [--samples N] [--seed S] [--json]`: phase F as a workflow (cutover/reports/<timestamp>), stored as evidence
 * 'reports'. Exit 0 when the reports hold, 1 when they do not (or could not run), 2 for bad flags.
 */

interface RawFlags {
  samples?: string;
  seed?: string;
  json?: boolean;
}

/** Flags → the workflow's input; a fresh seed when none is given (printed and stored, so the run can be repeated). */
export function parseReportsFlags(f: RawFlags, newSeed: () => string = () => randomBytes(4).toString('hex')): ReportsOptions {
  const parsed = ReportsOptions.safeParse({ samples: wholeNumber('--samples', f.samples), seed: f.seed ?? newSeed() });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  return parsed.data;
}

export async function runReportsWorkflow(stack: Stack, options: ReportsOptions, log: (m: string) => void): Promise<ReportsResult> {
  const client = stack.client;
  if (!client) throw new Error('Temporal is not up');
  return withWorker(stack, log, () =>
    inputErrorsAsUsage(() =>
      client.workflow.execute(Reports, {
        taskQueue: stack.config.temporal.taskQueue,
        workflowId: reportsWorkflowId(),
        args: [options],
        typedSearchAttributes: [
          { key: CutoverPhase, value: 'reports' },
          { key: CutoverState, value: 'running' },
        ],
      }),
    ),
  );
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export function formatReports(r: ReportsResult): string {
  const lines = [
    `Reports ${r.passed ? 'HOLD' : 'DO NOT HOLD'} (seed ${r.seed}, up to ${r.samples} rated members per report) in ${r.seconds.toFixed(1)} s — workflow ${r.workflowId}, evidence #${r.evidenceId}`,
  ];
  for (const name of REPORTS) {
    const o = r.reports[name];
    const ok = o.nulls.count === 0 && o.mismatches.count === 0;
    lines.push(
      `  ${ok ? '✔' : '✘'} ${name.padEnd(15)} rows unified ${o.rows.unified} / legacy ${o.rows.legacy}; rated ${o.rated}, null ${o.nulls.count}, ` +
        `compared ${o.compared} (recomputed by a rerate: ${o.recomputed}), differing ${o.mismatches.count}`,
    );
    if (o.nulls.count > 0)
      lines.push(`      no unified rating: member ${o.nulls.userIds.join(', ')}${o.nulls.count > o.nulls.userIds.length ? ', …' : ''}`);
    for (const m of o.mismatches.examples.slice(0, 10))
      lines.push(`      member ${m.userId} ${m.field}: legacy ${show(m.legacy)}, unified ${show(m.unified)}`);
  }
  lines.push(`  ${r.trap.caught ? '!' : '·'} trap: ${r.trap.message}`);
  for (const p of r.problems) lines.push(`  ✘ ${p}`);
  return lines.join('\n');
}

export function registerReports(program: Command): void {
  program
    .command('reports')
    .description("Phase F: the runbook's report queries over unified and legacy for sampled rated members, compared; stored as evidence")
    .option('--samples <n>', `rated members per report, 1-500 (default ${DEFAULT_REPORT_SAMPLES})`)
    .option('--seed <s>', 'seed of the sample (default: random; printed and stored so the run can be repeated)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (flags: RawFlags) => {
      const options = parseReportsFlags(flags);
      const r = await withStack({}, async (stack) => runReportsWorkflow(stack, options, stderrLog));
      process.stdout.write(flags.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatReports(r)}\n`);
      process.exitCode = r.passed ? 0 : 1;
    });
}
