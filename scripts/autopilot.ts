// npm run autopilot -- [--rate N/s] [--duration S] [--drop P] [--duplicate P] [--reorder P] [--seed N] [--api-url URL]
// [--token JWT] [--json]: the platform stays live during the cutover — end challenges in the source databases the way
// the real platform does (results, winners, the legacy tables) and call POST /members/stats/challenges/:id/ended for
// each, dropping, duplicating and reordering calls as asked. Progress on stderr; --json prints one summary on stdout.
import { Command, CommanderError } from 'commander';
import { stderrLog } from '../lib/stack';
import { fail, withStack } from './cli-support';
import { parseAutopilotFlags } from './autopilot/flags';
import { runAutopilot } from './autopilot/run';
import { autopilotToken } from './autopilot/token';

const program = new Command('autopilot')
  .description('End challenges live and call the member stats API for each, with dropped, duplicated and reordered calls')
  .option('--rate <n/s>', 'challenges ended per second (default 1, at most 200)')
  .option('--duration <s>', 'seconds to run (default 30, at most 3600)')
  .option('--drop <p>', 'probability that an ending is never called (default 0)')
  .option('--duplicate <p>', 'probability that the call is made twice (default 0)')
  .option('--reorder <p>', 'probability that the call is held back behind later ones (default 0)')
  .option('--seed <n>', 'seed of the endings and the fault plan (default: from the clock)')
  .option('--api-url <url>', 'the member stats API (default: API_URL, else http://127.0.0.1:$API_PORT)')
  .option('--token <jwt>', 'bearer token (default: AUTOPILOT_TOKEN, else minted by the local issuer for autopilot-v6)')
  .option('--json', 'print the summary as one JSON object on stdout')
  .exitOverride()
  .action(async (raw: Record<string, unknown>) => {
    const flags = parseAutopilotFlags(raw);
    const seed = flags.seed ?? Math.floor(Math.random() * 2 ** 31);
    const summary = await withStack({ temporal: false }, async (stack) => {
      const apiUrl = flags.apiUrl ?? stack.config.apiUrl ?? `http://127.0.0.1:${stack.config.apiPort}`;
      const token = await autopilotToken(stack.config, { flag: flags.token, env: process.env.AUTOPILOT_TOKEN }, flags.duration + 600);
      stderrLog(
        `autopilot: ${flags.rate}/s for ${flags.duration}s against ${apiUrl} (token: ${token.source}; drop ${flags.drop}, ` +
          `duplicate ${flags.duplicate}, reorder ${flags.reorder}; seed ${seed})`,
      );
      // Ctrl-C: stop ending challenges, make the calls already planned, report; a second Ctrl-C exits at once
      const stop = new AbortController();
      process.once('SIGINT', () => {
        stderrLog('autopilot: stopping (Ctrl-C again to exit at once)');
        stop.abort();
      });
      return runAutopilot(stack.dbs, {
        signal: stop.signal,
        rate: flags.rate,
        durationSeconds: flags.duration,
        drop: flags.drop,
        duplicate: flags.duplicate,
        reorder: flags.reorder,
        seed,
        apiUrl,
        token: token.token,
        progress: (line) => stderrLog(`autopilot: ${line}`),
      });
    });
    if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      const codes = Object.entries(summary.responses)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
      process.stdout.write(
        `ended ${summary.ended} challenges (${summary.created} opened, ${summary.rated} rated) at ${summary.rate.achieved}/s; ` +
          `called ${summary.called} (dropped ${summary.dropped}, duplicated ${summary.duplicated}, reordered ${summary.reordered}); ` +
          `answers ${codes || 'none'}; latency p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms\n`,
      );
      for (const f of summary.failures) {
        process.stdout.write(`failed: challenge ${f.challengeId}: ${f.status === null ? `no answer (${f.error})` : `HTTP ${f.status}`}\n`);
      }
    }
    // a call that never got a 2xx answer is a failed trigger: the operator's exit code says so
    if (summary.failed > 0 || summary.endFailures > 0) process.exitCode = 1;
  });

program.parseAsync(process.argv).catch((e) => {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  fail(e);
});
