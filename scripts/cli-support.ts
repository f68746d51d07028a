import { TemporalFailure, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ConfigError } from '../domain/config';
import { INPUT_FAILURES } from '../domain/failures';
import { bringUp, stderrLog, type Stack } from '../lib/stack';
import { hasWorker, runWorker } from '../workers/run';

/** Exit codes: 0 ok, 1 the operation could not run or failed, 2 bad input (flags, config). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The innermost cause: a workflow or update failure wraps the activity's or validator's own message. */
function rootCause(e: Error): Error & { type?: string } {
  let c: Error = e;
  while (c.cause instanceof Error) c = c.cause;
  return c;
}

export function fail(e: unknown): never {
  const err = e instanceof Error ? e : new Error(String(e));
  const root = rootCause(err);
  const badInput = err instanceof ConfigError || err instanceof UsageError || (root.type !== undefined && INPUT_FAILURES.has(root.type));
  stderrLog(
    err instanceof ConfigError || err instanceof UsageError
      ? err.message
      : `error: ${root === err ? err.message : `${err.message}: ${root.message}`}`,
  );
  process.exit(badInput ? 2 : 1);
}

/** A whole-number flag, or a UsageError naming the flag. */
export function wholeNumber(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw new UsageError(`${flag} must be a whole number, got "${v}"`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} is too large (${v.trim().slice(0, 30)}): at most ${Number.MAX_SAFE_INTEGER}`);
  return n;
}

/** Brings the stack up for one command and always takes down what it started. */
export async function withStack<T>(opts: { temporal?: boolean }, fn: (stack: Stack) => Promise<T>): Promise<T> {
  const stack = await bringUp({ temporal: opts.temporal });
  try {
    return await fn(stack);
  } finally {
    await stack.close();
  }
}

/** Runs `fn` with a worker on the task queue: the one already polling (npm run stack), else one in this process. */
export async function withWorker<T>(stack: Stack, log: (m: string) => void, fn: () => Promise<T>): Promise<T> {
  const { client, config } = stack;
  if (!client) throw new Error('Temporal is not up');
  if (await hasWorker(client, config.temporal.namespace, config.temporal.taskQueue)) return fn();
  log(`no worker is polling "${config.temporal.taskQueue}"; running one in this process`);
  const worker = await runWorker(stack, { role: 'cli' });
  try {
    return await fn();
  } finally {
    await worker.stop();
  }
}

/**
 * Whether a failed call means Temporal (or a busy worker) did not answer, not that the run failed: the client wraps
 * the gRPC status in a ServiceError whose own message is generic ("Failed to query Workflow"), so its causes are
 * read too. A workflow's own failure (WorkflowFailedError, or any failure carried in history) is never a blink,
 * whatever its causes say: an activity that gave up on an unreachable database fails the run for good.
 */
export function temporalBlinked(e: unknown): boolean {
  let text = '';
  for (let c: unknown = e, depth = 0; c !== undefined && c !== null && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    if (c instanceof WorkflowFailedError || c instanceof TemporalFailure) return false;
    text += ` ${c instanceof Error ? c.message : String(c)}`;
  }
  return /UNAVAILABLE|ECONNREFUSED|DEADLINE_EXCEEDED|Connection refused|transport error|query timed out/i.test(text);
}

/**
 * A workflow's result, waiting out a Temporal server that is down or restarting (the client gives up after a
 * minute or so): the run goes on without us, so a CLI following it must not report it failed.
 */
export async function resultThroughOutages<T>(handle: { result(): Promise<T> }, log: (m: string) => void = stderrLog): Promise<T> {
  let warned = false;
  for (;;) {
    try {
      return await handle.result();
    } catch (e) {
      if (!temporalBlinked(e)) throw e;
      if (!warned) log('Temporal is unreachable; the run continues on the server — waiting for it to come back');
      warned = true;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** A signal, query or update to a running workflow: none running is the operator's to know (exit 2), not a crash. */
export async function steer<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError || (e instanceof Error && /workflow execution already completed/i.test(e.message)))
      throw new UsageError(`no ${what} is running: nothing to steer (see \`status\` for what runs)`);
    throw e;
  }
}

/** An input failure raised inside a workflow (a challenge outside the stream, a stale preview) is the operator's to fix: exit 2. */
export async function inputErrorsAsUsage<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    for (let c: unknown = e instanceof WorkflowFailedError ? e.cause : undefined; c instanceof Error; c = c.cause) {
      const type = (c as { type?: string }).type;
      if (type !== undefined && INPUT_FAILURES.has(type)) throw new UsageError(c.message);
    }
    throw e;
  }
}

/**
 * Whether a worker will act on a message now. Signals are durable (recorded, acted on once a worker runs); an update
 * or a query waits for a worker, so a command that needs one refuses at once instead of hanging.
 */
export async function workerPolls(stack: Stack): Promise<boolean> {
  const { client, config } = stack;
  if (!client) return false;
  // a `start` or `backfill` following its run in another terminal has a worker in its process: it answers too
  return hasWorker(client, config.temporal.namespace, config.temporal.taskQueue, { now: true }).catch(() => true);
}

export const noWorkerMessage = (stack: Stack) =>
  `no worker polls task queue "${stack.config.temporal.taskQueue}" (start one: \`npm run stack\`, or \`npm run worker\` beside it)`;

/** An update waits for a worker to answer: refuse at once when none polls (exit 1), naming what was not done. */
export async function requireWorker(stack: Stack, what: string): Promise<void> {
  if (!(await workerPolls(stack))) throw new Error(`${noWorkerMessage(stack)}: ${what} needs one to answer; nothing was changed`);
}

/** A signal is durable: sent with no worker polling, it is recorded and acts once one runs — said as a warning. */
export async function warnIfNoWorker(stack: Stack): Promise<void> {
  if (!(await workerPolls(stack))) stderrLog(`WARNING: ${noWorkerMessage(stack)}: the request is recorded and takes effect once one runs`);
}
