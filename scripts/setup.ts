// npm run setup: obtain what the stack needs beyond npm packages (the Temporal CLI), so later runs start offline.
import { parseConfig } from '../domain/config';
import { ensureTemporalCli } from '../lib/temporal-cli';
import { stderrLog } from '../lib/stack';
import { fail } from './cli-support';

async function main() {
  const config = parseConfig(process.env);
  if (config.temporal.address) {
    stderrLog(`TEMPORAL_ADDRESS=${config.temporal.address}: using that cluster, no CLI needed`);
    return;
  }
  const path = await ensureTemporalCli(config.temporal.cliPath, stderrLog);
  stderrLog(`Temporal CLI: ${path}`);
}

main().catch(fail);
