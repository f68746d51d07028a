import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rerate, rerateProgress } from '../workflows/rerate/messages';
import type { RerateInput } from '../workflows/rerate/workflow';
import { runTestBackfill } from './support/backfill';
import { seededStack } from './support/stack';

let seq = 0;
/** Every message along a failure's cause chain. */
const failureText = (e: unknown): string => {
  const out: string[] = [];
  for (let c = e as Error | undefined; c; c = (c as { cause?: Error }).cause) out.push(c.message);
  return out.join(' <- ');
};
/** Phase D's stream rerate as a workflow on the real dev server and Postgres (tiny seed, backfilled). */
describe('rerate workflow', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  beforeAll(async () => {
    env = await seededStack('rerate_wf', { size: 'tiny', seed: 17 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
  });
  afterAll(async () => {
    await env?.close();
  });
  const start = (options: RerateInput['options']) =>
    env.stack.client!.workflow.start(Rerate, {
      taskQueue: env.taskQueue,
      workflowId: `test/rerate/${process.pid}/${Date.now()}/${seq++}`,
      args: [{ options: { chunkEvents: 5, ...options }, heartbeatSeconds: 5 }],
    });

  for (const stream of ['develop', 'marathon'] as const) {
    it(`${stream}: the whole stream in chunks, with evidence; the same rerate again writes nothing`, async () => {
      const h = await start({ stream });
      const r = await h.result();
      expect(r.plan.events).toBeGreaterThan(5);
      expect(r.plan.chunks).toBe(Math.ceil(r.plan.events / 5));
      expect(r.chunks.rows).toBe(r.plan.rows);
      expect(r.chunks.written).toBeGreaterThan(0);
      const p = await h.query(rerateProgress);
      expect(p).toMatchObject({ state: 'done', eventsDone: r.plan.events, chunksDone: r.plan.chunks, stream });
      const ev = await sql<{ kind: string; passed: boolean; stream: string }>`
        SELECT kind, passed, result->>'stream' AS stream FROM platform.evidence WHERE id = ${r.evidenceId}`.execute(env.stack.dbs.members);
      expect(ev.rows[0]).toEqual({ kind: 'rerate', passed: true, stream });
      const again = await (await start({ stream })).result();
      expect({ written: again.chunks.written, stats: again.final.statsChanged }).toEqual({ written: 0, stats: 0 });
    });
  }

  it('--from an unknown challenge, or one outside the stream, stops before any write naming it', async () => {
    const unknown = await (
      await start({ stream: 'develop', from: '00000000-0000-0000-0000-000000000000' })
    )
      .result()
      .catch((e: unknown) => e);
    expect(failureText(unknown)).toMatch(/--from 00000000-0000-0000-0000-000000000000: no such challenge/);
    const mm = await sql<{ id: string }>`
      SELECT c.id::text AS id FROM challenges."Challenge" c JOIN challenges."ChallengeType" t ON t.id = c."typeId"
      WHERE t.name = 'Marathon Match' AND c.status = 'COMPLETED' LIMIT 1`.execute(env.stack.dbs.challenges);
    const outside = await (await start({ stream: 'develop', from: mm.rows[0]!.id })).result().catch((e: unknown) => e);
    expect(failureText(outside)).toMatch(/is not a rated event of the develop stream/);
  });
});
