import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bringUp } from '../lib/stack';
import { runSeed } from '../scripts/seed/index';
import { createTestDatabase, testConfig } from './support/db';

/** `npm run autopilot` as an operator runs it, against a seeded database and a fake API that records every call. */

const ROOT = resolve(__dirname, '..');
const TSX = resolve(ROOT, 'node_modules/.bin/tsx');

function autopilot(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      TSX,
      ['scripts/autopilot.ts', ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
  at: number;
}

/** A fake member stats API on port 0: records each request and answers `answer(request)` (default 200 {}). */
async function fakeApi(answer: (r: Recorded) => { status: number; body?: unknown } = () => ({ status: 200, body: {} })) {
  const requests: Recorded[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body, at: Date.now() };
      requests.push(r);
      const a = answer(r);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.body ?? {}));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const ENDED = /^\/members\/stats\/challenges\/([0-9a-f-]{36})\/ended$/;

describe('npm run autopilot', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: Record<string, string>;
  let dataDir: string;
  beforeAll(async () => {
    db = await createTestDatabase('autopilot_cli');
    const stack = await bringUp({ config: testConfig(db.url), temporal: false, log: () => {} });
    await runSeed(stack.dbs, { size: 'tiny', seed: 3 });
    await stack.close();
    dataDir = mkdtempSync(join(tmpdir(), 'cutover-autopilot-'));
    env = { DATABASE_URL: db.url, CUTOVER_DATA_DIR: dataDir, LOG_LEVEL: 'silent', AUTOPILOT_TOKEN: '', API_URL: '' };
  });
  afterAll(async () => {
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a bad flag exits 2 naming it, before touching anything', async () => {
    // (every flag's rules: test/autopilot-plan.test.ts; here that the process exits 2 with the message)
    const cases: [string[], RegExp][] = [
      [['--rate', '0'], /--rate/],
      [['--duration', '3601'], /--duration/],
      [['--drop', '1.5'], /--drop/],
      [['--api-url', 'ftp://example.com'], /--api-url/],
      [['--bogus'], /unknown option/],
    ];
    const runs = await Promise.all(cases.map(([args]) => autopilot(args, { ...env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })));
    runs.forEach((r, i) => {
      expect({ args: cases[i]![0], code: r.code }).toEqual({ args: cases[i]![0], code: 2 });
      expect(r.stderr).toMatch(cases[i]![1]);
      expect(r.stdout).toBe('');
    });
  });

  it('--rate 20 --duration 2 --duplicate 0.5 --json: ends challenges, calls the API for each with the Bearer token, prints the summary', async () => {
    const api = await fakeApi();
    try {
      const r = await autopilot(
        ['--rate', '20/s', '--duration', '2', '--duplicate', '0.5', '--json', '--seed', '7', '--api-url', api.url],
        {
          ...env,
          AUTOPILOT_TOKEN: 'test-token-123',
        },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/autopilot: .*ended \d+/);
      const s = JSON.parse(r.stdout);
      // the pace: 20 a second for 2 seconds (each ending is one ordered transaction: a busy machine may fall behind)
      expect(s.ended).toBeGreaterThanOrEqual(20);
      expect(s.ended).toBeLessThanOrEqual(40);
      expect(s).toMatchObject({ dropped: 0, reordered: 0, called: s.ended, failed: 0, endFailures: 0, seed: 7 });
      expect(s.challengeIds).toHaveLength(s.ended);
      expect(s.duplicated).toBeGreaterThan(s.ended * 0.2);
      expect(s.duplicated).toBeLessThan(s.ended * 0.8);
      expect(s.requests).toBe(s.called + s.duplicated);
      expect(s.responses).toEqual({ 200: s.requests });
      expect(s.latencyMs.p50).toBeGreaterThanOrEqual(0);
      expect(s.latencyMs.p99).toBeGreaterThanOrEqual(s.latencyMs.p50);

      // what the API saw: POSTs with the token, an empty JSON body, once or twice per ended challenge, nothing else
      expect(api.requests).toHaveLength(s.requests);
      expect(api.requests.every((q) => q.method === 'POST' && q.authorization === 'Bearer test-token-123' && q.body === '{}')).toBe(true);
      const counts = new Map<string, number>();
      for (const q of api.requests) {
        const id = ENDED.exec(q.url)?.[1];
        expect(id, q.url).toBeDefined();
        counts.set(id!, (counts.get(id!) ?? 0) + 1);
      }
      expect(new Set(counts.keys())).toEqual(new Set(s.challengeIds));
      expect([...counts.values()].filter((n) => n === 2)).toHaveLength(s.duplicated);
      expect([...counts.values()].every((n) => n === 1 || n === 2)).toBe(true);

      // and the challenges really ended, in the order they were called
      const stack = await bringUp({ config: testConfig(db.url), temporal: false, log: () => {} });
      try {
        const ended = await sql<{ id: string; status: string }>`
          SELECT id::text AS id, status FROM challenges."Challenge" WHERE id = ANY(${s.challengeIds}::uuid[]) ORDER BY "endDate"`.execute(
          stack.dbs.challenges,
        );
        expect(ended.rows.map((x) => x.id)).toEqual(s.challengeIds);
        expect(ended.rows.every((x) => x.status === 'COMPLETED')).toBe(true);
      } finally {
        await stack.close();
      }
    } finally {
      await api.close();
    }
  });

  it('drops, holds back and retries as asked; no token given → one minted for autopilot-v6 by the local issuer', async () => {
    // 503 on each challenge's first call (the API restarting): retried; the retry answers 202 {workflowId}
    const seen = new Set<string>();
    const api = await fakeApi((q) => {
      const id = ENDED.exec(q.url)?.[1] ?? '';
      if (!seen.has(id)) {
        seen.add(id);
        return { status: 503, body: { message: 'unavailable' } };
      }
      return { status: 202, body: { workflowId: `refresh/challenge/${id}` } };
    });
    try {
      const r = await autopilot(['--rate', '10', '--duration', '2', '--drop', '0.3', '--reorder', '0.4', '--json', '--seed', '3'], {
        ...env,
        API_URL: api.url,
      });
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s.ended).toBeGreaterThan(10);
      expect(s.dropped + s.called).toBe(s.ended);
      expect(s.dropped).toBeGreaterThan(0);
      expect(s.reordered).toBeGreaterThan(0);
      expect(s.droppedIds).toHaveLength(s.dropped);
      expect(s.responses).toEqual({ 202: s.called });
      expect(s.retries).toBe(s.called);
      // every ended challenge is either called or recorded as dropped
      const called = new Set(api.requests.map((q) => ENDED.exec(q.url)![1]));
      expect(s.droppedIds.every((id: string) => !called.has(id))).toBe(true);
      expect(new Set([...called, ...s.droppedIds])).toEqual(new Set(s.challengeIds));
      // delivered out of end order at least once
      const order = new Map<string, number>(s.challengeIds.map((id: string, i: number) => [id, i]));
      const positions = api.requests
        .filter((q, i) => api.requests.findIndex((x) => x.url === q.url) === i)
        .map((q) => order.get(ENDED.exec(q.url)![1]!)!);
      expect(positions).toHaveLength(s.called);
      expect(positions.some((p, i) => i > 0 && p < positions[i - 1]!)).toBe(true);

      // the minted token: RS256 from the local issuer's key, client autopilot-v6, scope refresh:member_stats
      const token = api.requests[0]!.authorization!.replace(/^Bearer /, '');
      const jose = await import('jose');
      const jwks = jose.createLocalJWKSet(JSON.parse(readFileSync(join(dataDir, 'auth', 'local-issuer.jwks.json'), 'utf8')));
      const { payload } = await jose.jwtVerify(token, jwks, { issuer: 'cutover-local', audience: 'member-api-v6' });
      expect(payload).toMatchObject({ azp: 'autopilot-v6', scope: 'refresh:member_stats' });
    } finally {
      await api.close();
    }
  });

  it('an API that cannot be reached: the challenges still end, each call is retried and fails, exit 1', async () => {
    const api = await fakeApi();
    const url = api.url;
    await api.close();
    const r = await autopilot(['--rate', '2', '--duration', '1', '--json', '--seed', '4', '--api-url', url], {
      ...env,
      AUTOPILOT_TOKEN: 't',
    });
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s.ended).toBeGreaterThan(0);
    expect(s.responses).toEqual({ error: s.called });
    expect(s.failed).toBe(s.called);
    expect(s.retries).toBe(4 * s.called);
  });
});
