import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEPS } from '../../domain/cutover';
import { dropDatabase } from '../../lib/postgres';
import { bringUp, stderrLog, type Stack } from '../../lib/stack';
import { ownDatabaseConfig } from '../bench/bench-db';
import { runSeed, type SeedSize } from '../seed/index';
import { runCutoverChaos, type CutoverChaosReport } from './cutover';
import { ChaosTemporal } from './dev-server';

/** `npm run chaos -- --cutover`: two fresh databases (the undisturbed and the disturbed cutover), its own Temporal. */
const DATABASES = ['cutover_chaos_ref', 'cutover_chaos_cutover'] as const;

export async function chaosCutover(f: { size: SeedSize; seed: number; cliPath?: string }): Promise<CutoverChaosReport> {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-chaos-'));
  const stacks: Stack[] = [];
  let temporal: ChaosTemporal | undefined;
  try {
    temporal = await ChaosTemporal.start(dir, f.cliPath);
    for (const name of DATABASES) {
      const config = ownDatabaseConfig(name, { TEMPORAL_ADDRESS: temporal.address });
      // dropped for a fresh start: a cutover leaves its database changed (the bring-up creates it again)
      await dropDatabase(config.databaseUrl);
      const stack = await bringUp({ config, log: () => {} });
      stacks.push(stack);
      stderrLog(`chaos: seeding ${f.size} (seed ${f.seed}) into ${name}`);
      await runSeed(stack.dbs, { size: f.size, seed: f.seed, log: () => {} });
    }
    return await runCutoverChaos(
      { stack: stacks[0]!, taskQueue: 'chaos-cutover-ref' },
      { stack: stacks[1]!, taskQueue: 'chaos-cutover' },
      { killAt: STEPS, maxDelayMs: 2000, seed: f.seed, timeoutSeconds: 3600 },
      { logDir: dir, log: (m) => stderrLog(`chaos: ${m}`) },
    );
  } finally {
    for (const s of stacks) await s.close();
    await temporal?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
