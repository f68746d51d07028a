import { ApplicationFailure, WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { z } from 'zod';
import { Failure } from '../../domain/failures';
import { READ_SOURCES, type SwitchResult } from '../../domain/read-source';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import type { ReadsVerification, SwitchGate, SwitchReadsFailureDetails, SwitchReadsResult } from '../../domain/switch';
import { stderrLog, type Stack } from '../../lib/stack';
import { switchReadSource } from '../../store/read-source';
import { SwitchReads, switchWorkflowId } from '../../workflows/switch/messages';
import { resultThroughOutages, UsageError, withStack, withWorker } from '../cli-support';

/**
 * `switch --to unified|legacy --reason "…" [--actor name] [--force] [--json]`: flips the read source the API
 * serves from, with an audit row (who, when, why). To unified runs the switchReads workflow (phase C: only when the
 * parity gate holds, or --force, recorded in the audit; then unified reads are verified for known members through
 * the API and a failure rolls back at once). To legacy (rollback) always, at once, directly — it never waits on
 * Temporal or the challenge catalogue. Running APIs follow within a second. Bad flags → exit 2; refused or rolled
 * back → exit 1.
 */

const SwitchFlags = z.object({
  to: z.enum(READ_SOURCES, { error: '--to must be "unified" or "legacy"' }),
  reason: z
    .string({ error: '--reason is required: say why (it goes into the audit trail)' })
    .trim()
    .min(1, '--reason must not be empty')
    .max(2000, '--reason is longer than 2000 characters'),
  actor: z.string().trim().min(1, '--actor must not be empty').max(200, '--actor is longer than 200 characters'),
  json: z.boolean().default(false),
  force: z.boolean().default(false),
});
export type SwitchFlags = z.infer<typeof SwitchFlags>;

/** Validates the flags; the actor defaults to $USER, else "operator". Throws UsageError (exit 2). */
export function parseSwitchFlags(raw: Record<string, unknown>, env: Record<string, string | undefined> = process.env): SwitchFlags {
  const parsed = SwitchFlags.safeParse({ ...raw, actor: raw.actor ?? (env.USER?.trim() || 'operator') });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  return parsed.data;
}

export function formatSwitch(r: SwitchResult): string {
  const what = r.changed
    ? `read source switched: ${r.from} → ${r.to}`
    : `read source already ${r.to}: nothing changed (audited as a no-op)`;
  return `${what}\n  by ${r.actor} at ${r.at} (audit #${r.auditId}): ${r.reason}`;
}

function formatGate(g: SwitchGate, forced: boolean): string {
  const ids = g.evidenceIds.length > 0 ? ` [evidence ${g.evidenceIds.map((i) => `#${i}`).join(', ')}]` : '';
  return `  parity gate: ${g.passed ? 'holds' : forced ? 'does NOT hold — forced past it, on record' : 'does NOT hold'} (${g.reason})${ids}`;
}

function formatVerification(v: ReadsVerification): string[] {
  const how = v.via === 'api' ? `${v.detail} (the API answered from unified after ${v.waitedMs} ms)` : v.detail;
  const out = [`  unified reads ${v.ok ? 'verified' : 'FAILED verification'} ${how}`];
  for (const m of v.members)
    out.push(
      `    member ${m.userId} (${m.handle}): ${m.ok ? 'ok' : 'FAILED'} — ${m.unified.tracks} tracks, ${m.unified.history} history entries (legacy ${m.legacy.tracks}, ${m.legacy.history})`,
    );
  for (const p of v.problems) out.push(`    - ${p}`);
  return out;
}

type Outcome = { ok: true; result: SwitchReadsResult } | { ok: false; message: string; details?: SwitchReadsFailureDetails };

function formatOutcome(o: Outcome): string {
  const r: Partial<SwitchReadsFailureDetails> = o.ok ? o.result : (o.details ?? {});
  const out: string[] = [];
  if (r.switched) out.push(formatSwitch(r.switched));
  else out.push(`read source NOT switched: ${o.ok ? '' : o.message}`);
  if (r.gate) out.push(formatGate(r.gate, r.forced ?? false));
  if (r.verification) out.push(...formatVerification(r.verification));
  if (r.rolledBack) out.push(formatSwitch(r.rolledBack));
  if (r.evidenceId !== undefined) out.push(`  evidence #${r.evidenceId}`);
  return out.join('\n');
}

/** The switch workflow's failure that is an outcome to report (refused, not verified), not a crash. */
function switchFailure(e: unknown): { type: string; message: string; details?: SwitchReadsFailureDetails } | undefined {
  if (!(e instanceof WorkflowFailedError) || !(e.cause instanceof ApplicationFailure)) return undefined;
  const c = e.cause;
  if (c.type !== Failure.GateClosed && c.type !== Failure.SwitchVerificationFailed) return undefined;
  return { type: c.type, message: c.message, details: c.details?.[0] as SwitchReadsFailureDetails | undefined };
}

/** Phase C as a workflow: one at a time (cutover/switch), on the running stack's worker or one in this process. */
async function switchToUnified(stack: Stack, flags: SwitchFlags): Promise<Outcome> {
  return withWorker(stack, stderrLog, async () => {
    let handle;
    try {
      handle = await stack.client!.workflow.start(SwitchReads, {
        taskQueue: stack.config.temporal.taskQueue,
        workflowId: switchWorkflowId,
        args: [{ actor: flags.actor, reason: flags.reason, force: flags.force }],
        typedSearchAttributes: [
          { key: CutoverPhase, value: 'switch' },
          { key: CutoverState, value: 'running' },
        ],
      });
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError)
        throw new UsageError(`a switch is already running (${switchWorkflowId}): wait for it (see \`status\`), then run again`);
      throw e;
    }
    try {
      return { ok: true, result: await resultThroughOutages(handle) };
    } catch (e) {
      const f = switchFailure(e);
      if (!f) throw e;
      return { ok: false, message: f.message, details: f.details };
    }
  });
}

export function registerSwitch(program: Command): void {
  program
    .command('switch')
    .description('set the read source of the member stats API (unified | legacy), with an audited reason')
    .option('--to <source>', 'unified or legacy')
    .option('--reason <text>', 'why (required; stored in the audit trail)')
    .option('--actor <name>', 'who (default: $USER, else "operator")')
    .option('--force', 'switch to unified even though the parity gate does not hold (recorded in the audit)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (opts: Record<string, unknown>) => {
      const flags = parseSwitchFlags(opts);
      if (flags.to === 'legacy') {
        // a rollback: no Temporal, no catalogue — only the members database
        const switched = await withStack({ temporal: false }, (stack) => switchReadSource(stack.dbs.members, flags));
        process.stdout.write(flags.json ? `${JSON.stringify({ switched }, null, 2)}\n` : `${formatSwitch(switched)}\n`);
        return;
      }
      const o = await withStack({}, (stack) => switchToUnified(stack, flags));
      if (!o.ok && o.details?.stage === 'gate') {
        // refused: nothing happened, so nothing on stdout (as before the switch was a workflow)
        process.stderr.write(`[cutover] refused: ${o.message}\n`);
        process.exitCode = 1;
        return;
      }
      if (flags.json) process.stdout.write(`${JSON.stringify(o.ok ? o.result : { error: o.message, ...o.details }, null, 2)}\n`);
      else process.stdout.write(`${formatOutcome(o)}\n`);
      if (!o.ok) {
        process.stderr.write(`[cutover] ${o.message}\n`);
        process.exitCode = 1;
      }
    });
}
