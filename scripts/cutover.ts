// Operator CLI: npm run cutover -- <command> [options]
import { Command, CommanderError } from 'commander';
import { stderrLog } from '../lib/stack';
import { fail, withStack } from './cli-support';
import { formatPreflight, runPreflight } from './commands/preflight';
import { registerBackfill } from './commands/backfill';
import { registerSteer } from './commands/steer';
import { registerCutoverStart } from './commands/cutover-run';
import { registerCutoverSteer } from './commands/cutover-steer';
import { registerDedupe } from './commands/dedupe';
import { registerEvidence, registerGates } from './commands/gates';
import { registerParity } from './commands/parity';
import { registerRate } from './commands/rate';
import { registerReconcile } from './commands/reconcile';
import { registerReports } from './commands/reports';
import { registerRerate } from './commands/rerate';
import { registerServe } from './commands/serve';
import { registerSwitch } from './commands/switch';
import { registerToken } from './commands/token';
import { collectStatus, formatStatus } from './commands/status';

const program = new Command('cutover')
  .description('Steer the member-stats cutover (legacy → unified) on Temporal')
  .showHelpAfterError()
  // a subcommand's options are its own (rerate --stream … vs rerate pause --stream …)
  .enablePositionalOptions()
  .exitOverride();

program
  .command('preflight')
  .description('run every pre-flight check of the runbook as a workflow and store the result as evidence')
  .option('--json', 'print the report as JSON on stdout')
  .action(async (opts: { json?: boolean }) => {
    const report = await withStack({}, async (stack) => {
      const r = await runPreflight(stack, stderrLog);
      process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatPreflight(r, stack.temporal?.uiUrl)}\n`);
      return r;
    });
    process.exitCode = report.passed ? 0 : 1;
  });

program
  .command('status')
  .description('the cutover (phase, step, gates, operator log), read source, latest evidence per gate, recent workflows')
  .option('--watch', 'redraw every 2 s until Ctrl-C')
  .option('--json', 'print the status as JSON on stdout')
  .action(async (opts: { json?: boolean; watch?: boolean }) => {
    await withStack({}, async (stack) => {
      for (;;) {
        const s = await collectStatus(stack);
        const text = opts.json ? JSON.stringify(s, null, 2) : formatStatus(s);
        // a live view: clear the terminal and draw again (each frame whole, so a pipe gets complete reports)
        process.stdout.write(opts.watch && process.stdout.isTTY ? `\x1b[2J\x1b[H${text}\n` : `${text}\n`);
        if (!opts.watch) return;
        await new Promise((r) => setTimeout(r, 2000));
      }
    });
  });

registerCutoverStart(program);
registerCutoverSteer(program);
registerBackfill(program);
registerSteer(program);
registerParity(program);
registerRerate(program);
registerDedupe(program);
registerReconcile(program);
registerReports(program);
registerRate(program);
registerSwitch(program);
registerServe(program);
registerToken(program);
registerGates(program);
registerEvidence(program);

program.parseAsync(process.argv).catch((e) => {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  fail(e);
});
