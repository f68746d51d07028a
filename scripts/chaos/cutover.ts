import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { STEPS, type CutoverStatus, type Step } from '../../domain/cutover';
import { freePort } from '../../lib/ports';
import type { Stack } from '../../lib/stack';
import { duplicateKeys, unifiedChecksum, type UnifiedChecksum } from '../../store/checksum';
import { readCutover } from '../../store/cutover';
import { endChallenge } from '../autopilot/end-challenge';
import { callEnded } from '../autopilot/http';
import { autopilotToken } from '../autopilot/token';
import { startCutover } from '../commands/cutover-run';
import { startApiForStack } from '../commands/serve';
import { Rng } from '../seed/prng';
import type { Check } from './outcome';
import { WorkerFleet } from './workers';

/**
 * A whole cutover with its worker SIGKILLed at chosen steps, against an undisturbed cutover of identically seeded
 * data: "killing the worker at any point and restarting it changes nothing in the outcome". No autopilot (its
 * timing would make two runs differ); the one live ending the refresh step needs is made by this driver when the
 * step starts, the same challenge in both runs. Workers are real processes (`npm run worker`); the driver reads
 * the cutover's progress from its mirror table, which needs no worker.
 */

export interface CutoverChaosSettings {
  /** steps in whose run the worker is killed (each once, a seeded delay after the step starts) */
  killAt: readonly Step[];
  /** the longest delay after a step starts before its kill (ms) */
  maxDelayMs: number;
  /** seeds the delays and the challenge ended */
  seed: number;
  /** the whole run's limit (s): only a hang trips it */
  timeoutSeconds: number;
}

export interface CutoverRunTarget {
  /** a migrated, seeded database with a Temporal client (the suite's dev server) */
  stack: Stack;
  taskQueue: string;
}

export interface CutoverKill {
  /** the step the kill was meant for, and the one running when it landed (a short step may be over by then) */
  meant: Step;
  landed: Step | 'after the end' | 'not made';
  atSeconds: number;
}

export interface CutoverOutcome {
  state: string;
  steps: string;
  failingGates: string;
  readSource: string;
  checksum: UnifiedChecksum;
  duplicates: { stats: number; history: number };
  /** evidence rows by kind (passed/all): a retried activity that stored twice shows here */
  evidence: Record<string, string>;
  refreshed: number;
  approvals: number;
  seconds: number;
}

export interface CutoverChaosReport {
  settings: CutoverChaosSettings;
  kills: CutoverKill[];
  unexpected: string[];
  checks: Check[];
  passed: boolean;
  seconds: { undisturbed: number; disturbed: number };
}

export async function runCutoverChaos(
  reference: CutoverRunTarget,
  disturbed: CutoverRunTarget,
  settings: CutoverChaosSettings,
  opts: { logDir: string; log: (m: string) => void },
): Promise<CutoverChaosReport> {
  mkdirSync(opts.logDir, { recursive: true });
  opts.log('undisturbed cutover');
  const ref = await oneCutover(reference, settings, [], opts);
  opts.log(
    `undisturbed cutover done in ${ref.outcome.seconds.toFixed(1)} s; the same with the worker killed in ${settings.killAt.join(', ')}`,
  );
  const got = await oneCutover(disturbed, settings, settings.killAt, opts);
  const checks = judgeCutover(ref.outcome, got.outcome, got.kills, got.unexpected);
  return {
    settings,
    kills: got.kills,
    unexpected: got.unexpected,
    checks,
    passed: checks.every((c) => c.pass),
    seconds: { undisturbed: ref.outcome.seconds, disturbed: got.outcome.seconds },
  };
}

async function oneCutover(
  target: CutoverRunTarget,
  settings: CutoverChaosSettings,
  killAt: readonly Step[],
  opts: { logDir: string; log: (m: string) => void },
): Promise<{ outcome: CutoverOutcome; kills: CutoverKill[]; unexpected: string[] }> {
  const { stack, taskQueue } = target;
  const db = stack.dbs.members;
  const quiet = { ...stack, config: { ...stack.config, temporal: { ...stack.config.temporal, taskQueue }, logLevel: 'warn' as const } };
  const api = await startApiForStack(quiet, { port: await freePort(), host: '127.0.0.1', log: () => {} });
  const fleet = new WorkerFleet(
    {
      DATABASE_URL: stack.config.databaseUrl,
      TEMPORAL_ADDRESS: stack.temporal!.address,
      TASK_QUEUE: taskQueue,
      API_URL: api.url,
    },
    opts.logDir,
    opts.log,
  );
  const rng = new Rng(settings.seed, 'cutover-chaos');
  const delays = new Map(killAt.map((s) => [s, rng.int(0, settings.maxDelayMs)]));
  const kills: CutoverKill[] = [];
  const name = `chaos-${killAt.length ? 'disturbed' : 'reference'}-${process.pid}-${Date.now()}`;
  const started = Date.now();
  try {
    const handle = await startCutover(
      stack.client!,
      taskQueue,
      { name, autoApprove: true, rollbackWindowSeconds: 6, checkEverySeconds: 2, refreshWaitSeconds: 300 },
      'chaos',
    );
    const firstSeen = new Map<Step, number>();
    let ended = false;
    const done = handle.result().then(
      () => true,
      () => true,
    );
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      if (Date.now() - started > settings.timeoutSeconds * 1000)
        throw new Error(
          `cutover ${name} not finished after ${settings.timeoutSeconds} s (${JSON.stringify((await status(db, name))?.step)})`,
        );
      const s = await status(db, name);
      const step = s?.step ?? null;
      if (step && !firstSeen.has(step)) firstSeen.set(step, Date.now());
      if (step === 'refresh' && !ended) {
        // the live ending the refresh gate needs, the same one in both runs
        ended = true;
        // (a clock at 0: the end date is then the latest completed end + 1 ms, the same in both runs)
        const e = await endChallenge(stack.dbs, { rng: new Rng(settings.seed, 'cutover-chaos').fork('ending'), now: () => 0 });
        const { token } = await autopilotToken(stack.config, {}, 600);
        void callEnded(api.url, token, e.challengeId, { retries: 20, backoffMs: 500 });
      }
      for (const [meant, delay] of delays) {
        const since = firstSeen.get(meant);
        if (since === undefined || Date.now() - since < delay) continue;
        delays.delete(meant);
        const now = await status(db, name);
        await fleet.killAndReplace();
        kills.push({
          meant,
          landed: now?.state === 'done' ? 'after the end' : (now?.step ?? meant),
          atSeconds: (Date.now() - started) / 1000,
        });
        opts.log(`killed the worker in ${kills.at(-1)!.landed} (meant for ${meant})`);
      }
      await sleep(100);
    }
    // a step that ended the run before its kill was due (flag removal is short): on record, not counted as landed
    for (const meant of delays.keys()) kills.push({ meant, landed: 'not made', atSeconds: (Date.now() - started) / 1000 });
    const outcome = await outcomeOf(db, name, (Date.now() - started) / 1000);
    return { outcome, kills, unexpected: fleet.unexpected };
  } finally {
    await fleet.stopAll();
    await api.close();
  }
}

const status = async (db: Kysely<any>, name: string): Promise<CutoverStatus | undefined> =>
  (await readCutover(db, name).catch(() => undefined))?.status;

async function outcomeOf(db: Kysely<any>, name: string, seconds: number): Promise<CutoverOutcome> {
  const s = await status(db, name);
  const evidence = await sql<{ kind: string; n: number; passed: number }>`
    SELECT kind, count(*)::int AS n, count(*) FILTER (WHERE passed)::int AS passed FROM platform.evidence GROUP BY kind ORDER BY kind`.execute(
    db,
  );
  const refreshed = await sql<{ n: number }>`SELECT count(*)::int AS n FROM platform."refreshLog"`.execute(db);
  const source = await sql<{ source: string }>`SELECT source FROM platform."readSource"`.execute(db);
  return {
    state: s?.state ?? 'no mirror',
    steps: (s?.steps ?? []).map((x) => `${x.step}:${x.status}`).join(' '),
    failingGates: (s?.gates ?? [])
      .filter((g) => !g.holds)
      .map((g) => g.gate)
      .join(', '),
    readSource: source.rows[0]?.source ?? '–',
    checksum: await unifiedChecksum(db),
    duplicates: await duplicateKeys(db),
    evidence: Object.fromEntries(evidence.rows.map((r) => [r.kind, `${r.passed}/${r.n}`])),
    refreshed: refreshed.rows[0]!.n,
    approvals: (s?.actions ?? []).filter((a) => a.action === 'approve').length,
    seconds,
  };
}

const same = (name: string, expected: unknown, got: unknown): Check => ({
  name,
  expected: String(expected),
  got: String(got),
  pass: String(expected) === String(got),
});

/**
 * Parity re-checks run when live writes make the last clean run stale, so their count follows timing, not the
 * outcome; every other kind of evidence is one per phase run and must not be stored twice by a retried activity.
 */
const TIMING_KINDS = new Set(['parity']);

export function judgeCutover(ref: CutoverOutcome, got: CutoverOutcome, kills: CutoverKill[], unexpected: string[]): Check[] {
  const kinds = [...new Set([...Object.keys(ref.evidence), ...Object.keys(got.evidence)])].filter((k) => !TIMING_KINDS.has(k)).sort();
  return [
    // every kill due while the cutover ran landed; only the last step may end the run before its kill is due
    same(
      'worker SIGKILLs that landed before the end',
      kills.filter((k) => k.landed !== 'not made' || k.meant !== 'flag-removal').length,
      kills.filter((k) => k.landed !== 'after the end' && k.landed !== 'not made').length,
    ),
    same('processes that died by themselves', 'none', unexpected.length === 0 ? 'none' : unexpected.join('; ')),
    same('cutover state', 'done', got.state),
    same('steps', STEPS.map((x) => `${x}:done`).join(' '), got.steps),
    same('gates not holding', '', got.failingGates),
    same('read source', 'unified', got.readSource),
    same('memberStats checksum', ref.checksum.stats, got.checksum.stats),
    same('memberStatsHistory checksum', ref.checksum.history, got.checksum.history),
    same('memberMaxRating checksum', ref.checksum.maxRating, got.checksum.maxRating),
    same('rows (stats/history/maxRating)', ref.checksum.counts.join('/'), got.checksum.counts.join('/')),
    same('duplicate keys (stats/history)', '0/0', `${got.duplicates.stats}/${got.duplicates.history}`),
    same('challenges refreshed', ref.refreshed, got.refreshed),
    same('approvals on record', ref.approvals, got.approvals),
    ...kinds.map((k) => same(`evidence ${k} (passed/all)`, ref.evidence[k] ?? '0/0', got.evidence[k] ?? '0/0')),
  ];
}
