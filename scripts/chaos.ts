// npm run chaos -- [--size small|tiny] [--kills N] [--seed N] [--json]: a backfill and a full parity run under
// worker SIGKILLs, a Temporal restart and lost Postgres sessions must end exactly as an undisturbed run does.
// npm run chaos -- --cutover [--size tiny|small] [--seed N] [--json]: a whole cutover with its worker killed in
// every step must end as an undisturbed cutover does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { z } from 'zod';
import { stderrLog } from '../lib/stack';
import { fail, UsageError } from './cli-support';
import { killGroupsOnExit } from './chaos/children';
import { openChaosStack } from './chaos/database';
import { chaosCutover } from './chaos/cutover-command';
import { ChaosTemporal } from './chaos/dev-server';
import { runChaos } from './chaos/run';
import { formatChaos, formatCutoverChaos } from './chaos/table';

const whole = (flag: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${flag} must be a whole number` })
    .int({ error: `${flag} must be a whole number` })
    .min(min, { error: `${flag} must be ${min}-${max}` })
    .max(max, { error: `${flag} must be ${min}-${max}` });

const Flags = z.object({
  size: z.enum(['tiny', 'small'], { error: '--size must be tiny or small' }),
  seed: whole('--seed', 0, 2 ** 31 - 1),
  kills: whole('--kills', 1, 50),
  temporalRestarts: whole('--temporal-restarts', 1, 10),
  temporalDown: whole('--temporal-down', 1, 120),
  pgTerminations: whole('--pg-terminations', 1, 50),
  batchSize: whole('--batch-size', 1, 5000).optional(),
  concurrency: whole('--concurrency', 1, 8),
  parityKill: z.boolean().default(true),
  cutover: z.boolean().default(false),
  json: z.boolean().default(false),
});

/** Batches small enough that the run lasts long enough to be hit many times. */
const DEFAULT_BATCH_SIZE = { small: 20, tiny: 4 } as const;

const program = new Command('chaos')
  .description('Backfill then full parity under faults, against an undisturbed run on the same data (database cutover_chaos)')
  .option('--size <size>', 'seed size: small (~5k members) or tiny (~200)', 'small')
  .option('--seed <n>', 'seed of the generated data', '1')
  .option('--kills <n>', 'worker SIGKILLs during the backfill', '5')
  .option('--temporal-restarts <n>', 'Temporal dev server restarts during the backfill', '1')
  .option('--temporal-down <s>', 'seconds the Temporal server stays down', '5')
  .option('--pg-terminations <n>', 'terminations of our Postgres sessions (the last one during parity)', '3')
  .option('--batch-size <n>', 'members per batch (default: 20 small, 4 tiny)')
  .option('--concurrency <n>', 'batches in flight', '2')
  .option('--no-parity-kill', 'do not SIGKILL the worker while parity runs')
  .option(
    '--cutover',
    'instead: a whole cutover with its worker SIGKILLed in every step, against an undisturbed one (databases cutover_chaos_ref, cutover_chaos_cutover)',
  )
  .option('--json', 'print the report as JSON')
  .exitOverride()
  .action(async (raw: Record<string, unknown>) => {
    const parsed = Flags.safeParse(raw);
    if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
    const f = parsed.data;
    killGroupsOnExit();
    if (f.cutover) {
      const report = await chaosCutover({ size: f.size, seed: f.seed, cliPath: process.env.TEMPORAL_CLI_PATH });
      process.stdout.write(f.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatCutoverChaos(report)}\n`);
      process.exitCode = report.passed ? 0 : 1;
      return;
    }
    const stack = await openChaosStack(f.size, f.seed, stderrLog);
    const dir = mkdtempSync(join(tmpdir(), 'cutover-chaos-'));
    let temporal: ChaosTemporal | undefined;
    try {
      temporal = await ChaosTemporal.start(dir, stack.config.temporal.cliPath);
      stderrLog(`chaos: own Temporal dev server at ${temporal.address} (file ${temporal.dbFile})`);
      const report = await runChaos(
        { databaseUrl: stack.config.databaseUrl, temporal, log: (m) => stderrLog(`chaos: ${m}`) },
        {
          kills: f.kills,
          temporalRestarts: f.temporalRestarts,
          temporalDownSeconds: f.temporalDown,
          pgTerminations: f.pgTerminations,
          parityKill: f.parityKill,
          batchSize: f.batchSize ?? DEFAULT_BATCH_SIZE[f.size],
          concurrency: f.concurrency,
          heartbeatSeconds: 3,
          recoverySeconds: 120,
        },
      );
      process.stdout.write(f.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatChaos(report)}\n`);
      process.exitCode = report.passed ? 0 : 1;
    } finally {
      await temporal?.stop();
      await stack.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

program.parseAsync(process.argv).catch((e) => {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  fail(e);
});
