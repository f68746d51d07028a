import { randomBytes } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { DEFAULT_SAMPLES, PARITY_CATEGORIES, ParityOptions, type ParityExample } from '../../domain/parity';
import { stderrLog, type Stack } from '../../lib/stack';
import type { ParityResult } from '../../workflows/parity/workflow';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { checkParityMember } from './targets';
import { UsageError, wholeNumber, withStack, withWorker } from '../cli-support';
import { Parity, parityWorkflowId } from '../../workflows/parity/messages';

/**
 * `parity [--samples N | --full | --user-id X | --changed-since EVIDENCE] [--seed S] [--examples N] [--json]`: Phase
 * B as a workflow (cutover/parity/<timestamp>). Default: a sample of 50 members under a fresh random seed (printed,
 * stored). `--changed-since` re-checks every member changed since that parity run's snapshot (live traffic).
 * Exit 0 whether or not parity holds — the report says; 1 when the run could not complete; 2 for bad input.
 */

interface RawFlags {
  samples?: string;
  full?: boolean;
  seed?: string;
  userId?: string;
  changedSince?: string;
  examples?: string;
  json?: boolean;
}

const whole = wholeNumber;

/** Flags → validated workflow input; every problem is reported before anything starts. */
export function parseParityFlags(f: RawFlags, newSeed: () => string = () => randomBytes(4).toString('hex')): ParityOptions {
  const chosen = [
    f.samples !== undefined && '--samples',
    f.full && '--full',
    f.userId !== undefined && '--user-id',
    f.changedSince !== undefined && '--changed-since',
  ].filter(Boolean);
  if (chosen.length > 1)
    throw new UsageError(`choose one of --samples, --full and --user-id (or --changed-since) (got ${chosen.join(' and ')})`);
  const mode = f.full ? 'full' : f.userId !== undefined ? 'user' : f.changedSince !== undefined ? 'changed' : 'sample';
  const parsed = ParityOptions.safeParse({
    mode,
    samples: mode === 'sample' ? (whole('--samples', f.samples) ?? DEFAULT_SAMPLES) : undefined,
    seed: mode === 'user' || mode === 'changed' ? f.seed : (f.seed ?? newSeed()),
    userId: whole('--user-id', f.userId),
    since: whole('--changed-since', f.changedSince?.replace(/^#/, '')),
    examples: whole('--examples', f.examples),
  });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  return parsed.data;
}

export async function runParity(stack: Stack, options: ParityOptions, log: (m: string) => void): Promise<ParityResult> {
  const client = stack.client;
  if (!client) throw new Error('Temporal is not up');
  await checkParityMember(stack, options.userId);
  try {
    return await withWorker(stack, log, () =>
      client.workflow.execute(Parity, {
        taskQueue: stack.config.temporal.taskQueue,
        workflowId: parityWorkflowId(),
        args: [options],
        typedSearchAttributes: [
          { key: CutoverPhase, value: 'parity' },
          { key: CutoverState, value: 'running' },
        ],
      }),
    );
  } catch (e) {
    // an unknown --user-id is bad input, not a failed run (workflow failure ← activity failure ← the cause)
    if (e instanceof WorkflowFailedError) {
      for (let c: unknown = e.cause; c instanceof Error; c = c.cause) {
        if (c instanceof ApplicationFailure && c.type === 'InvalidInput') throw new UsageError(c.message);
      }
    }
    throw e;
  }
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const where = (e: ParityExample) =>
  [e.userId === null ? 'all members' : `member ${e.userId}`, [e.track, e.type].filter((x) => x !== null).join('/')]
    .filter(Boolean)
    .join(' ');

function scopeText(r: ParityResult): string {
  if (r.mode === 'full') return `full, ${r.membersInScope} members`;
  if (r.mode === 'user') return `member ${r.userId}`;
  if (r.mode === 'changed' && r.recheck)
    return r.recheck.ranAsFull
      ? `re-check since #${r.recheck.since} over every member (${r.membersInScope}): ${r.recheck.ranAsFull}`
      : `re-check of ${r.membersInScope} member(s) changed since #${r.recheck.since}`;
  return `${r.membersInScope} sampled of ${r.membersTotal} members, seed ${r.seed}`;
}

export function formatParity(r: ParityResult): string {
  const lines = [
    `Parity ${r.passed ? 'CLEAN' : 'FOUND DIFFERENCES'} (${scopeText(r)}) in ${r.seconds.toFixed(1)} s — workflow ${r.workflowId}, evidence #${r.evidenceId}`,
  ];
  if (r.snapshotAt) lines.push(`  from snapshot ${r.snapshot} at ${r.snapshotAt}`);
  if (r.captureOff) lines.push(`  ! change capture off (${r.captureOff}): nothing deferred; only the current-data rule can use this run`);
  for (const c of PARITY_CATEGORIES) {
    const cat = r.categories[c];
    lines.push(`  ${cat.count === 0 ? '✔' : '✘'} ${c.padEnd(24)} ${String(cat.count).padStart(6)}`);
    for (const e of cat.examples) lines.push(`      ${where(e)} ${e.field}: legacy ${show(e.legacy)}, unified ${show(e.unified)}`);
    if (cat.warnings && cat.warnings.count > 0) {
      lines.push(`    ! ${cat.warnings.count} warning(s): null newRating on challenges marked unrated`);
      for (const e of cat.warnings.examples) lines.push(`      ${where(e)} challenge ${show(e.legacy)}`);
    }
    if (cat.deferred && cat.deferred.count > 0)
      lines.push(
        `    ~ ${cat.deferred.count} deferred: member(s) ${cat.deferred.userIds.slice(0, 10).join(', ')} changed since the snapshot`,
      );
  }
  if (r.deferred && r.deferred.findings > 0)
    lines.push(
      `Deferred: ${r.deferred.findings} finding(s) of ${r.deferred.members} member(s) changed during the run (not counted; a re-check compares them: parity --changed-since ${r.evidenceId})`,
    );
  lines.push(`Parity gate: ${r.gate.passed ? 'PASSED' : 'not passed'} — ${r.gate.reason}`);
  return lines.join('\n');
}

export function registerParity(program: Command): void {
  program
    .command('parity')
    .description('Phase B: compare legacy and unified stats (sampled, full or one member); stored as evidence for the parity gate')
    .option('--samples <n>', `random members to check (default ${DEFAULT_SAMPLES})`)
    .option('--full', 'check every member (set-based)')
    .option('--seed <s>', 'seed of the sample (default: random; printed and stored so the run can be repeated)')
    .option('--user-id <id>', 'check one member')
    .option('--changed-since <evidence>', 're-check every member changed since that parity run (live traffic)')
    .option('--examples <n>', 'examples per category (default 10)')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (flags: RawFlags) => {
      const options = parseParityFlags(flags);
      await withStack({}, async (stack) => {
        const r = await runParity(stack, options, stderrLog);
        process.stdout.write(flags.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatParity(r)}\n`);
      });
    });
}
