// npm run seed -- --size tiny|small|medium|large [--seed N]: synthetic, messy, deterministic source data.
import { Command, CommanderError } from 'commander';
import { z } from 'zod';
import { fail, UsageError, withStack } from './cli-support';
import { runSeed } from './seed/index';
import { stderrLog } from '../lib/stack';

const Options = z.object({
  size: z.enum(['tiny', 'small', 'medium', 'large'], { error: '--size must be one of tiny, small, medium, large' }),
  seed: z.coerce
    .number({ error: '--seed must be a whole number' })
    .int('--seed must be a whole number')
    .min(0, '--seed must be ≥ 0')
    .max(2 ** 31 - 1, '--seed must be < 2147483648'),
});

const program = new Command('seed')
  .description('Generate and bulk-load the legacy, challenges and reviews source data')
  .option('--size <size>', 'tiny (~200 members), small (~5k), medium (~50k, ~1M results), large (~500k, ~10M)', 'small')
  .option('--seed <n>', 'generator seed: the same seed gives the same data', '1')
  .exitOverride()
  .action(async (raw: unknown) => {
    const parsed = Options.safeParse(raw);
    if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
    const summary = await withStack({ temporal: false }, (stack) => runSeed(stack.dbs, { ...parsed.data, log: stderrLog }));
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  });

program.parseAsync(process.argv).catch((e) => {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  fail(e);
});
