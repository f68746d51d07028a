import { z } from 'zod';
import { CONCURRENCY, concurrencyMessage } from './limits';

/**
 * The cutover: the runbook's steps in order, the plan an operator starts it with, and the state it reports. Pure:
 * the workflow, the CLI, the API and tests share it.
 */

export const STEPS = [
  'preflight',
  'backfill',
  'parity',
  'switch',
  'rerate',
  'dedupe',
  'refresh',
  'reports',
  'go-no-go',
  'rollback-window',
  'flag-removal',
] as const;
export type Step = (typeof STEPS)[number];

/** Steps an operator may leave out, always with a reason on record. The gates and the switch are never skipped. */
export const SKIPPABLE = ['rerate', 'dedupe', 'refresh', 'reports'] as const satisfies readonly Step[];

/** Where the cutover waits for an operator's `approve <gate>` (unless it auto-approves a gate that holds). */
export const APPROVALS = ['switch', 'dedupe', 'go-no-go', 'flag-removal'] as const satisfies readonly Step[];
export type Approval = (typeof APPROVALS)[number];

/** A run after a rollback re-does these before it goes on (runbook G: re-backfill affected users, re-run parity). */
export const REDONE_AFTER_ROLLBACK: readonly Step[] = ['backfill', 'parity', 'switch'];

const Name = z
  .string({ error: '--name is required' })
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: '--name must be 1-63 lower-case letters, digits or -, starting with a letter or digit' });

const Reason = z.string().trim().min(1, { error: 'a reason must not be empty' }).max(500, { error: 'a reason is at most 500 characters' });

export const CutoverPlan = z
  .object({
    name: Name,
    /** the runbook's advice for large platforms: the backfill preserves legacy numbers only; phase D rates */
    skipRerateInBackfill: z.boolean().default(false),
    skip: z
      .array(z.object({ step: z.enum(SKIPPABLE, { error: `only ${SKIPPABLE.join(', ')} can be skipped` }), reason: Reason }))
      .max(SKIPPABLE.length)
      .default([]),
    /** approve each gate as soon as its evidence holds (the approval is recorded as the cutover's own) */
    autoApprove: z.boolean().default(false),
    concurrency: z
      .number()
      .int()
      .min(CONCURRENCY.min, { error: concurrencyMessage() })
      .max(CONCURRENCY.max, { error: concurrencyMessage() })
      .default(2),
    /** members per backfill batch; omitted → the backfill's own default (small batches hold members' locks briefly
     * while the platform is live; large ones cost less per member on a large platform) */
    batchSize: z
      .number()
      .int()
      .min(1, { error: '--batch-size must be between 1 and 5000' })
      .max(5000, { error: '--batch-size must be between 1 and 5000' })
      .optional(),
    /** parity: a full run, or two sampled runs of this many members on different seeds */
    parity: z
      .object({
        full: z.boolean().default(false),
        samples: z.number().int().min(50, { error: 'the parity gate needs samples of 50 or more' }).max(10_000).default(50),
      })
      .prefault({}),
    /** the rating streams phase D reruns, from a challenge or (omitted) from each stream's first event */
    rerate: z
      .object({
        streams: z
          .array(z.enum(['develop', 'marathon']))
          .min(1)
          .default(['develop', 'marathon']),
        from: z.string().trim().min(1).optional(),
      })
      .prefault({}),
    /** how long phase E waits for autopilot's first refresh through an M2M token before it blocks */
    refreshWaitSeconds: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600)
      .default(600),
    /** how long reads stay unified under watch, with legacy still written, before the flag may go */
    rollbackWindowSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 24 * 3600)
      .default(3600),
    /** how often evidence is re-checked while waiting for approval and during the rollback window */
    checkEverySeconds: z.number().int().min(1).max(3600).default(30),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    for (const s of p.skip) {
      if (seen.has(s.step)) ctx.addIssue({ code: 'custom', message: `step ${s.step} is skipped twice` });
      seen.add(s.step);
    }
  });
export type CutoverPlan = z.infer<typeof CutoverPlan>;
export type CutoverPlanInput = z.input<typeof CutoverPlan>;

export const cutoverWorkflowId = (name: string) => `cutover/${name}`;
/** A step's child workflow: one per attempt, so a retry never collides with the run it replaces. */
export const stepWorkflowId = (name: string, step: Step, attempt: number, part?: string) =>
  `cutover/${name}/${step}${part ? `/${part}` : ''}/${attempt}`;

export type StepStatus = 'pending' | 'running' | 'waiting-approval' | 'done' | 'skipped' | 'failed' | 'stopped';
export type CutoverState = 'running' | 'paused' | 'waiting-approval' | 'blocked' | 'rolled-back' | 'done' | 'aborted';

export interface StepRecord {
  step: Step;
  status: StepStatus;
  attempts: number;
  /** the running (or last) child workflow */
  childWorkflowId?: string;
  evidenceIds: number[];
  startedAt?: string;
  endedAt?: string;
  /** what it did, in a line */
  summary?: string;
  skipReason?: string;
  error?: string;
}

export interface GateView {
  gate: string;
  holds: boolean;
  reason: string;
  evidenceIds: number[];
  /** parity under live traffic: the base a re-check of the members changed since would start from */
  recheckSince?: number;
}

export interface OperatorAction {
  at: string;
  actor: string;
  action: 'start' | 'pause' | 'resume' | 'rollback' | 'retry' | 'abort' | 'approve' | 'setConcurrency' | 'auto-rollback';
  reason?: string;
  step?: Step;
  /** approve past a gate that did not hold */
  forced?: boolean;
  detail?: string;
}

export interface CutoverStatus {
  name: string;
  plan: CutoverPlan;
  state: CutoverState;
  /** an operator paused it: the running phase pauses, and the next step waits (also while waiting for an approval) */
  paused?: boolean;
  step: Step | null;
  steps: StepRecord[];
  /** the go/no-go gates as last evaluated */
  gates: GateView[];
  gatesAt?: string;
  /** the approval the cutover waits for */
  awaiting?: Approval;
  blockedReason?: string;
  actions: OperatorAction[];
  startedAt: string;
  endedAt?: string;
  readSource?: 'legacy' | 'unified';
}

/** An operator's message: who and why, always recorded. */
export const OperatorMessage = z.object({
  actor: z.string().trim().min(1, { error: 'actor must not be empty' }).max(200),
  reason: z.string().trim().max(2000).optional(),
});
export type OperatorMessage = z.infer<typeof OperatorMessage>;

export const ApproveInput = OperatorMessage.extend({
  gate: z.enum(APPROVALS, { error: `the gate must be one of ${APPROVALS.join(', ')}` }),
  reason: z.string().trim().min(1, { error: 'approve needs --reason (it goes on record)' }).max(2000),
  force: z.boolean().default(false),
});
export type ApproveInput = z.input<typeof ApproveInput>;

export const RollbackInput = OperatorMessage.extend({
  reason: z.string().trim().min(1, { error: 'rollback needs --reason (it goes on record)' }).max(2000),
});
export type RollbackInput = z.input<typeof RollbackInput>;

export function initialSteps(plan: CutoverPlan): StepRecord[] {
  return STEPS.map((step) => {
    const skip = plan.skip.find((s) => s.step === step);
    return skip
      ? { step, status: 'skipped', attempts: 0, evidenceIds: [], skipReason: skip.reason }
      : { step, status: 'pending', attempts: 0, evidenceIds: [] };
  });
}

/** The next step to run: the first in runbook order that is neither done nor skipped. */
export function nextStep(steps: readonly StepRecord[]): StepRecord | undefined {
  return steps.find((s) => s.status !== 'done' && s.status !== 'skipped');
}

/**
 * After a rollback the interrupted step runs again, and so do the backfill, parity and the switch when they had
 * passed: reads went back to legacy, so the switch has to be earned again on the data as it is now.
 */
export function resetAfterRollback(steps: StepRecord[], interrupted: Step | null): void {
  for (const s of steps) {
    if (s.status === 'skipped') continue;
    if (s.step === interrupted || (REDONE_AFTER_ROLLBACK.includes(s.step) && s.status === 'done')) s.status = 'pending';
  }
}

/** Whether reads are unified at this point of the plan (the switch passed and nothing rolled it back). */
export function readsUnified(steps: readonly StepRecord[]): boolean {
  return steps.find((s) => s.step === 'switch')?.status === 'done';
}

/** Why a retry would do nothing in this state (only a blocked or rolled-back step is re-run), or undefined. */
export function retryRefusal(state: CutoverState): string | undefined {
  return state === 'blocked' || state === 'rolled-back'
    ? undefined
    : `the cutover is ${state}: retry re-runs a blocked or rolled-back step`;
}
