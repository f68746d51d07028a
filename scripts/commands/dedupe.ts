import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Command } from 'commander';
import { DedupeOptions, DedupeRunId, type DedupeInput, type DedupeReport } from '../../domain/dedupe';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { stderrLog, type Stack } from '../../lib/stack';
import { findDedupeRun } from '../../store/dedupe/runs';
import { existingMembers } from '../../store/members/find';
import { Dedupe, DEDUPE_WORKFLOW_ID } from '../../workflows/dedupe/messages';
import type { DedupeResult } from '../../workflows/dedupe/workflow';
import { resultThroughOutages, UsageError, wholeNumber, withStack, withWorker } from '../cli-support';

interface RawFlags {
  userId?: string[];
  limit?: string;
  apply?: boolean;
  undo?: string;
  json?: boolean;
}

/** Flags → the workflow's input; every problem is reported before anything starts. */
export function parseDedupeFlags(f: RawFlags): DedupeInput {
  if (f.undo !== undefined) {
    if (f.apply) throw new UsageError('--undo restores an applied run and --apply removes rows: choose one');
    if (f.userId !== undefined || f.limit !== undefined)
      throw new UsageError('--undo restores the whole run it names: leave out --user-id and --limit');
    const run = DedupeRunId.safeParse(f.undo);
    if (!run.success) throw new UsageError(run.error.issues.map((i) => i.message).join('\n'));
    return { undo: run.data };
  }
  const ids = (f.userId ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = ids.filter((s) => !/^\d+$/.test(s) || Number(s) === 0 || !Number.isSafeInteger(Number(s)));
  if (bad.length > 0) throw new UsageError(`--user-id takes positive whole numbers; bad: ${bad.slice(0, 5).join(', ')}`);
  if (f.userId !== undefined && ids.length === 0)
    throw new UsageError('--user-id names no member: give at least one id, or leave it out for every member');
  const parsed = DedupeOptions.safeParse({
    userIds: ids.length > 0 ? ids.map(Number) : undefined,
    limit: wholeNumber('--limit', f.limit),
    apply: f.apply ?? false,
  });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  return { options: parsed.data };
}

/** What the operator named exists: checked before any workflow starts (the workflow checks again). */
async function checkTargets(stack: Stack, input: DedupeInput): Promise<void> {
  if ('undo' in input) {
    if (!(await findDedupeRun(stack.dbs.members, input.undo)))
      throw new UsageError(
        `--undo ${input.undo}: no applied dedupe run has that id (platform."dedupeRun"; a dry run writes nothing to undo); use the run id \`dedupe --apply\` printed`,
      );
    return;
  }
  const ids = input.options.userIds;
  if (!ids) return;
  const found = new Set(await existingMembers(stack.dbs.members, ids));
  const unknown = ids.filter((id) => !found.has(id));
  if (unknown.length > 0)
    throw new UsageError(`--user-id ${unknown.slice(0, 5).join(', ')}: no such member in members."member"; check the ids`);
}

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '?');

function reportLines(r: DedupeReport): string[] {
  const lines: string[] = [];
  let member: number | undefined;
  for (const x of r.examples) {
    if (x.userId !== member) lines.push(`  member ${(member = x.userId)}`);
    lines.push(
      `    round ${x.round}: ${r.apply ? 'removed' : 'remove'} #${x.id} ${x.challengeId} "${x.challengeName ?? ''}" (${day(x.eventDate)}, rating ${x.newRating ?? '–'}${x.mostRecent ? ', mostRecent' : ''})` +
        ` — ${r.apply ? 'kept' : 'keep'} #${x.canonical.id} ${x.canonical.challengeId} (${day(x.canonical.eventDate)}, rating ${x.canonical.newRating ?? '–'})`,
    );
  }
  if (r.rows > r.examples.length) lines.push(`  … and ${r.rows - r.examples.length} more rows (the first ${r.examples.length} are shown)`);
  return lines;
}

function summary(r: DedupeResult): string {
  if (r.mode === 'undo') {
    const u = r.undo;
    return u.alreadyUndone
      ? `Dedupe run ${u.runId} was already undone (${u.undoneAt}): nothing to do`
      : `Dedupe run ${u.runId} undone: ${u.restored} history rows restored with their ids, ${u.mostRecentRestored} mostRecent flags put back (evidence #${r.evidenceId})`;
  }
  const p = r.report;
  const scope = [p.options.userIds ? `--user-id ${p.options.userIds.join(' ')}` : '', p.options.limit ? `--limit ${p.options.limit}` : '']
    .filter(Boolean)
    .join(' ');
  const counts = `${p.rows} numeric Marathon Match history rows duplicating a canonical row (${p.members} members, ${p.rounds} member rounds)`;
  if (r.mode === 'dry-run')
    return [
      `Dedupe dry run (nothing written): ${counts}, evidence #${r.evidenceId}`,
      ...reportLines(p),
      p.rows > 0 ? `Apply after approval: npm run cutover -- dedupe --apply${scope ? ` ${scope}` : ''}` : 'Nothing to remove.',
    ].join('\n');
  return [
    `Dedupe ${p.alreadyApplied ? 'had already applied' : 'applied'} run ${p.runId}: removed ${counts}; mostRecent cleared on ${p.mostRecent?.cleared ?? 0} rows, set on ${p.mostRecent?.set ?? 0} (evidence #${r.evidenceId})`,
    ...reportLines(p),
    `Undo with: npm run cutover -- dedupe --undo ${p.runId}`,
  ].join('\n');
}

export function registerDedupe(program: Command): void {
  program
    .command('dedupe')
    .description('Phase D5: remove numeric Marathon Match history rows that duplicate a canonical UUID row (dry run unless --apply)')
    .option('--user-id <id...>', 'only these members (ids, space- or comma-separated)')
    .option('--limit <n>', 'at most this many duplicate rows, in member, round, row order')
    .option('--apply', 'remove them (kept for --undo); without it nothing is written')
    .option('--undo <run>', 'restore what the applied run <run> removed, exactly')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (flags: RawFlags) => {
      const input = parseDedupeFlags(flags);
      await withStack({}, async (stack) => {
        await checkTargets(stack, input);
        await withWorker(stack, stderrLog, async () => {
          let handle;
          try {
            handle = await stack.client!.workflow.start(Dedupe, {
              taskQueue: stack.config.temporal.taskQueue,
              workflowId: DEDUPE_WORKFLOW_ID,
              args: [input],
              typedSearchAttributes: [
                { key: CutoverPhase, value: 'dedupe' },
                { key: CutoverState, value: 'running' },
              ],
            });
          } catch (e) {
            if (e instanceof WorkflowExecutionAlreadyStartedError)
              throw new UsageError(`a dedupe is already running (${DEDUPE_WORKFLOW_ID}): wait for it (see \`status\`), then run again`);
            throw e;
          }
          const r = await resultThroughOutages(handle);
          process.stdout.write(flags.json ? `${JSON.stringify(r, null, 2)}\n` : `${summary(r)}\n`);
        });
      });
    });
}
