// npm start: the main job on the embedded default — a whole cutover under live traffic. Stack up, seed `small` if
// the source is empty, then the member stats API, the autopilot ending challenges all along, and the cutover
// workflow from preflight to flag removal with --auto-approve; prints each phase and the go/no-go table, stops
// everything, exits 0 when the cutover completed with every gate holding.
import { sql } from 'kysely';
import { bringUp, stderrLog } from '../lib/stack';
import { fail } from './cli-support';
import { runLiveCutover } from './commands/cutover-live';
import { printOutcome } from './commands/cutover-run';
import { runSeed } from './seed/index';

async function sourceIsEmpty(stack: Awaited<ReturnType<typeof bringUp>>): Promise<boolean> {
  const r = await sql<{ t: string | null }>`SELECT to_regclass('members."member"')::text AS t`.execute(stack.dbs.members);
  if (!r.rows[0]?.t) return true;
  const n = await sql<{ any: boolean }>`SELECT EXISTS (SELECT 1 FROM members."member") AS any`.execute(stack.dbs.members);
  return !n.rows[0]?.any;
}

async function main() {
  const stack = await bringUp();
  try {
    if (await sourceIsEmpty(stack)) {
      stderrLog('source database is empty: seeding size small (seed 1)');
      const summary = await runSeed(stack.dbs, { size: 'small', seed: 1, log: stderrLog });
      stderrLog(`seeded in ${summary.seconds.toFixed(1)} s: ${JSON.stringify(summary.rows)}`);
    }
    const name = `start-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '').toLowerCase()}`;
    const { status, autopilot } = await runLiveCutover(stack, {
      plan: { name, autoApprove: true, rollbackWindowSeconds: 20, checkEverySeconds: 5, refreshWaitSeconds: 120 },
      autopilotRate: 0.5,
      log: stderrLog,
    });
    stderrLog(
      `autopilot: ${autopilot.ended} challenges ended, ${autopilot.requests} calls (${autopilot.duplicated} duplicated, ${autopilot.reordered} reordered)`,
    );
    printOutcome(status, false);
    stderrLog(`Temporal Web UI: ${stack.temporal?.uiUrl ?? '(external)'} — workflow cutover/${name}`);
  } finally {
    await stack.close();
  }
  process.exit(process.exitCode ?? 0);
}

main().catch(fail);
