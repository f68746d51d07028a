import { readFileSync } from 'node:fs';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Command } from 'commander';
import { CutoverPlan, cutoverWorkflowId, SKIPPABLE, type CutoverPlanInput, type CutoverStatus } from '../../domain/cutover';
import { stderrLog, type Stack } from '../../lib/stack';
import { readCutover } from '../../store/cutover';
import { Cutover, cutoverStatus } from '../../workflows/cutover/messages';
import { temporalBlinked, UsageError, wholeNumber, withStack, withWorker } from '../cli-support';
import { formatCutover, transitions } from './cutover-view';

/**
 * `start [--name N] [--plan FILE|JSON] [--auto-approve] [--skip-rerate-in-backfill] [--batch-size N] [--skip STEP=REASON]…
 * [--rollback-window S] [--concurrency N] [--parity-full] [--detach] [--json]`: starts the cutover workflow and
 * follows it, printing each step as it passes; Ctrl-C (or --detach) leaves it running on the stack's worker.
 */

export interface StartFlags {
  plan: CutoverPlan;
  detach: boolean;
  json: boolean;
  actor: string;
}

const defaultName = (now = new Date()) => `cutover-${now.toISOString().slice(0, 16).replace(/[-:T]/g, '').toLowerCase()}`;

function planFrom(text: string): Record<string, unknown> {
  const source = text.trim().startsWith('{') ? text : readFileSync(text, 'utf8');
  try {
    const v: unknown = JSON.parse(source);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`--plan must be a JSON object or a file holding one: ${(e as Error).message}`);
  }
}

/** Flags (and a --plan file) into a validated plan; bad input is a UsageError naming what to fix. */
export function parseStartFlags(raw: Record<string, unknown>, env: Record<string, string | undefined> = process.env): StartFlags {
  const base = typeof raw.plan === 'string' ? planFrom(raw.plan) : {};
  const skip = ((raw.skip as string[] | undefined) ?? []).map((s) => {
    const m = /^([a-z-]+)=(.+)$/s.exec(s);
    if (!m) throw new UsageError(`--skip takes STEP=REASON (steps: ${SKIPPABLE.join(', ')}), got "${s}"`);
    return { step: m[1], reason: m[2] };
  });
  const input: Record<string, unknown> = { ...base, name: raw.name ?? base.name ?? defaultName() };
  if (raw.autoApprove) input.autoApprove = true;
  if (raw.skipRerateInBackfill) input.skipRerateInBackfill = true;
  if (skip.length) input.skip = [...((base.skip as unknown[]) ?? []), ...skip];
  if (raw.rollbackWindow !== undefined) input.rollbackWindowSeconds = wholeNumber('--rollback-window', raw.rollbackWindow as string);
  if (raw.concurrency !== undefined) input.concurrency = wholeNumber('--concurrency', raw.concurrency as string);
  if (raw.batchSize !== undefined) input.batchSize = wholeNumber('--batch-size', raw.batchSize as string);
  if (raw.parityFull) input.parity = { ...(base.parity as object), full: true };
  const parsed = CutoverPlan.safeParse(input);
  if (!parsed.success)
    throw new UsageError(parsed.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('\n'));
  return { plan: parsed.data, detach: raw.detach === true, json: raw.json === true, actor: env.USER?.trim() || 'operator' };
}

export async function startCutover(client: Client, taskQueue: string, plan: CutoverPlanInput, actor: string): Promise<WorkflowHandle> {
  try {
    return await client.workflow.start(Cutover, {
      taskQueue,
      workflowId: cutoverWorkflowId(String(plan.name)),
      staticSummary: `cutover ${String(plan.name)}: the runbook as one gated workflow (preflight → flag removal), started by ${actor}`,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [{ plan, actor }],
    });
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError)
      throw new UsageError(`a cutover named "${plan.name}" exists already: follow it with \`status\`, or start one with another --name`);
    throw e;
  }
}

/** Follows a run until it ends or blocks, printing each transition; returns the last status. */
export async function followCutover(
  handle: WorkflowHandle,
  opts: { log?: (m: string) => void; stopWhen?: (s: CutoverStatus) => boolean; everyMs?: number } = {},
): Promise<CutoverStatus> {
  const log = opts.log ?? stderrLog;
  const stop = opts.stopWhen ?? ((s) => s.state === 'done' || s.state === 'aborted' || s.state === 'blocked' || s.state === 'rolled-back');
  let last: CutoverStatus | undefined;
  for (;;) {
    const now = await handle.query(cutoverStatus).catch((e: Error) => {
      // a busy worker or a restarting server: the run goes on, ask again
      if (temporalBlinked(e) || /not found/i.test(e.message)) return last;
      throw e;
    });
    if (now) {
      for (const line of transitions(last, now)) log(line);
      last = now;
      if (stop(now)) return now;
    }
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 1000));
  }
}

export function registerCutoverStart(program: Command): void {
  program
    .command('start')
    .description('start a whole cutover (the runbook as one gated workflow) and follow it')
    .option('--name <name>', 'the cutover’s name (its workflow id is cutover/<name>; default cutover-<utc time>)')
    .option('--plan <file|json>', 'plan fields as JSON (see README): parity, rerate, windows, skips')
    .option('--auto-approve', 'approve each gate as soon as its evidence holds (on record)')
    .option(
      '--skip-rerate-in-backfill',
      'the backfill preserves legacy numbers only; phase D rates (the runbook’s advice for large platforms)',
    )
    .option(
      '--skip <step=reason>',
      `skip a step with a reason on record (${SKIPPABLE.join(', ')}); repeatable`,
      (v: string, a: string[] = []) => [...a, v],
    )
    .option('--rollback-window <seconds>', 'how long reads stay unified under watch before the flag may go (default 3600)')
    .option('--concurrency <n>', 'batches in flight in the backfill and the rerates (1-32, default 2)')
    .option('--batch-size <n>', 'members per backfill batch (1-5000, default 500; larger is faster on a large platform)')
    .option('--parity-full', 'one full parity run instead of two sampled runs of 50')
    .option('--detach', 'start it and return (needs a running `npm run stack` worker)')
    .option('--json', 'print the final status as JSON')
    .action(async (raw: Record<string, unknown>) => {
      const flags = parseStartFlags(raw);
      await withStack({}, async (stack) => {
        const run = async () => {
          const handle = await startCutover(stack.client!, stack.config.temporal.taskQueue, flags.plan, flags.actor);
          stderrLog(`cutover ${flags.plan.name} started (${handle.workflowId}); Web UI: ${stack.temporal?.uiUrl ?? '(external)'}`);
          if (flags.detach) return;
          const s = await followCutover(handle);
          printOutcome(s, flags.json);
        };
        if (flags.detach) await run();
        else await withWorker(stack, stderrLog, run);
      });
    });
}

export function printOutcome(s: CutoverStatus, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(s, null, 2)}\n` : `${formatCutover(s)}\n`);
  process.exitCode = s.state === 'done' && s.gates.every((g) => g.holds) ? 0 : 1;
}

/** The cutover a steering command means: --name, else the latest one that has not ended. */
export async function targetCutover(stack: Stack, name: string | undefined): Promise<WorkflowHandle> {
  const m = await readCutover(stack.dbs.members, name);
  if (!m) throw new UsageError(name ? `no cutover named "${name}"` : 'no cutover has been started: `npm run cutover -- start`');
  if (!name && (m.status.state === 'done' || m.status.state === 'aborted'))
    throw new UsageError(`no cutover is running (the latest, ${m.name}, is ${m.status.state})`);
  return stack.client!.workflow.getHandle(m.workflowId);
}
