import { execFile, spawn } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bringUp } from '../lib/stack';
import { runSeed } from '../scripts/seed/index';
import { createTestDatabase, testConfig } from './support/db';
import { ownNamespace } from './support/namespace';
import { uniqueTaskQueue } from './support/stack';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');

/**
 * The backfill's progress bar as a terminal shows it: the CLI runs under a pseudo-terminal (util-linux `script`),
 * and every frame it drew is read back. The first frame carries values (no `{rate}` placeholders), the last one
 * is the finished run at 100%, and the summary follows on its own line.
 */
describe('backfill progress on a terminal', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let namespace: string;
  beforeAll(async () => {
    // the lone backfill's id is fixed: other files run backfills in the default namespace at the same time
    namespace = await ownNamespace('cli-tty');
    db = await createTestDatabase('cli_tty');
    const stack = await bringUp({ config: testConfig(db.url), temporal: false, log: () => {} });
    await runSeed(stack.dbs, { size: 'tiny', seed: 8 });
    await stack.close();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('draws frames with values from the first, ends at 100% done', { timeout: 120_000 }, async () => {
    const cmd = `${resolve(ROOT, 'node_modules/.bin/tsx')} scripts/cutover.ts backfill --batch-size 20 --concurrency 1`;
    const r = await run('script', ['-qefc', cmd, '/dev/null'], {
      cwd: ROOT,
      timeout: 110_000,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_NAMESPACE: namespace,
        TASK_QUEUE: uniqueTaskQueue('cli-tty'),
        // a batch takes long enough for several frames
        COLUMNS: '200',
      },
    });
    // the terminal's output: frames are redrawn in place (cursor to column 1, erase to the end of the line)
    const frames = r.stdout
      .split(/\r|\n|\x1b\[1G/)
      .map((l) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trim())
      .filter((l) => l.startsWith('backfill ['));
    expect(frames.length, r.stdout).toBeGreaterThan(0);
    for (const f of frames) expect(f).not.toMatch(/\{\w+\}/);
    expect(frames.at(-1)).toMatch(/100% \| (\d+)\/\1 members \| \d+\/s \| ETA 0s \| \d+ rows \| done/);
    expect(r.stdout).toMatch(/Backfill done in [\d.]+ s/);
  });

  it('Ctrl-C detaches: the message on a line of its own, exit 0, the run goes on', { timeout: 120_000 }, async () => {
    // as a terminal's Ctrl-C: SIGINT to the command's whole process group
    const child = spawn(
      resolve(ROOT, 'node_modules/.bin/tsx'),
      ['scripts/cutover.ts', 'backfill', '--batch-size', '1', '--concurrency', '1', '--restart'],
      {
        cwd: ROOT,
        detached: true,
        env: {
          ...process.env,
          DATABASE_URL: db.url,
          TEMPORAL_ADDRESS: inject('temporalAddress'),
          TEMPORAL_NAMESPACE: namespace,
          TASK_QUEUE: uniqueTaskQueue('cli-detach'),
        },
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
    for (let i = 0; i < 600 && !stderr.includes('Ctrl-C detaches'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toContain('Ctrl-C detaches');
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    const id = /\n\[cutover\] detached: (cutover\/backfill\/\S+) keeps running on the server \(it needs a worker/.exec(stderr)?.[1];
    expect(id, stderr).toBeDefined();
    // on the server the run goes on (waiting for a worker); it is ended here
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const handle = new Client({ connection, namespace }).workflow.getHandle(id!);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await handle.terminate('test over');
    } finally {
      await connection.close();
    }
  });
});
