import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../lib/temporal-cli';
import { track } from './children';

/** A real worker process (`npm run worker`), in its own process group so one SIGKILL takes all of it. */
export class WorkerProcess {
  private readonly child: ChildProcess;
  private killedByUs = false;
  /** how it ended when nobody killed it (a product fault: the worker must survive what the suite does) */
  unexpectedExit?: string;
  readonly exited: Promise<void>;

  /** `logFile` keeps its stderr: when a worker dies by itself, its last words say why */
  constructor(
    env: Record<string, string>,
    private readonly logFile: string,
  ) {
    const base = { ...process.env };
    // the chaos database plays all three roles, whatever the operator's shell says
    for (const k of ['CHALLENGES_DB_URL', 'CHALLENGE_DB_URL', 'REVIEW_DB_URL', 'TEMPORAL_NAMESPACE']) delete base[k];
    const log = openSync(logFile, 'a');
    this.child = spawn(resolve(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['workers/main.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...base, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', log, log],
      detached: true,
    });
    closeSync(log);
    track(this.child);
    this.exited = new Promise((r) =>
      this.child.once('exit', (code, signal) => {
        if (!this.killedByUs) this.unexpectedExit = `exited by itself with ${signal ?? `code ${code}`}${this.lastWords()}`;
        r();
      }),
    );
  }

  private lastWords(): string {
    try {
      const lines = readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
      return lines ? ` (${this.logFile}: ${lines.slice(0, 400)})` : '';
    } catch {
      return '';
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(): Promise<void> {
    if (!this.alive) return;
    this.killedByUs = true;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.exited;
  }
}
