// npm run bench -- <ratings|…> [--json]: speed goals, measured as ratios against baselines run in the same process.
import { Command, CommanderError } from 'commander';
import { benchRatings } from './bench/ratings';
import { fail } from './cli-support';

const program = new Command('bench').description('Benchmarks: print figures and ratios against in-process baselines').exitOverride();

program
  .command('ratings')
  .description('engine-only replay of a medium-sized rated history held in memory')
  .option('--json', 'print one JSON object')
  .action((opts: { json?: boolean }) => benchRatings({ json: opts.json === true }));

program.parseAsync(process.argv).catch((e) => {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  fail(e);
});
