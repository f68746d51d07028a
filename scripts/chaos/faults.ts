import { setTimeout as sleep } from 'node:timers/promises';
import { busyBackends, terminateBackends } from './observe';
import { markOf, progressText, type FaultKind, type Harness } from './harness';
import { pollerIdentities } from './workers';
import { secondsSince } from './wait';

/** The three faults. Each is injected, then watched until the work moves again (or recoverySeconds pass). */

/** The product's pools name themselves so (store/db.ts): the Postgres fault ends exactly their sessions. */
const PRODUCT_APPLICATION = 'cutover';

/** Where a fault lands and how "moving again" is seen: batches committing, or parity finishing. */
export interface Watch {
  /** the progress to print, and whether the phase is still before its end */
  now(): Promise<{ text: string; running: boolean }>;
  /** a test that turns true once the work has moved past this moment */
  checkpoint(): Promise<() => Promise<boolean>>;
  moved: string;
  phase: 'backfill' | 'parity';
}

export function backfillWatch(h: Harness, runKey: string): Watch {
  return {
    async now() {
      const m = await markOf(h, runKey);
      return { text: progressText(m), running: m === undefined || m.committed < m.total };
    },
    async checkpoint() {
      const m = await markOf(h, runKey);
      const committed = m?.committed ?? 0;
      return async () => {
        const n = await markOf(h, runKey);
        return n !== undefined && (n.committed > committed || n.status === 'done');
      };
    },
    moved: 'batches committing again',
    phase: 'backfill',
  };
}

export function parityWatch(label: string, done: () => boolean): Watch {
  return {
    now: async () => ({ text: done() ? `${label} (finished)` : label, running: !done() }),
    checkpoint: async () => async () => done(),
    moved: 'parity finished',
    phase: 'parity',
  };
}

async function recovery(h: Harness, moved: () => Promise<boolean>, since: number): Promise<number | undefined> {
  const deadline = since + h.settings.recoverySeconds * 1000;
  while (Date.now() < deadline) {
    if (await moved().catch(() => false)) return secondsSince(since);
    await sleep(100);
  }
  return undefined;
}

const s = (n: number | undefined) => (n === undefined ? 'never' : `${n.toFixed(1)} s`);

async function record(
  h: Harness,
  kind: FaultKind,
  w: Watch,
  inject: () => Promise<{ observed: string; since: number; extra?: Promise<string> }>,
): Promise<void> {
  const at = secondsSince(h.t0);
  const where = await w.now();
  const moved = await w.checkpoint();
  const { observed, since, extra } = await inject();
  const recoveredAfter = await recovery(h, moved, since);
  const tail = extra ? `; ${await extra}` : '';
  const outcome = recoveredAfter === undefined ? `NOT within ${h.settings.recoverySeconds} s` : `after ${s(recoveredAfter)}`;
  const line = `${observed}${tail}; ${w.moved} ${outcome}`;
  h.faults.push({ kind, phase: w.phase, at, progress: where.text, landed: where.running, observed: line, recoveredAfter });
  h.log(`${kind} at ${at.toFixed(1)} s (${where.text}): ${line}`);
}

/** Waits (briefly) for a moment when our sessions are busy, so the fault lands inside work rather than between it. */
async function busyMoment(h: Harness, w: Watch, ms = 5000): Promise<number> {
  const deadline = Date.now() + ms;
  let busy = 0;
  while (Date.now() < deadline && (await w.now()).running) {
    busy = await busyBackends(h.db, h.database, PRODUCT_APPLICATION).catch(() => 0);
    if (busy > 0) break;
    await sleep(10);
  }
  return busy;
}

export async function killWorker(h: Harness, w: Watch): Promise<void> {
  const busy = await busyMoment(h, w);
  const seen = await pollerIdentities(h.client, h.temporal.namespace, h.workers.taskQueue).catch(() => new Set<string>());
  await record(h, 'worker SIGKILL', w, async () => {
    const since = Date.now();
    const { killed, started } = await h.workers.killAndReplace();
    // the successor announces itself by polling under a new identity
    const polling = recovery(
      h,
      async () => [...(await pollerIdentities(h.client, h.temporal.namespace, h.workers.taskQueue))].some((i) => !seen.has(i)),
      since,
    ).then((t) => `new worker ${started} polling after ${s(t)}`);
    return { observed: `pid ${killed} killed (${busy} busy db session${busy === 1 ? '' : 's'})`, since, extra: polling };
  });
}

export async function restartTemporal(h: Harness, w: Watch): Promise<void> {
  await record(h, 'temporal restart', w, async () => {
    const since = Date.now();
    await h.temporal.kill();
    await sleep(h.settings.temporalDownSeconds * 1000);
    const restarted = Date.now();
    await h.temporal.up();
    return {
      observed: `SIGKILLed, down ${secondsSince(since).toFixed(1)} s, same port and file, answering ${secondsSince(restarted).toFixed(1)} s after the restart`,
      since,
    };
  });
}

export async function terminatePostgresSessions(h: Harness, w: Watch): Promise<void> {
  await busyMoment(h, w);
  await record(h, 'postgres sessions', w, async () => {
    const since = Date.now();
    const r = await terminateBackends(h.db, h.database, PRODUCT_APPLICATION);
    return { observed: `pg_terminate_backend ended ${r.terminated} sessions (${r.busy} busy)`, since };
  });
}
