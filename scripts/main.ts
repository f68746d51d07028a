// npm start: the main job on the embedded default. Stack up, seed `small` if the source is empty, run preflight,
// print the result, shut down cleanly.
import { sql } from 'kysely';
import { bringUp, stderrLog } from '../lib/stack';
import { fail } from './cli-support';
import { formatPreflight, runPreflight } from './commands/preflight';
import { runSeed } from './seed/index';

async function sourceIsEmpty(stack: Awaited<ReturnType<typeof bringUp>>): Promise<boolean> {
  const r = await sql<{ t: string | null }>`SELECT to_regclass('members."member"')::text AS t`.execute(stack.dbs.members);
  if (!r.rows[0]?.t) return true;
  const n = await sql<{ any: boolean }>`SELECT EXISTS (SELECT 1 FROM members."member") AS any`.execute(stack.dbs.members);
  return !n.rows[0]?.any;
}

async function main() {
  const stack = await bringUp();
  let passed = false;
  try {
    if (await sourceIsEmpty(stack)) {
      stderrLog('source database is empty: seeding size small (seed 1)');
      const summary = await runSeed(stack.dbs, { size: 'small', seed: 1, log: stderrLog });
      stderrLog(`seeded in ${summary.seconds.toFixed(1)} s: ${JSON.stringify(summary.rows)}`);
    }
    const report = await runPreflight(stack, stderrLog);
    process.stdout.write(`${formatPreflight(report, stack.temporal?.uiUrl)}\n`);
    passed = report.passed;
  } finally {
    await stack.close();
  }
  process.exit(passed ? 0 : 1);
}

main().catch(fail);
