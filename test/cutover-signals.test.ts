import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Client, Connection, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { cutoverWorkflowId, STEPS, type CutoverPlanInput, type CutoverStatus, type GateView, type Step } from '../domain/cutover';
import {
  Cutover,
  cutoverAbort,
  cutoverApprove,
  cutoverPause,
  cutoverResume,
  cutoverRetry,
  cutoverRollback,
  cutoverStatus,
} from '../workflows/cutover/messages';
import { uniqueTaskQueue } from './support/stack';

/**
 * The cutover's signal matrix on the real Temporal dev server, with every phase's child workflow and every activity
 * stubbed (test/support/cutover-stubs.ts): pause and rollback in every phase, retry after a failure, approve with
 * a closed gate, abort. What the stubs saw (children started, pauses passed on, reads rolled back) is recorded
 * here, independently of the workflow's own status.
 */

type Behaviour = { fail?: string; failType?: string; block?: boolean };

class Stubs {
  started: string[] = [];
  /** the latest child workflow id started per type */
  ids = new Map<string, string>();
  events: string[] = [];
  rollbacks: string[] = [];
  behaviour = new Map<string, Behaviour[]>();
  parityHolds = true;
  /** cutoverParityGate calls so far */
  parityChecks = 0;
  /** the switch's own gate check lost a race with live traffic: the next gate evaluation asks for a re-check, once */
  raceAfterSwitchFails = false;
  windowOk = true;
  mirrored = 0;
  /** the mirror of this step's start waits for `release` (a signal arriving while a step is being recorded) */
  holdBeginOf?: Step;
  /** the rollback of reads waits for `release` (an abort arriving while a rollback runs) */
  holdRollback = false;
  held?: () => void;
  release?: () => void;
  /** holds the calling activity until the test calls `release` (once per cutover) */
  hold(): Promise<void> | undefined {
    if (this.release) return undefined;
    return new Promise<void>((resolve) => {
      this.release = resolve;
      this.held?.();
    });
  }
  /** a phase type's next behaviours, consumed one per start */
  on(type: string, ...b: Behaviour[]) {
    this.behaviour.set(type, b);
  }
}

/** One Stubs per cutover (the tests run at once): found from any workflow id under cutover/<name>. */
const runs = new Map<string, Stubs>();
const stubsOf = (workflowId: string) => runs.get(workflowId.split('/')[1] ?? '') ?? new Stubs();
const caller = () => stubsOf(Context.current().info.workflowExecution?.workflowId ?? '');

/** The child types in the order a clean cutover starts them. */
const CLEAN_ORDER = [
  'preflight',
  'backfill',
  'parity',
  'parity',
  'switchReads',
  'rerate-develop',
  'rerate-marathon',
  'dedupe-dry-run',
  'dedupe-apply',
  'reports',
];

/** The child type that runs while the cutover is at a step (approval steps wait instead). */
const CHILD_OF: Partial<Record<Step, string>> = {
  preflight: 'preflight',
  backfill: 'backfill',
  parity: 'parity',
  switch: 'switchReads',
  rerate: 'rerate-develop',
  dedupe: 'dedupe-dry-run',
  reports: 'reports',
};

describe.concurrent('cutover workflow: operator signals (stubbed phases)', { timeout: 180_000 }, () => {
  let connection: NativeConnection;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = uniqueTaskQueue('cutover-signals');

  beforeAll(async () => {
    connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
    const gate = (gate: string, holds = true): GateView => ({
      gate,
      holds,
      reason: holds ? 'stub holds' : 'stub does not hold',
      evidenceIds: [1],
    });
    worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: join(__dirname, 'support', 'cutover-stubs.ts'),
      activities: {
        async stubBegin({ type, workflowId }: { type: string; workflowId: string }): Promise<Behaviour> {
          const stubs = stubsOf(workflowId);
          stubs.started.push(type);
          stubs.ids.set(type, workflowId);
          return stubs.behaviour.get(type)?.shift() ?? {};
        },
        async stubEvent({ type, event, workflowId }: { type: string; event: string; workflowId: string }) {
          stubsOf(workflowId).events.push(`${type}:${event}`);
        },
        async mirrorCutover({ status }: { status: CutoverStatus }) {
          const stubs = caller();
          stubs.mirrored++;
          const rec = status.steps.find((r) => r.step === status.step);
          if (stubs.holdBeginOf && status.step === stubs.holdBeginOf && rec?.status === 'running') await stubs.hold();
        },
        async cutoverParityGate() {
          const stubs = caller();
          stubs.parityChecks++;
          if (stubs.raceAfterSwitchFails && stubs.started.filter((t) => t === 'switchReads').length === 1) {
            stubs.raceAfterSwitchFails = false;
            return { ...gate('parity', false), recheckSince: 5 };
          }
          return gate('parity', stubs.parityHolds);
        },
        async cutoverGates() {
          return ['parity', 'refresh-m2m', 'reports'].map((g) => gate(g));
        },
        async cutoverGate({ gate: g }: { gate: string }) {
          return gate(g);
        },
        async cutoverEnableCapture() {
          return 'change capture on (stub)';
        },
        async cutoverLegacyUnused() {
          return gate('legacy-unused');
        },
        async cutoverWindowCheck() {
          return caller().windowOk ? { ok: true, problems: [] } : { ok: false, problems: ['member 7: two mostRecent rows'] };
        },
        async cutoverRollbackReads({ reason }: { reason: string }) {
          if (caller().holdRollback) await caller().hold();
          caller().rollbacks.push(reason);
          return { changed: true, auditId: caller().rollbacks.length };
        },
        async requestStreamRerate({ stream, request }: { stream: string; request: { requestId: string; replyTo: string } }) {
          await client.workflow.start('rerate', {
            taskQueue,
            workflowId: `${request.replyTo}/rerate/${stream}/${request.requestId}`,
            args: [{ ...request, stream }],
          });
        },
        async storeEvidence() {
          return 99;
        },
      },
    });
    running = worker.run();
  });
  afterAll(async () => {
    // a run a failed test left behind must not outlive the file
    for (const name of runs.keys())
      await client.workflow
        .getHandle(cutoverWorkflowId(name))
        .terminate('test over')
        .catch(() => undefined);
    worker?.shutdown();
    await running;
    await connection?.close();
  });

  let seq = 0;
  const start = async (plan: Partial<CutoverPlanInput> = {}, setup?: (s: Stubs) => void) => {
    const stubs = new Stubs();
    setup?.(stubs);
    const name = `sig-${process.pid}-${Date.now()}-${seq++}`;
    runs.set(name, stubs);
    const h = await client.workflow.start(Cutover, {
      taskQueue,
      workflowId: cutoverWorkflowId(name),
      args: [
        {
          plan: { name, autoApprove: true, rollbackWindowSeconds: 2, checkEverySeconds: 1, refreshWaitSeconds: 5, ...plan },
          actor: 'test',
        },
      ],
    });
    return { h, stubs };
  };
  const status = (h: WorkflowHandle) => h.query(cutoverStatus);
  const until = async (h: WorkflowHandle, what: string, ok: (s: CutoverStatus) => boolean): Promise<CutoverStatus> => {
    // generous: the whole suite shares two cores with these runs
    const deadline = Date.now() + 90_000;
    for (;;) {
      const s = await status(h);
      if (ok(s)) return s;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: ${JSON.stringify({ state: s.state, step: s.step, why: s.blockedReason })}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const me = { actor: 'tester', reason: 'test' };
  /** RECORD_HISTORIES=1: these runs' histories become replay fixtures (test/histories/; existing files are kept) */
  const keep = async (h: WorkflowHandle, file: string) => {
    const path = join(__dirname, 'histories', `${file}.json`);
    if (!process.env.RECORD_HISTORIES || existsSync(path)) return;
    writeFileSync(path, `${historyToJSON(await h.fetchHistory())}\n`);
  };
  /** waits until the step's (blocked) child runs */
  const blockedIn = async (h: WorkflowHandle, stubs: Stubs, step: Step) => {
    const type = CHILD_OF[step]!;
    await until(h, `${type} started`, () => stubs.ids.has(type));
    return client.workflow.getHandle(stubs.ids.get(type)!);
  };

  it('runs every step in runbook order and ends done with the gates on record', async () => {
    const { h, stubs } = await start();
    const s: CutoverStatus = await h.result();
    expect(s.state).toBe('done');
    expect(s.steps.map((x) => [x.step, x.status])).toEqual(STEPS.map((x) => [x, 'done']));
    expect(stubs.started).toEqual(CLEAN_ORDER);
    expect(s.actions.filter((a) => a.action === 'approve').map((a) => a.step)).toEqual(['switch', 'dedupe', 'go-no-go', 'flag-removal']);
    expect(s.gates.map((g) => g.gate)).toContain('legacy-unused');
    await keep(h, 'cutover-clean');
  });

  it('a step skipped by the plan is on record with its reason and never started', async () => {
    const { h, stubs } = await start({ skip: [{ step: 'dedupe', reason: 'no numeric MM rows on this platform' }] });
    const s: CutoverStatus = await h.result();
    expect(s.steps.find((x) => x.step === 'dedupe')).toMatchObject({
      status: 'skipped',
      skipReason: 'no numeric MM rows on this platform',
    });
    expect(stubs.started.filter((t) => t.startsWith('dedupe'))).toEqual([]);
  });

  // one run per phase: pause, resume, then roll back while the phase still runs, retry, and see it re-earned
  for (const step of ['preflight', 'backfill', 'parity', 'switch', 'rerate', 'dedupe', 'reports'] as const) {
    it(`in ${step}: pause holds it (the phase gets it where it can take it), resume goes on; rollback stops the phase, reads go to legacy, retry re-runs backfill, parity and switch before it`, async () => {
      const { h, stubs } = await start({}, (s) => s.on(CHILD_OF[step]!, { block: true }));
      await blockedIn(h, stubs, step);
      await h.signal(cutoverPause, me);
      await until(h, 'paused', (x) => x.state === 'paused');
      // (the rerate's child is the sequencer's, under the operator id: not stubbed here)
      if (step === 'backfill') await until(h, 'pause passed on', () => stubs.events.includes('backfill:pause'));
      await h.signal(cutoverResume, me);
      await until(h, 'running', (x) => x.state === 'running');
      if (step === 'backfill') await until(h, 'resume passed on', () => stubs.events.includes('backfill:resume'));

      const before = stubs.started.length;
      await h.signal(cutoverRollback, { actor: 'tester', reason: `trouble in ${step}` });
      const s = await until(h, 'rolled back', (x) => x.state === 'rolled-back');
      expect(s.blockedReason).toContain(`trouble in ${step}`);
      expect(s.steps.find((r) => r.step === step)!.status).toBe('pending');
      expect(stubs.rollbacks).toEqual([`rollback: trouble in ${step}`]);
      if (CHILD_OF[step] !== 'rerate-develop') expect(stubs.events).toContain(`${CHILD_OF[step]}:cancelled`);
      await h.signal(cutoverRetry, me);
      await until(h, `${step} done again`, (x) => x.steps.find((r) => r.step === step)!.status === 'done');
      const again = stubs.started.slice(before);
      expect(again[0]).toBe(step === 'preflight' ? 'preflight' : 'backfill');
      if (step !== 'preflight' && step !== 'backfill') expect(again.slice(0, 2)).toEqual(['backfill', 'parity']);
      expect(again).toContain(CHILD_OF[step]);
      if (step === 'rerate') {
        const done: CutoverStatus = await h.result();
        expect(done.state).toBe('done');
        expect(done.actions.map((a) => a.action)).toEqual(expect.arrayContaining(['pause', 'resume', 'rollback', 'retry']));
        // (cutover-rollback-retry.json is the same run before the rerate was withdrawn from its sequencer: it still replays)
        await keep(h, 'cutover-rollback-withdraw-retry');
      } else {
        await h.signal(cutoverAbort, me);
        await h.result();
      }
    });
  }

  it('rollback while waiting for an approval, and in the rollback window: reads to legacy, then retry completes', async () => {
    const { h, stubs } = await start({ autoApprove: false });
    await until(h, 'switch approval', (x) => x.awaiting === 'switch');
    await h.signal(cutoverRollback, { actor: 'tester', reason: 'not today' });
    await until(h, 'rolled back', (x) => x.state === 'rolled-back');
    await h.signal(cutoverAbort, me);
    expect((await h.result()).state).toBe('aborted');
    // reads went to legacy at the rollback; the abort after it has nothing more to roll back
    expect(stubs.rollbacks).toEqual(['rollback: not today']);
  });

  it('a regression found in the rollback window rolls reads back on its own, records why, and blocks', async () => {
    const { h, stubs } = await start({ rollbackWindowSeconds: 30 });
    await until(h, 'window', (x) => x.step === 'rollback-window');
    stubs.windowOk = false;
    const s = await until(h, 'auto rollback', (x) => x.state === 'rolled-back');
    expect(s.blockedReason).toContain('two mostRecent rows');
    expect(s.actions.some((a) => a.action === 'auto-rollback')).toBe(true);
    expect(stubs.rollbacks[0]).toContain('automatic rollback');
    await h.signal(cutoverAbort, me);
    expect((await h.result()).state).toBe('aborted');
    await keep(h, 'cutover-auto-rollback-abort');
  });

  it('a failed step blocks the cutover with its error until retry; the retry runs it again', async () => {
    const { h, stubs } = await start();
    stubs.on('reports', { fail: 'report query found no Marathon Match rows' });
    const s = await until(h, 'blocked', (x) => x.state === 'blocked');
    expect(s.step).toBe('reports');
    expect(s.blockedReason).toContain('report query found no Marathon Match rows');
    expect(s.steps.find((r) => r.step === 'reports')).toMatchObject({ status: 'failed', attempts: 1 });
    await h.signal(cutoverRetry, me);
    const done: CutoverStatus = await h.result();
    expect(done.state).toBe('done');
    expect(done.steps.find((r) => r.step === 'reports')!.attempts).toBe(2);
    await keep(h, 'cutover-blocked-retry');
  });

  const GATE_RACE = { fail: 'the parity gate does not hold: the data changed since the approved runs', failType: 'GateClosed' };

  it('a switch whose own gate check loses a race with live traffic re-checks the members changed since and switches', async () => {
    const { h, stubs } = await start({}, (s) => {
      s.on('switchReads', GATE_RACE);
      s.raceAfterSwitchFails = true;
    });
    const done: CutoverStatus = await h.result();
    expect(done.state).toBe('done');
    // switch, the re-check of the changed members (a parity child), switch again
    const first = stubs.started.indexOf('switchReads');
    expect(stubs.started.slice(first, first + 3)).toEqual(['switchReads', 'parity', 'switchReads']);
    expect(done.steps.find((r) => r.step === 'switch')).toMatchObject({ status: 'done', attempts: 1 });
    await keep(h, 'cutover-switch-gate-race');
  });

  it('a switch whose gate keeps closing blocks after three tries, naming why', async () => {
    const { h, stubs } = await start({}, (s) => s.on('switchReads', GATE_RACE, GATE_RACE, GATE_RACE));
    const s = await until(h, 'blocked', (x) => x.state === 'blocked');
    expect(s.step).toBe('switch');
    expect(s.blockedReason).toContain('the data changed since the approved runs');
    expect(stubs.started.filter((t) => t === 'switchReads')).toHaveLength(3);
    await h.signal(cutoverAbort, me);
    await h.result();
  });

  it('approve is refused while the gate does not hold, accepted with force and on record as forced', async () => {
    const { h, stubs } = await start({ autoApprove: false });
    // parity passes (its step needs the gate), then the gate closes while the switch waits: re-evaluated every second
    await until(h, 'switch approval', (x) => x.awaiting === 'switch');
    stubs.parityHolds = false;
    // the second evaluation after the gate closed: by then the first one's answer is the one an approval sees
    const checks = stubs.parityChecks;
    while (stubs.parityChecks < checks + 2) await new Promise((r) => setTimeout(r, 100));
    await expect(h.executeUpdate(cutoverApprove, { args: [{ gate: 'switch', reason: 'go', actor: 'tester' }] })).rejects.toBeInstanceOf(
      WorkflowUpdateFailedError,
    );
    const refused = await h
      .executeUpdate(cutoverApprove, { args: [{ gate: 'dedupe', reason: 'go', actor: 'tester' }] })
      .catch((e: Error) => e);
    expect(((refused as Error).cause as Error | undefined)?.message ?? '').toMatch(/waits for approval of switch/);
    const view = await h.executeUpdate(cutoverApprove, {
      args: [{ gate: 'switch', reason: 'we checked by hand', actor: 'tester', force: true }],
    });
    expect(view.holds).toBe(false);
    const s = await until(h, 'past the switch', (x) => x.steps.find((r) => r.step === 'switch')!.status === 'done');
    expect(s.actions.find((a) => a.action === 'approve')).toMatchObject({
      step: 'switch',
      forced: true,
      reason: 'we checked by hand',
      actor: 'tester',
    });
    await h.signal(cutoverAbort, me);
    expect((await h.result()).state).toBe('aborted');
    await keep(h, 'cutover-forced-approve-abort');
  });

  it('approved while paused, the step waits for resume', async () => {
    const { h, stubs } = await start({ autoApprove: false });
    await until(h, 'switch approval', (x) => x.awaiting === 'switch');
    await h.signal(cutoverPause, me);
    await until(h, 'paused', (x) => x.paused === true);
    await h.executeUpdate(cutoverApprove, { args: [{ gate: 'switch', reason: 'go', actor: 'tester' }] });
    const s = await until(h, 'paused at the switch', (x) => x.state === 'paused');
    expect(s.step).toBe('switch');
    // nothing ran while paused
    await new Promise((r) => setTimeout(r, 1500));
    expect(stubs.started).not.toContain('switchReads');
    await h.signal(cutoverResume, me);
    await until(h, 'past the switch', (x) => x.steps.find((r) => r.step === 'switch')!.status === 'done');
    expect(stubs.started).toContain('switchReads');
    await h.signal(cutoverAbort, me);
    await h.result();
    await keep(h, 'cutover-approved-while-paused');
  });

  it('abort ends the cutover at once and puts reads back to legacy when they were unified', async () => {
    const { h, stubs } = await start();
    stubs.on('reports', { block: true });
    await blockedIn(h, stubs, 'reports');
    await h.signal(cutoverAbort, { actor: 'tester', reason: 'business said no' });
    const s: CutoverStatus = await h.result();
    expect(s.state).toBe('aborted');
    expect(s.blockedReason).toContain('business said no');
    expect(stubs.rollbacks).toEqual(['abort: business said no']);
    expect(stubs.events).toContain('reports:cancelled');
  });

  it('an abort that arrives while a step is being recorded as started stops that step before it starts', async () => {
    let held!: () => void;
    const reached = new Promise<void>((resolve) => (held = resolve));
    const { h, stubs } = await start({}, (s) => {
      s.holdBeginOf = 'dedupe';
      s.held = held;
    });
    await reached;
    await h.signal(cutoverAbort, { actor: 'tester', reason: 'stop now' });
    await until(h, 'the abort on record', (s) => s.actions.some((a) => a.action === 'abort'));
    stubs.release!();
    const s: CutoverStatus = await h.result();
    expect(s.state).toBe('aborted');
    expect(s.steps.find((r) => r.step === 'dedupe')?.status).toBe('stopped');
    expect(stubs.started).not.toContain('dedupe-dry-run');
    await keep(h, 'cutover-abort-while-step-begins');
  });

  it('an abort that arrives while a rollback runs is not lost: the cutover ends aborted', async () => {
    let held!: () => void;
    const reached = new Promise<void>((resolve) => (held = resolve));
    const { h, stubs } = await start({ autoApprove: false }, (s) => {
      s.holdRollback = true;
      s.held = held;
    });
    await until(h, 'switch approval', (x) => x.awaiting === 'switch');
    await h.signal(cutoverRollback, { actor: 'tester', reason: 'not today' });
    await reached;
    await h.signal(cutoverAbort, { actor: 'tester', reason: 'enough' });
    await until(h, 'the abort on record', (s) => s.actions.some((a) => a.action === 'abort'));
    stubs.release!();
    const s = await until(h, 'aborted', (x) => x.state === 'aborted' || x.state === 'rolled-back');
    expect(s.state).toBe('aborted');
    expect((await h.result()).blockedReason).toContain('enough');
    await keep(h, 'cutover-abort-while-rolling-back');
  });
});
