import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type AuthVerifier } from '../api/auth';
import { buildApi } from '../api/server';
import { parseConfig } from '../domain/config';
import { eventsFrom } from '../domain/rerate';
import { refreshMemberWorkflowId } from '../workflows/refresh/messages';
import { localIssuerKeys, mintToken, type AuthKeys } from '../lib/auth-keys';
import { loadCatalog } from '../store/catalog';
import { watchReadSource, type ReadSourceReader } from '../store/read-source';
import { loadStream } from '../store/rerate/stream';
import { runTestBackfill } from './support/backfill';
import { seededStack } from './support/stack';

/** Phase E's write routes on the real API, Temporal dev server and Postgres (tiny seed, backfilled). */
describe('refresh and rerate routes', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  let reader: ReadSourceReader;
  let verifier: AuthVerifier;
  let keys: AuthKeys;
  let dataDir: string;
  const auth = parseConfig({}).auth;
  const apps: FastifyInstance[] = [];
  const api = async (waitMs: number, client?: Client, taskQueue = env.taskQueue) => {
    const app = await buildApi({
      dbs: env.stack.dbs,
      readSource: reader,
      auth: verifier,
      logLevel: false,
      readLatency: false,
      temporal: { client: client ?? env.stack.client!, taskQueue, waitMs },
    });
    apps.push(app);
    return app;
  };
  const token = (scopes: string[], clientId = 'autopilot-v6') =>
    mintToken(keys, { scopes, clientId, issuer: auth.issuer, audience: auth.audience }).then((t) => `Bearer ${t}`);

  beforeAll(async () => {
    env = await seededStack('refresh_api', { size: 'tiny', seed: 23 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
    reader = await watchReadSource(env.stack.dbs.members);
    dataDir = mkdtempSync(join(tmpdir(), 'cutover-refresh-api-'));
    keys = await localIssuerKeys(dataDir);
    verifier = await createVerifier(auth, { dataDir });
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    reader?.close();
    await env?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const latestDevelop = async () => {
    const cat = await loadCatalog(env.stack.dbs.challenges);
    return eventsFrom((await loadStream(env.stack.dbs, cat, 'develop', 'rated')).events, undefined)!.at(-1)!;
  };

  it('challenge ended: the auth matrix, then the refresh with the rating, one effect for duplicate calls (UUID and legacy id alike)', async () => {
    const app = await api(60_000);
    const last = await latestDevelop();
    const url = `/members/stats/challenges/${last.challengeId}/ended`;
    expect((await app.inject({ method: 'POST', url })).statusCode).toBe(401);
    const wrong = await app.inject({ method: 'POST', url, headers: { authorization: await token(['rerate:member_stats']) } });
    expect(wrong.statusCode).toBe(403);
    const authorization = await token(['refresh:member_stats']);
    const legacy = await sql<{
      legacyId: number;
    }>`SELECT "legacyId" FROM challenges."Challenge" WHERE id = ${last.challengeId}::uuid`.execute(env.stack.dbs.challenges);
    const [a, b] = await Promise.all([
      app.inject({ method: 'POST', url, headers: { authorization } }),
      app.inject({ method: 'POST', url: `/members/stats/challenges/${legacy.rows[0]!.legacyId}/ended`, headers: { authorization } }),
    ]);
    expect(a.statusCode, a.body).toBe(200);
    expect(b.statusCode, b.body).toBe(200);
    expect(a.json()).toEqual(b.json());
    expect(a.json()).toMatchObject({ challengeId: last.challengeId, stream: 'develop', caller: { clientId: 'autopilot-v6', via: 'api' } });
    expect(a.json().rated.rows).toBe(last.participants.length);
    const runs = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM platform.evidence WHERE kind = 'refresh' AND result->>'challengeId' = ${last.challengeId}`.execute(
      env.stack.dbs.members,
    );
    expect(runs.rows[0]!.n).toBe(1);
  });

  it('answers 202 with the workflow id when the wait runs out; 404, 409 and 400 for what cannot be refreshed', async () => {
    const app = await api(0);
    const authorization = await token(['refresh:member_stats']);
    const cat = await loadCatalog(env.stack.dbs.challenges);
    const mm = eventsFrom((await loadStream(env.stack.dbs, cat, 'marathon', 'rated')).events, undefined)!;
    const slow = await app.inject({
      method: 'POST',
      url: `/members/stats/challenges/${mm[1]!.challengeId}/ended`,
      headers: { authorization },
    });
    expect(slow.statusCode, slow.body).toBe(202);
    expect(slow.json()).toMatchObject({ workflowId: `refresh/challenge/${mm[1]!.challengeId}`, status: 'running' });
    const unknown = await app.inject({
      method: 'POST',
      url: '/members/stats/challenges/00000000-0000-0000-0000-000000000000/ended',
      headers: { authorization },
    });
    expect(unknown.statusCode).toBe(404);
    const active = await sql<{ id: string }>`SELECT id::text FROM challenges."Challenge" WHERE status <> 'COMPLETED' LIMIT 1`.execute(
      env.stack.dbs.challenges,
    );
    const notEnded = await app.inject({
      method: 'POST',
      url: `/members/stats/challenges/${active.rows[0]!.id}/ended`,
      headers: { authorization },
    });
    expect(notEnded.statusCode).toBe(409);
    expect(notEnded.json().message).toMatch(/has not ended/);
    const bad = await app.inject({ method: 'POST', url: '/members/stats/challenges/not-an-id/ended', headers: { authorization } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/challengeId must be a challenge UUID or a legacy integer id/);
  });

  it('member refresh and rerate answer as member-api-v6 does; a wrong track/type pair is a 400 naming the valid ones', async () => {
    const app = await api(60_000);
    const m = await sql<{ handle: string; userId: number; challengeId: string }>`
      SELECT m.handle, m."userId", h."challengeId" FROM members.member m
      JOIN members."memberStatsHistory" h ON h."userId" = m."userId" AND h."challengeId" ~ '^[0-9a-f]{8}-'
      JOIN members."memberStats" s ON s."userId" = m."userId"
      WHERE h."updatedBy" IS NULL AND h."newRating" IS NOT NULL AND s."trackId" = h."trackId" AND s."typeId" = h."typeId"
      ORDER BY h."eventDate" LIMIT 1`.execute(env.stack.dbs.members);
    const { handle, challengeId } = m.rows[0]!;
    const refresh = await app.inject({
      method: 'POST',
      url: `/members/${handle}/stats/refresh`,
      headers: { authorization: await token(['refresh:member_stats']) },
      payload: { challengeId },
    });
    expect(refresh.statusCode, refresh.body).toBe(200);
    expect(refresh.json()).toMatchObject({
      handle,
      refreshed: true,
      challengeId,
      challengeResultsProcessed: expect.any(Number),
      statsUpdated: 0,
    });
    const rerateAuth = await token(['rerate:member_stats']);
    const badPair = await app.inject({
      method: 'POST',
      url: `/members/${handle}/stats/rerate`,
      headers: { authorization: rerateAuth },
      payload: { challengeId, trackId: 'DESIGN', typeId: 'Challenge' },
    });
    expect(badPair.statusCode).toBe(400);
    expect(badPair.json().message).toMatch(/DEVELOP\/Challenge, DATA_SCIENCE\/MARATHON_MATCH/);
    const nobody = await app.inject({
      method: 'POST',
      url: '/members/no-such-handle-x/stats/refresh',
      headers: { authorization: await token(['refresh:member_stats']) },
    });
    expect(nobody.statusCode, nobody.body).toBe(404);
  });

  it(
    'closing the API ends a request’s wait at once with 202 (the workflow runs on): no call outlives the API',
    { timeout: 30_000 },
    async () => {
      // a queue nobody polls: the refresh starts and its result never comes within the wait
      const app = await api(120_000, undefined, `nobody-polls-${process.pid}`);
      const m = await sql<{ handle: string }>`SELECT handle FROM members.member ORDER BY "userId" DESC LIMIT 1`.execute(
        env.stack.dbs.members,
      );
      const handle = m.rows[0]!.handle;
      const pending = app.inject({
        method: 'POST',
        url: `/members/${handle}/stats/refresh`,
        headers: { authorization: await token(['refresh:member_stats']) },
      });
      const wf = env.stack.client!.workflow.getHandle(refreshMemberWorkflowId(handle));
      try {
        await expect
          .poll(
            () =>
              wf.describe().then(
                (d) => d.status.name,
                () => 'none',
              ),
            { timeout: 15_000 },
          )
          .toBe('RUNNING');
        await app.close();
        // without the API's closing signal the wait would run its 120 s, its long poll left on the stack's connection
        const r = await pending;
        expect(r.statusCode, r.body).toBe(202);
        expect(r.json()).toMatchObject({ workflowId: refreshMemberWorkflowId(handle), status: 'running' });
      } finally {
        await wf.terminate('test over').catch(() => undefined);
      }
    },
  );

  it('requests leave no abort listener behind on the API’s closing signal (the client never removes its own)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const app = await api(100, undefined, `nobody-polls-${process.pid}`);
    const m = await sql<{ handle: string }>`SELECT handle FROM members.member ORDER BY "userId" DESC OFFSET 1 LIMIT 1`.execute(
      env.stack.dbs.members,
    );
    const handle = m.rows[0]!.handle;
    try {
      // each joins the same running refresh and answers 202 when its short wait runs out
      for (let i = 0; i < 15; i++) {
        const r = await app.inject({
          method: 'POST',
          url: `/members/${handle}/stats/refresh`,
          headers: { authorization: await token(['refresh:member_stats']) },
        });
        expect(r.statusCode, r.body).toBe(202);
      }
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await env.stack
        .client!.workflow.getHandle(refreshMemberWorkflowId(handle))
        .terminate('test over')
        .catch(() => undefined);
    }
  });

  it('Temporal unreachable: 503 and nothing started', async () => {
    const connection = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: '1s' });
    const app = await api(1000, new Client({ connection }));
    const last = await latestDevelop();
    const r = await app.inject({
      method: 'POST',
      url: `/members/stats/challenges/${last.challengeId}/ended`,
      headers: { authorization: await token(['refresh:member_stats']) },
    });
    expect(r.statusCode, r.body).toBe(503);
    expect(r.json().message).toMatch(/workflow service is unavailable/);
    await connection.close().catch(() => undefined);
  });
});
