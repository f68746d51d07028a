import type { Command } from 'commander';
import { z } from 'zod';
import { createVerifier } from '../../api/auth';
import { startApi, type RunningApi } from '../../api/server';
import { DB_LIMITS } from '../../domain/limits';
import { openDatabases } from '../../store/db';
import { watchReadSource } from '../../store/read-source';
import { stderrLog, type Log, type Stack } from '../../lib/stack';
import { UsageError, withStack } from '../cli-support';

/**
 * The member stats API on a brought-up stack: follows the stored read source (polled) and stops cleanly.
 * scripts/stack.ts uses it too. Port: `port`, else API_PORT (default 3000); 0 picks a free one.
 */
export async function startApiForStack(
  stack: Stack,
  opts: { port?: number; host?: string; log?: Log; workerMetricsUrl?: string } = {},
): Promise<RunningApi> {
  const log = opts.log ?? stderrLog;
  // the API's own pool: a backfill using every worker connection must not leave readers waiting
  const dbs = openDatabases(stack.config, {
    size: DB_LIMITS.apiPool,
    name: 'cutover-api',
    acquireTimeoutMs: DB_LIMITS.apiWaitMs,
    queryTimeoutMs: DB_LIMITS.apiWaitMs,
  });
  const readSource = await watchReadSource(dbs.members, {
    onError: (e) => log(`read source poll failed (serving the last known): ${e.message}`),
  }).catch(async (e) => {
    await dbs.close();
    throw e;
  });
  try {
    const level = stack.config.logLevel;
    const api = await startApi({
      dbs,
      readSource,
      port: opts.port ?? stack.config.apiPort,
      host: opts.host,
      logLevel: level === 'silent' ? false : level,
      // the issuer's JWKS (AUTH_JWKS_URL), else the local key pair under the data directory, made on first start
      auth: await createVerifier(stack.config.auth, { dataDir: stack.config.dataDir }),
      temporal: stack.client && { client: stack.client, taskQueue: stack.config.temporal.taskQueue, waitMs: stack.config.refresh.waitMs },
      dashboard: { dbs, config: stack.config, client: stack.client, temporal: stack.temporal },
      workerMetricsUrl: opts.workerMetricsUrl,
    });
    return {
      ...api,
      close: async () => {
        await api.close(); // flushes legacy read counts while the pool is still open
        readSource.close();
        await dbs.close();
      },
    };
  } catch (e) {
    readSource.close();
    await dbs.close();
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`API port in use (${(e as Error).message}): set API_PORT or pass --port (0 picks a free port)`);
    }
    throw e;
  }
}

const ServeFlags = z.object({
  // a string of digits, so '' or ' ' or '0x50' is refused rather than read as a port
  port: z
    .string()
    .regex(/^\s*\d{1,5}\s*$/, '--port must be a whole number 0-65535')
    .transform(Number)
    .pipe(z.number().max(65535, '--port must be 0-65535'))
    .optional(),
  host: z.string().trim().min(1, '--host must not be empty').default('127.0.0.1'),
});

export function parseServeFlags(raw: Record<string, unknown>): z.infer<typeof ServeFlags> {
  const parsed = ServeFlags.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  return parsed.data;
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(s);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the member stats API (GET /members/health, /members/:handle/stats[/history]) until Ctrl-C')
    .option('--port <n>', 'port to listen on (default: API_PORT, 3000)')
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .action(async (opts: Record<string, unknown>) => {
      const flags = parseServeFlags(opts);
      await withStack({ temporal: false }, async (stack) => {
        const api = await startApiForStack(stack, flags);
        process.stdout.write(`Member stats API: ${api.url}/members/health (OpenAPI: ${api.url}/members/openapi.json)\n`);
        stderrLog('Up. Ctrl-C to stop.');
        const signal = await untilSignal();
        stderrLog(`${signal}: shutting down`);
        await api.close();
      });
    });
}
