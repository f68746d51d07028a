// npm run screenshots -- [--out DIR] [--size tiny|small]: the cutover dashboard as an operator sees it — a cutover
// blocked, running and done — written as PNGs by Debian's Chromium (playwright-core), on scratch databases of its own.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { chromium, type Page } from 'playwright-core';
import { z } from 'zod';
import { parseConfig } from '../domain/config';
import type { CutoverStatus } from '../domain/cutover';
import { dropDatabase, ensureDatabase } from '../lib/postgres';
import { bringUp, stderrLog, type Stack } from '../lib/stack';
import { runWorker, type RunningWorker } from '../workers/run';
import { cutoverRetry, cutoverStatus } from '../workflows/cutover/messages';
import { runAutopilot } from './autopilot/run';
import { autopilotToken } from './autopilot/token';
import { fail, UsageError } from './cli-support';
import { startCutover } from './commands/cutover-run';
import { startApiForStack } from './commands/serve';
import { runSeed } from './seed/index';

const Flags = z.object({
  out: z.string().trim().min(1, { error: '--out must name a directory' }).default('out/screenshots'),
  size: z.enum(['tiny', 'small'], { error: '--size must be tiny or small' }).default('small'),
});

const withDb = (url: string, name: string) => Object.assign(new URL(url), { pathname: `/${name}` }).toString();

async function until(what: string, check: () => Promise<boolean>, ms = 180_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function shoot(page: Page, state: RegExp, file: string): Promise<void> {
  await until(`the page to show ${state}`, async () => state.test((await page.locator('[data-test="cutover-state"]').textContent()) ?? ''));
  await page.screenshot({ path: file, fullPage: true });
  stderrLog(`wrote ${file}`);
}

async function main(raw: Record<string, unknown>) {
  const parsed = Flags.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  const out = resolve(parsed.data.out);
  mkdirSync(out, { recursive: true });
  const base = parseConfig(process.env);
  const dbUrl = withDb(base.databaseUrl, 'cutover_screenshots');
  // an empty review database: the first run's preflight fails on it and the cutover blocks
  const emptyUrl = withDb(base.databaseUrl, 'cutover_screenshots_empty');
  for (const url of [dbUrl, emptyUrl]) {
    await dropDatabase(url);
    await ensureDatabase(url);
  }
  const env = { ...process.env, DATABASE_URL: dbUrl, CHALLENGES_DB_URL: dbUrl, LOG_LEVEL: 'warn' };
  const stack = await bringUp({ config: parseConfig({ ...env, REVIEW_DB_URL: dbUrl }) });
  const stops: Array<() => Promise<unknown>> = [() => stack.close()];
  try {
    stderrLog(`seeding ${parsed.data.size}`);
    await runSeed(stack.dbs, { size: parsed.data.size, seed: 7 });
    const taskQueue = `screenshots-${process.pid}`;
    const onQueue = (s: Stack): Stack => ({ ...s, config: { ...s.config, temporal: { ...s.config.temporal, taskQueue } } });
    const api = await startApiForStack(onQueue(stack), { port: 0, host: '127.0.0.1' });
    stops.unshift(() => api.close());
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
    stops.unshift(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    await page.goto(`${api.url}/dashboard`);

    // 1. blocked: a worker whose review database lacks challengeResult
    const broken = await bringUp({ config: parseConfig({ ...env, REVIEW_DB_URL: emptyUrl }), temporal: true });
    stops.unshift(() => broken.close());
    let worker: RunningWorker = await runWorker(broken, { taskQueue });
    const name = `screenshots-${Date.now()}`;
    const handle = await startCutover(
      stack.client!,
      taskQueue,
      { name, autoApprove: true, rollbackWindowSeconds: 5, checkEverySeconds: 2 },
      'screenshots',
    );
    stderrLog(`cutover ${name} started; dashboard ${api.url}/dashboard`);
    await shoot(page, /^blocked/, join(out, 'blocked.png'));
    await worker.stop();

    // 2. running: the right worker, live traffic for the refresh step, and a retry
    worker = await runWorker({ ...stack, config: { ...stack.config, apiUrl: api.url } }, { taskQueue });
    stops.unshift(() => worker.stop());
    const traffic = new AbortController();
    const { token } = await autopilotToken(stack.config, {}, 3600);
    const autopilot = runAutopilot(stack.dbs, {
      rate: 0.5,
      durationSeconds: 3600,
      seed: 7,
      apiUrl: api.url,
      token,
      drop: 0,
      duplicate: 0,
      reorder: 0,
      signal: traffic.signal,
    });
    stops.unshift(async () => {
      traffic.abort();
      await autopilot.catch(() => undefined);
    });
    await handle.signal(cutoverRetry, { actor: 'screenshots', reason: 'review database fixed' });
    await shoot(page, /^running/, join(out, 'running.png'));

    // 3. done
    let s: CutoverStatus | undefined;
    await until(
      'the cutover to end',
      async () => ['done', 'blocked', 'aborted'].includes((s = await handle.query(cutoverStatus)).state),
      600_000,
    );
    await shoot(page, /^(done|blocked|aborted)/, join(out, 'done.png'));
    stderrLog(`cutover ${name}: ${s?.state}`);
  } finally {
    for (const stop of stops) await stop().catch((e: Error) => stderrLog(`shutdown: ${e.message}`));
    await dropDatabase(dbUrl).catch(() => undefined);
    await dropDatabase(emptyUrl).catch(() => undefined);
  }
}

new Command('screenshots')
  .description('write screenshots of the cutover dashboard: blocked, running, done')
  .option('--out <dir>', 'where the PNGs go', 'out/screenshots')
  .option('--size <size>', 'the seed: tiny or small', 'small')
  .action((opts: Record<string, unknown>) => main(opts))
  .parseAsync(process.argv)
  .then(() => process.exit(0), fail);
