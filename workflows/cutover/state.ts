import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import {
  initialSteps,
  type Approval,
  type CutoverPlan,
  type CutoverState,
  type CutoverStatus,
  type GateView,
  type OperatorAction,
  type Step,
  type StepRecord,
} from '../../domain/cutover';
import { CutoverPhase, CutoverState as CutoverStateKey } from '../../domain/search-attributes';

/** What an operator asked for that stops the running step. */
export type Interrupt = { kind: 'rollback' | 'abort'; actor: string; reason: string; automatic?: boolean };

/** Everything the cutover knows; survives continue-as-new as plain data. */
export interface CutoverCarry {
  status: CutoverStatus;
  approved: Approval[];
  forced: Approval[];
}

/**
 * The cutover's state and the transitions operators see: the status query reads it, the mirror and the Web UI's
 * search attributes follow it. Time from the workflow clock.
 */
export class CutoverRun {
  readonly status: CutoverStatus;
  paused = false;
  interrupt?: Interrupt;
  retryRequested = false;
  /** approvals given for the current pass; cleared when a rollback sends the run back */
  readonly approved = new Set<Approval>();
  readonly forced = new Set<Approval>();
  /** the latest evaluation of each approval's evidence (the approve validator reads it: validators cannot do I/O) */
  readonly evaluations = new Map<Approval, GateView>();

  constructor(plan: CutoverPlan, carry?: CutoverCarry) {
    this.status = carry?.status ?? {
      name: plan.name,
      plan,
      state: 'running',
      step: null,
      steps: initialSteps(plan),
      gates: [],
      actions: [],
      startedAt: new Date().toISOString(),
    };
    for (const a of carry?.approved ?? []) this.approved.add(a);
    for (const a of carry?.forced ?? []) this.forced.add(a);
  }

  carry(): CutoverCarry {
    return { status: this.status, approved: [...this.approved], forced: [...this.forced] };
  }

  get plan(): CutoverPlan {
    return this.status.plan;
  }

  record(a: Omit<OperatorAction, 'at'>): void {
    this.status.actions.push({ at: new Date().toISOString(), ...a });
  }

  setState(state: CutoverState, blockedReason?: string): void {
    this.status.state = state;
    if (blockedReason === undefined) delete this.status.blockedReason;
    else this.status.blockedReason = blockedReason;
    if (state !== 'waiting-approval') delete this.status.awaiting;
    upsertSearchAttributes([
      { key: CutoverPhase, value: this.status.step ?? 'cutover' },
      { key: CutoverStateKey, value: state },
    ]);
    this.details();
  }

  /** The Web UI's current details: phase, state, read source, gates (no command: replays are unaffected). */
  details(): void {
    const s = this.status;
    const done = s.steps.filter((x) => x.status === 'done' || x.status === 'skipped').length;
    const gates = s.gates.length ? ` · gates ${s.gates.filter((g) => g.holds).length}/${s.gates.length} hold` : '';
    const why = s.blockedReason ? ` · ${s.blockedReason.slice(0, 160)}` : s.awaiting ? ` · waiting for approve ${s.awaiting}` : '';
    setCurrentDetails(
      `cutover ${s.name} · ${s.step ?? 'start'} · ${s.state}${s.paused ? ' (paused)' : ''} · step ${done}/${s.steps.length} done · reads ${s.readSource ?? 'legacy'}${gates}${why}`,
    );
  }

  begin(rec: StepRecord): void {
    rec.attempts += 1;
    rec.status = 'running';
    rec.startedAt = new Date().toISOString();
    delete rec.endedAt;
    delete rec.error;
    this.status.step = rec.step;
    this.setState(this.paused ? 'paused' : 'running');
  }

  finish(rec: StepRecord, status: 'done' | 'failed' | 'stopped', error?: string): void {
    rec.status = status;
    rec.endedAt = new Date().toISOString();
    if (error !== undefined) rec.error = error;
  }

  stepRecord(step: Step): StepRecord {
    return this.status.steps.find((s) => s.step === step)!;
  }

  setGates(gates: GateView[]): void {
    this.status.gates = gates;
    this.status.gatesAt = new Date().toISOString();
    this.details();
  }
}
