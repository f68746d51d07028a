import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection, type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from '../domain/config';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { ensureTemporalCli } from './temporal-cli';

export interface TemporalHandle {
  address: string;
  namespace: string;
  /** the Web UI, when we know where it is */
  uiUrl?: string;
  /** 'external' (TEMPORAL_ADDRESS), 'dev' (we started it), 'dev-running' (a dev server someone else started) */
  mode: 'external' | 'dev' | 'dev-running';
  connection: Connection;
  stop(): Promise<void>;
}

async function tryConnect(address: string): Promise<Connection | undefined> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.workflowService.getSystemInfo({});
    return connection;
  } catch {
    return undefined;
  }
}

/** Registers our search attributes on the namespace (idempotent). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = existing.customAttributes ?? {};
  const missing = SEARCH_ATTRIBUTES.filter((k) => !(k.name in custom));
  if (missing.length === 0) return;
  const searchAttributes: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const k of missing) searchAttributes[k.name] = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (e) {
    if (!/already exists/i.test((e as Error).message)) throw e;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * TEMPORAL_ADDRESS set → that cluster. Unset → the local dev server on TEMPORAL_PORT: reuse one that is already
 * running (e.g. `npm run stack` in another terminal), else start `temporal server start-dev` with its SQLite file in
 * the data folder and the Web UI on TEMPORAL_UI_PORT.
 */
export async function ensureTemporal(config: Config, log: (m: string) => void = () => {}): Promise<TemporalHandle> {
  const { namespace } = config.temporal;
  if (config.temporal.address) {
    const connection = await tryConnect(config.temporal.address);
    if (!connection) {
      throw new Error(
        `Cannot reach Temporal at TEMPORAL_ADDRESS=${config.temporal.address}: check the address, or unset it to start a local dev server`,
      );
    }
    await ensureSearchAttributes(connection, namespace);
    return { address: config.temporal.address, namespace, mode: 'external', connection, stop: () => connection.close() };
  }

  const address = `127.0.0.1:${config.temporal.port}`;
  const uiUrl = `http://127.0.0.1:${config.temporal.uiPort}`;
  const running = await tryConnect(address);
  if (running) {
    log(`using the Temporal dev server already running at ${address}`);
    await ensureSearchAttributes(running, namespace);
    return { address, namespace, uiUrl, mode: 'dev-running', connection: running, stop: () => running.close() };
  }

  const cli = await ensureTemporalCli(config.temporal.cliPath, log);
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const logFd = openSync(resolve(dataDir, 'temporal.log'), 'a');
  log(`starting Temporal dev server (${cli}) at ${address}, Web UI ${uiUrl}`);
  const child = spawn(
    cli,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(config.temporal.port),
      '--ui-port',
      String(config.temporal.uiPort),
      '--db-filename',
      resolve(dataDir, 'temporal.sqlite'),
      '--namespace',
      namespace,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  let exitInfo: string | undefined;
  child.once('exit', (code, signal) => (exitInfo = `exited with ${signal ?? code}`));

  const deadline = Date.now() + 60_000;
  let connection: Connection | undefined;
  while (!connection) {
    if (exitInfo)
      throw new Error(
        `Temporal dev server ${exitInfo}; see ${resolve(dataDir, 'temporal.log')} (is port ${config.temporal.port} or ${config.temporal.uiPort} taken? set TEMPORAL_PORT / TEMPORAL_UI_PORT)`,
      );
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`Temporal dev server did not answer at ${address} within 60 s; see ${resolve(dataDir, 'temporal.log')}`);
    }
    await sleep(250);
    connection = await tryConnect(address);
  }
  await ensureSearchAttributes(connection, namespace);
  const conn = connection;
  return {
    address,
    namespace,
    uiUrl,
    mode: 'dev',
    connection: conn,
    async stop() {
      await conn.close();
      await stopChild(child);
    },
  };
}

/** CLI commands run a worker only for their own duration: such pollers say nothing about who will serve later. */
export const CLI_IDENTITY_PREFIX = 'cutover-cli-';

/**
 * Whether a long-lived worker polls the task queue now (e.g. `npm run stack` in another terminal). The server
 * lists pollers for minutes after they stop, so only recent polls count (an idle worker re-polls within about a
 * minute), and workers embedded in earlier CLI commands never do.
 */
export async function hasWorker(
  client: Client,
  namespace: string,
  taskQueue: string,
  /** 'now': any worker polling now counts, a CLI command's own included (it answers while that command runs) */
  opts: { now?: boolean } = {},
): Promise<boolean> {
  const r = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const recent = Date.now() - 75_000;
  return (r.pollers ?? []).some((p) => {
    const seconds = Number(p.lastAccessTime?.seconds ?? 0);
    return (opts.now === true || !(p.identity ?? '').startsWith(CLI_IDENTITY_PREFIX)) && seconds * 1000 >= recent;
  });
}
