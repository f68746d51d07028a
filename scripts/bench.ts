// npm run bench -- <ratings|…> [--json]: speed goals, measured as ratios against baselines run in the same process.
import { Command, CommanderError } from 'commander';
import { z } from 'zod';
import { benchBackfill } from './bench/backfill';
import { benchCutover } from './bench/cutover';
import { benchLiveReads } from './bench/live-reads';
import { benchParity } from './bench/parity';
import { benchRatings } from './bench/ratings';
import { benchRefresh } from './bench/refresh';
import { benchRerate } from './bench/rerate';
import { fail, UsageError } from './cli-support';

const program = new Command('bench').description('Benchmarks: print figures and ratios against in-process baselines').exitOverride();

const Size = z.enum(['tiny', 'small', 'medium', 'large'], { error: '--size must be tiny, small, medium or large' });

program
  .command('ratings')
  .description('engine-only replay of the seeded dataset’s rated history held in memory (database cutover_bench)')
  .option('--size <size>', 'dataset size', 'medium')
  .option('--json', 'print one JSON object')
  .action(async (raw: { size: string; json?: boolean }) => {
    const size = Size.safeParse(raw.size);
    if (!size.success) throw new UsageError(size.error.issues.map((i) => i.message).join('\n'));
    await benchRatings({ json: raw.json === true, size: size.data });
  });

const Sizes = z
  .string()
  .transform((v) => v.split(',').map((x) => x.trim()))
  .pipe(z.array(Size).min(1))
  .refine((v) => new Set(v).size === v.length, { error: '--size lists a size twice' });

const BackfillBench = z.object({
  size: Sizes,
  concurrency: z.coerce.number().int().min(1).max(32, { error: '--concurrency must be 1-32' }),
  batchSize: z.coerce.number().int().min(1).max(5000, { error: '--batch-size must be 1-5000' }),
  baselineSample: z.coerce.number().int().min(10, { error: '--baseline-sample must be ≥ 10' }),
});

program
  .command('backfill')
  .description(
    'orchestrated backfill vs its write floor (binary COPY of its final rows) vs the per-member baseline, in one run (database cutover_bench)',
  )
  .option('--size <size>', 'dataset size, or several comma-separated (small,medium) for members per second side by side', 'small')
  .option('--concurrency <n>', 'orchestrated batches in flight', '2')
  .option('--batch-size <n>', 'members per orchestrated batch', '5000')
  .option('--baseline-sample <n>', 'members the per-member baseline is timed on', '1000')
  .option('--json', 'print one JSON object')
  .action(async (raw: Record<string, unknown>) => {
    const parsed = BackfillBench.safeParse(raw);
    if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
    const { size, ...rest } = parsed.data;
    await benchBackfill({ ...rest, sizes: size, json: raw.json === true });
  });

const CutoverBench = z.object({
  size: Size,
  batchSize: z.coerce.number().int().min(1).max(5000, { error: '--batch-size must be 1-5000' }).optional(),
  rerateInBackfill: z.enum(['yes', 'no'], { error: '--rerate-in-backfill must be yes or no' }).optional(),
});

const ParityBench = z.object({
  size: Size,
  baselineSample: z.coerce.number().int().min(10, { error: '--baseline-sample must be ≥ 10' }),
});

program
  .command('parity')
  .description('full parity (workflow, set-based) vs the per-member approach extrapolated to every member (database cutover_bench)')
  .option('--size <size>', 'dataset size', 'small')
  .option('--baseline-sample <n>', 'members the per-member approach is timed on', '200')
  .option('--json', 'print one JSON object')
  .action(async (raw: Record<string, unknown>) => {
    const parsed = ParityBench.safeParse(raw);
    if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
    await benchParity({ ...parsed.data, json: raw.json === true });
  });

const LiveReadsBench = z.object({
  size: Size,
  rate: z.coerce
    .number({ error: '--rate must be a number' })
    .int()
    .min(1, { error: '--rate must be 1-2000' })
    .max(2000, { error: '--rate must be 1-2000' }),
  concurrency: z.coerce.number({ error: '--concurrency must be a number' }).int().min(1).max(32, { error: '--concurrency must be 1-32' }),
  budgetMs: z.coerce.number({ error: '--budget-ms must be a number' }).int().min(10, { error: '--budget-ms must be 10-60000' }).max(60_000),
  idleSeconds: z.coerce.number({ error: '--idle-seconds must be a number' }).min(1).max(600),
});

program
  .command('live-reads')
  .description('read latency (p50/p99) at a fixed read rate during a backfill, throttling off and on (database cutover_bench)')
  .option('--size <size>', 'dataset size', 'medium')
  .option('--rate <n>', 'reads per second, arriving whatever the answers take', '50')
  .option('--concurrency <n>', 'backfill batches in flight', '4')
  .option('--budget-ms <ms>', 'the p99 read latency the throttled run protects', '200')
  .option('--idle-seconds <s>', 'seconds of reads without a backfill, for the idle figures', '8')
  .option('--json', 'print one JSON object')
  .action(async (raw: Record<string, unknown>) => {
    const parsed = LiveReadsBench.safeParse(raw);
    if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
    await benchLiveReads({ ...parsed.data, json: raw.json === true });
  });

const RerateBench = z.object({
  size: Size,
  naiveSample: z.coerce
    .number({ error: '--naive-sample must be a number' })
    .int({ error: '--naive-sample must be a whole number' })
    .min(10, { error: '--naive-sample must be ≥ 10' }),
});

program
  .command('rerate')
  .description(
    'orchestrated rerate of both streams vs the in-memory replay with one bulk write vs one child workflow per challenge (database cutover_bench)',
  )
  .option('--size <size>', 'dataset size', 'medium')
  .option('--naive-sample <n>', 'challenges of each stream the naive shape is timed on', '200')
  .option('--json', 'print one JSON object')
  .action(async (raw: Record<string, unknown>) => {
    const parsed = RerateBench.safeParse(raw);
    if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
    await benchRerate({ ...parsed.data, json: raw.json === true });
  });

const RefreshBench = z.object({
  size: z.enum(['tiny', 'small'], { error: '--size must be tiny or small' }),
  rates: z
    .string()
    .regex(/^\s*\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*\s*$/, {
      error: '--rates must be challenges per second separated by commas, e.g. 5,10,20,40',
    })
    .transform((v) => v.split(',').map(Number))
    .pipe(z.array(z.number().gt(0, { error: '--rates must each be more than 0' }).max(200, { error: '--rates must each be at most 200' }))),
  seconds: z.coerce
    .number({ error: '--seconds must be a number' })
    .min(1, { error: '--seconds must be 1-120' })
    .max(120, { error: '--seconds must be 1-120' }),
  maxCount: z.coerce
    .number({ error: '--max-count must be a number' })
    .int({ error: '--max-count must be a whole number' })
    .min(10, { error: '--max-count must be 10-5000' })
    .max(5000, { error: '--max-count must be 10-5000' }),
  concurrency: z.coerce
    .number({ error: '--concurrency must be a number' })
    .int({ error: '--concurrency must be a whole number' })
    .min(1, { error: '--concurrency must be 1-64' })
    .max(64, { error: '--concurrency must be 1-64' }),
  seed: z.coerce
    .number({ error: '--seed must be a number' })
    .int({ error: '--seed must be a whole number' })
    .min(0, { error: '--seed must be 0-2147483647' })
    .max(2 ** 31 - 1, { error: '--seed must be 0-2147483647' }),
});

program
  .command('refresh')
  .description(
    'phase E: autopilot at increasing rates against the API (Temporal) vs the same refresh in process without Temporal, in one run (database cutover_bench)',
  )
  .option('--size <size>', 'dataset size (tiny or small)', 'small')
  .option('--rates <list>', 'challenges ended per second, one step each, then one step as fast as the callers go', '5,10,20,40')
  .option('--seconds <s>', 'seconds each rate step lasts (challenges = rate × seconds)', '6')
  .option('--max-count <n>', 'challenges of the as-fast-as-possible step', '120')
  .option('--concurrency <n>', 'concurrent callers', '10')
  .option('--seed <n>', 'seed of the endings', '1')
  .option('--json', 'print one JSON object')
  .action(async (raw: Record<string, unknown>) => {
    const parsed = RefreshBench.safeParse(raw);
    if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
    const { seconds, ...rest } = parsed.data;
    await benchRefresh({ ...rest, stepSeconds: seconds, json: raw.json === true });
  });

program
  .command('cutover')
  .description(
    'a whole cutover of a seeded platform under autopilot traffic, phase by phase; goal: large under 15 minutes (database cutover_bench_cutover)',
  )
  .option('--size <size>', 'dataset size', 'large')
  .option('--batch-size <n>', 'members per backfill batch (default: 5000 on large, else the backfill’s 500)')
  .option('--rerate-in-backfill <yes|no>', 'the backfill rates Development itself (default: no on large, as the runbook advises, else yes)')
  .option('--json', 'print one JSON object')
  .action(async (raw: Record<string, unknown>) => {
    const parsed = CutoverBench.safeParse(raw);
    if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
    const { size, batchSize, rerateInBackfill } = parsed.data;
    const large = size === 'large';
    await benchCutover({
      size,
      json: raw.json === true,
      batchSize: batchSize ?? (large ? 5000 : undefined),
      skipRerateInBackfill: rerateInBackfill === undefined ? large : rerateInBackfill === 'no',
    });
  });

program.parseAsync(process.argv).catch((e) => {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  fail(e);
});
