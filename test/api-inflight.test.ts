import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legacyReadCount } from '../store/legacy-reads';
import { MemberHistory, MemberStats } from '../domain/member-stats';
import type { RunningApi } from '../api/server';
import { readSourceHistory, switchReadSource, type ReadSource } from '../store/read-source';
import { bringUp, type Stack } from '../lib/stack';
import { parseServeFlags, startApiForStack } from '../scripts/commands/serve';
import { UsageError } from '../scripts/cli-support';
import { ALICE, CAROL, fixtureDatabase, type Fixture } from './api-fixtures';
import { testConfig } from './support/db';

interface Sample {
  sentAt: number;
  path: string;
  status: number;
  readSource?: ReadSource;
  problem?: string;
}

const PATHS = [`/members/${ALICE.handle}/stats`, `/members/${ALICE.handle}/stats/history`, `/members/${CAROL.handle}/stats`];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a response must look like, whatever the source; returns a problem or undefined. */
function check(path: string, body: unknown): { readSource?: ReadSource; problem?: string } {
  const parsed = path.endsWith('/history') ? MemberHistory.safeParse(body) : MemberStats.safeParse(body);
  if (!parsed.success) return { problem: parsed.error.message };
  const { readSource } = parsed.data;
  // carol only has unified rows: her answer's content proves which tables were really read
  if (path.includes(CAROL.handle) && 'tracks' in parsed.data && parsed.data.tracks.length !== (readSource === 'unified' ? 1 : 0)) {
    return { readSource, problem: `carol from ${readSource} with ${parsed.data.tracks.length} tracks` };
  }
  return { readSource };
}

describe('switch and rollback while requests are in flight', () => {
  let fx: Fixture;
  let stack: Stack;
  let api: RunningApi;
  beforeAll(async () => {
    fx = await fixtureDatabase('api_inflight');
    stack = await bringUp({ config: testConfig(fx.url), temporal: false, log: () => {} });
    api = await startApiForStack(stack, { port: 0, log: () => {} }); // the helper `serve` and `npm run stack` use
  });
  afterAll(async () => {
    await api?.close();
    await stack?.close();
    await fx?.close();
  });

  it('every response is 200 in the documented shape; a second after each switch all come from the new source', async () => {
    const db = fx.dbs.members;
    const before = await legacyReadCount(db);
    expect(await fetch(`${api.url}/members/health`).then((r) => r.json())).toEqual({ status: 'ok', readSource: 'legacy', db: 'ok' });

    const samples: Sample[] = [];
    let stop = false;
    const client = async (offset: number) => {
      for (let i = offset; !stop && i < offset + 5000; i++) {
        const path = PATHS[i % PATHS.length]!;
        const sentAt = Date.now();
        try {
          const res = await fetch(`${api.url}${path}`);
          samples.push({ sentAt, path, status: res.status, ...check(path, await res.json()) });
        } catch (e) {
          samples.push({ sentAt, path, status: 0, problem: (e as Error).message });
        }
      }
    };
    const clients = Array.from({ length: 6 }, (_, i) => client(i));

    const switchTo = async (to: ReadSource) => {
      const startedAt = Date.now();
      await switchReadSource(db, { to, actor: 'inflight-test', reason: `round trip: ${to}` });
      return { startedAt, doneAt: Date.now() };
    };
    await sleep(400);
    const toUnified = await switchTo('unified');
    await sleep(1600);
    const rollback = await switchTo('legacy');
    await sleep(1600);
    stop = true;
    await Promise.all(clients);

    const bad = samples.filter((s) => s.status !== 200 || s.problem);
    expect(bad.slice(0, 5)).toEqual([]);
    const window = (from: number, to: number) => samples.filter((s) => s.sentAt >= from && s.sentAt < to);
    const phases: Array<[string, Sample[], ReadSource]> = [
      ['before the switch', window(0, toUnified.startedAt), 'legacy'],
      ['1 s after switching to unified', window(toUnified.doneAt + 1000, rollback.startedAt), 'unified'],
      ['1 s after rolling back', window(rollback.doneAt + 1000, Infinity), 'legacy'],
    ];
    for (const [name, inPhase, source] of phases) {
      expect(inPhase.length, name).toBeGreaterThan(10);
      expect(inPhase.filter((s) => s.readSource !== source).length, name).toBe(0);
    }
    const [last, previous] = await readSourceHistory(db, 2);
    expect([previous?.to, last?.to]).toEqual(['unified', 'legacy']);

    // the legacy counter saw exactly the requests answered from legacy
    await api.close();
    const after = await legacyReadCount(db);
    expect(after.total - before.total).toBe(samples.filter((s) => s.readSource === 'legacy').length);
  });

  it('serve flags are validated', () => {
    expect(parseServeFlags({ port: '8080' })).toEqual({ port: 8080, host: '127.0.0.1' });
    expect(parseServeFlags({})).toEqual({ host: '127.0.0.1' });
    for (const port of ['http', '-1', '70000', '1.5', '', ' ', ' 0x50 ']) expect(() => parseServeFlags({ port })).toThrow(UsageError);
  });
});
