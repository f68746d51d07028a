import type { WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { z } from 'zod';
import { APPROVALS, retryRefusal } from '../../domain/cutover';
import { stderrLog } from '../../lib/stack';
import { cutoverAbort, cutoverApprove, cutoverRetry, cutoverRollback, cutoverStatus } from '../../workflows/cutover/messages';
import { requireWorker, steer, UsageError, warnIfNoWorker, withStack, workerPolls } from '../cli-support';
import type { Stack } from '../../lib/stack';
import { formatCutover } from './cutover-view';
import { targetCutover } from './cutover-run';
import { readCutover } from '../../store/cutover';

/**
 * The operator's messages to a running cutover: approve a gate, roll back, retry a blocked step, abort. Each is
 * recorded in the cutover's log with who and why; `--name` picks a cutover, else the latest that has not ended.
 */

const actor = () => process.env.USER?.trim() || 'operator';
const Reason = (what: string) =>
  z
    .string({ error: `${what} needs --reason "…" (it goes on record)` })
    .trim()
    .min(1, `--reason must not be empty`)
    .max(2000, '--reason is longer than 2000 characters');

function parse<T>(schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new UsageError(r.error.issues.map((i) => i.message).join('\n'));
  return r.data;
}

async function after(stack: Stack, handle: WorkflowHandle, json: boolean, said: string): Promise<void> {
  stderrLog(said);
  if (!(await workerPolls(stack))) {
    // nobody answers a query: the request waits for a worker, and the status is the last mirrored one
    await warnIfNoWorker(stack);
    return;
  }
  await new Promise((r) => setTimeout(r, 500));
  const s = await handle.query(cutoverStatus);
  process.stdout.write(json ? `${JSON.stringify(s, null, 2)}\n` : `${formatCutover(s)}\n`);
}

export function registerCutoverSteer(program: Command): void {
  program
    .command('approve')
    .description(`approve a gate of the running cutover (${APPROVALS.join(', ')}); refused when its evidence does not hold, unless --force`)
    .argument('<gate>', APPROVALS.join(' | '))
    .option('--reason <text>', 'why (required; on record)')
    .option('--force', 'approve although the gate’s evidence does not hold (on record)')
    .option('--name <name>', 'which cutover (default: the running one)')
    .option('--json', 'print the cutover’s status as JSON')
    .action(async (gate: string, raw: { reason?: string; force?: boolean; name?: string; json?: boolean }) => {
      const f = parse(
        z.object({ gate: z.enum(APPROVALS, { error: `the gate must be one of ${APPROVALS.join(', ')}` }), reason: Reason('approve') }),
        { gate, reason: raw.reason },
      );
      await withStack({}, async (stack) => {
        const handle = await targetCutover(stack, raw.name);
        await requireWorker(stack, 'approve');
        const view = await steer('cutover', () =>
          handle.executeUpdate(cutoverApprove, { args: [{ gate: f.gate, reason: f.reason, force: raw.force === true, actor: actor() }] }),
        ).catch((e: Error) => {
          // the validator's refusal is the operator's to act on
          let c: unknown = e;
          while (c instanceof Error && c.cause instanceof Error) c = c.cause;
          if (e instanceof UsageError) throw e;
          throw new UsageError(`refused: ${c instanceof Error ? c.message : String(c)}`);
        });
        await after(
          stack,
          handle,
          raw.json === true,
          `approved ${f.gate}${view.holds ? '' : ' (forced: its evidence does not hold)'}: ${view.reason}`,
        );
      });
    });

  program
    .command('rollback')
    .description('roll the running cutover back: stop its step, reads to legacy at once, wait for retry or abort')
    .option('--reason <text>', 'why (required; on record)')
    .option('--name <name>', 'which cutover (default: the running one)')
    .option('--json', 'print the cutover’s status as JSON')
    .action(async (raw: { reason?: string; name?: string; json?: boolean }) => {
      const reason = parse(Reason('rollback'), raw.reason);
      await withStack({}, async (stack) => {
        const handle = await targetCutover(stack, raw.name);
        await steer('cutover', () => handle.signal(cutoverRollback, { actor: actor(), reason }));
        await after(stack, handle, raw.json === true, 'rollback requested: reads go to legacy as soon as the running step stops');
      });
    });

  for (const [name, signal, what] of [
    ['retry', cutoverRetry, 're-run the blocked (or rolled-back) step of the running cutover'],
    ['abort', cutoverAbort, 'end the running cutover (reads to legacy if they were unified)'],
  ] as const) {
    program
      .command(name)
      .description(what)
      .option('--reason <text>', 'why (on record)')
      .option('--name <name>', 'which cutover (default: the running one)')
      .option('--json', 'print the cutover’s status as JSON')
      .action(async (raw: { reason?: string; name?: string; json?: boolean }) => {
        const reason = raw.reason === undefined ? undefined : parse(Reason(name), raw.reason);
        await withStack({}, async (stack) => {
          const handle = await targetCutover(stack, raw.name);
          if (name === 'retry') {
            // only a blocked or rolled-back step is re-run: anything else is said, not recorded as a retry
            const live = (await workerPolls(stack)) ? await handle.query(cutoverStatus).catch(() => undefined) : undefined;
            const state = (live ?? (await readCutover(stack.dbs.members, raw.name))?.status)?.state;
            const refusal = state === undefined ? undefined : retryRefusal(state);
            if (refusal) throw new UsageError(`${refusal} (nothing sent)`);
          }
          await steer('cutover', () => handle.signal(signal, { actor: actor(), ...(reason ? { reason } : {}) }));
          await after(stack, handle, raw.json === true, `${name} requested`);
        });
      });
  }
}
