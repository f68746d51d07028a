import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { freePort } from '../../lib/ports';
import { ensureTemporalCli } from '../../lib/temporal-cli';
import { ensureSearchAttributes } from '../../lib/temporal';
import { track } from './children';

/**
 * The chaos suite's own Temporal dev server: never a shared one, because the suite kills it. Restarts reuse the
 * port and the SQLite file, so workflows, task queues and search attributes survive as they would on a real
 * cluster's restart.
 */

async function answers(address: string): Promise<boolean> {
  try {
    const c = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      await c.workflowService.getSystemInfo({});
      return true;
    } finally {
      await c.close();
    }
  } catch {
    return false;
  }
}

export class ChaosTemporal {
  readonly namespace = 'default';
  private child?: ChildProcess;
  /** set when the server exits while we did not kill it */
  unexpectedExit?: string;

  private constructor(
    private readonly cli: string,
    readonly port: number,
    readonly uiPort: number,
    readonly dir: string,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
  get dbFile(): string {
    return join(this.dir, 'temporal.sqlite');
  }

  /** Installs the CLI if needed, then starts the server on free ports with its file in `dir`. */
  static async start(dir: string, cliPath?: string): Promise<ChaosTemporal> {
    const server = new ChaosTemporal(await ensureTemporalCli(cliPath), await freePort(), await freePort(), dir);
    await server.up();
    return server;
  }

  /** Starts the server (again) on the same port and file; resolves once it answers, with our search attributes. */
  async up(): Promise<void> {
    const log = openSync(join(this.dir, 'temporal.log'), 'a');
    const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(this.port), '--ui-port', String(this.uiPort)];
    args.push('--db-filename', this.dbFile, '--namespace', this.namespace, '--log-level', 'warn');
    // its own process group: SIGKILL to the group leaves nothing of it behind
    const child = spawn(this.cli, args, { stdio: ['ignore', log, log], detached: true });
    track(child);
    closeSync(log);
    this.child = child;
    this.unexpectedExit = undefined;
    child.once('exit', (code, signal) => {
      if (this.child === child) this.unexpectedExit = `exited with ${signal ?? code}`;
    });
    const deadline = Date.now() + 60_000;
    while (!(await answers(this.address))) {
      if (this.unexpectedExit) throw new Error(`Temporal dev server ${this.unexpectedExit}; see ${join(this.dir, 'temporal.log')}`);
      if (Date.now() > deadline) throw new Error(`Temporal dev server did not answer at ${this.address} within 60 s`);
      await sleep(200);
    }
    const c = await Connection.connect({ address: this.address });
    try {
      await ensureSearchAttributes(c, this.namespace);
    } finally {
      await c.close();
    }
  }

  /** SIGKILL: no clean shutdown, as a crashed host or an OOM kill would do it. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
  }
}
