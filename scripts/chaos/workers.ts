import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { WorkerProcess } from './worker-process';

/**
 * The worker processes of one run: one polls at a time; each kill is followed by a fresh process. A worker that
 * dies by itself is a product fault: it is noted (the run reports it and fails) and replaced so the rest of the
 * run can still be judged.
 */
export class WorkerFleet {
  current: WorkerProcess;
  readonly spawned: WorkerProcess[] = [];
  readonly unexpected: string[] = [];
  private readonly watchdog: NodeJS.Timeout;

  /** worker logs go to `logDir` (worker-<n>.log) */
  constructor(
    private readonly env: Record<string, string>,
    private readonly logDir: string,
    private readonly log: (m: string) => void,
  ) {
    this.current = this.spawn();
    // checked on a timer, not in the driver's waits: a worker can die while the driver awaits a workflow result
    this.watchdog = setInterval(() => this.replaceIfDead(), 250);
  }

  get taskQueue(): string {
    return this.env.TASK_QUEUE!;
  }

  private spawn(): WorkerProcess {
    const w = new WorkerProcess(this.env, join(this.logDir, `worker-${this.env.TASK_QUEUE}-${this.spawned.length + 1}.log`));
    this.spawned.push(w);
    return w;
  }

  /** SIGKILL the polling worker and start its successor at once; returns both pids. */
  async killAndReplace(): Promise<{ killed: number; started: number }> {
    const killed = this.current.pid;
    await this.current.kill();
    this.current = this.spawn();
    return { killed, started: this.current.pid };
  }

  /** A worker that exited on its own is recorded and replaced. */
  private replaceIfDead(): void {
    const w = this.current;
    if (w.alive || w.unexpectedExit === undefined) return;
    const note = `worker pid ${w.pid} ${w.unexpectedExit}`;
    this.unexpected.push(note);
    this.log(`UNEXPECTED: ${note}; starting another`);
    this.current = this.spawn();
  }

  async stopAll(): Promise<void> {
    clearInterval(this.watchdog);
    for (const w of this.spawned) await w.kill();
  }
}

/** Identities of the workers that polled the task queue (the server keeps dead ones listed for a while). */
export async function pollerIdentities(client: Client, namespace: string, taskQueue: string): Promise<Set<string>> {
  const r = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return new Set((r.pollers ?? []).map((p) => p.identity ?? ''));
}
