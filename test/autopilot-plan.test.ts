import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseAutopilotFlags } from '../scripts/autopilot/flags';
import { callEnded, endedUrl } from '../scripts/autopilot/http';
import { CallPlanner, planCalls, type CallPlan } from '../scripts/autopilot/plan';
import { percentile } from '../scripts/autopilot/run';
import { UsageError } from '../scripts/cli-support';
import { Rng } from '../scripts/seed/prng';

/** The autopilot's pure parts: the fault plan, flag validation, and the HTTP call's retry rules. */

const ids = (n: number) => Array.from({ length: n }, (_, i) => `challenge-${i}`);

/** Within `k` standard deviations of a binomial count. */
function nearBinomial(count: number, n: number, p: number, k = 4): boolean {
  const sd = Math.sqrt(n * p * (1 - p));
  return Math.abs(count - n * p) <= k * sd + 1;
}

function checkInvariants(endings: string[], plan: CallPlan): void {
  const firsts = plan.deliveries.filter((d) => d.copy === 1);
  const dropped = new Set(plan.dropped);
  // every ending is called exactly once (plus its duplicate) or recorded as dropped, never both, never neither
  expect(new Set(firsts.map((d) => d.challengeId)).size).toBe(firsts.length);
  for (const id of endings) expect(Number(firsts.some((d) => d.challengeId === id)) + Number(dropped.has(id))).toBe(1);
  expect(plan.stats).toMatchObject({ ended: endings.length, called: firsts.length, dropped: dropped.size, held: 0 });
  const seconds = plan.deliveries.filter((d) => d.copy === 2);
  expect(seconds).toHaveLength(plan.stats.duplicated);
  for (const d of seconds) {
    expect(firsts.some((f) => f.challengeId === d.challengeId)).toBe(true);
    expect(d.delayMs === 0 || (d.delayMs >= 20 && d.delayMs <= 500)).toBe(true);
  }
  // calls not held back go out in end order; a reordered one really comes after a later ending's call
  const inOrder = firsts.filter((d) => !d.reordered).map((d) => d.index);
  expect(inOrder).toEqual([...inOrder].sort((a, b) => a - b));
  firsts.forEach((d, i) => {
    if (d.reordered) expect(firsts.slice(0, i).some((x) => x.index > d.index)).toBe(true);
  });
  expect(firsts.filter((d) => d.reordered)).toHaveLength(plan.stats.reordered);
}

describe('planCalls', () => {
  it('drops, duplicates and reorders at the asked rates over thousands of endings, and loses nothing silently', () => {
    const n = 4000;
    const rates = { drop: 0.1, duplicate: 0.25, reorder: 0.15 };
    const endings = ids(n);
    const plan = planCalls(endings, rates, new Rng(42, 'test'));
    checkInvariants(endings, plan);
    const s = plan.stats;
    expect(nearBinomial(s.dropped, n, rates.drop)).toBe(true);
    expect(nearBinomial(s.duplicated, s.called, rates.duplicate)).toBe(true);
    // held back: all but the very last few are overtaken by a later call
    expect(nearBinomial(s.reordered, s.called, rates.reorder)).toBe(true);
    expect(plan.deliveries).toHaveLength(s.called + s.duplicated);
  });

  it('is deterministic for a seed, and the live planner (one ending at a time) makes the same plan', () => {
    const endings = ids(500);
    const rates = { drop: 0.2, duplicate: 0.5, reorder: 0.3 };
    const a = planCalls(endings, rates, new Rng(7, 'x'));
    expect(planCalls(endings, rates, new Rng(7, 'x'))).toEqual(a);
    expect(planCalls(endings, rates, new Rng(8, 'x'))).not.toEqual(a);
    const live = new CallPlanner(rates, new Rng(7, 'x'));
    const deliveries = endings.flatMap((id) => live.add(id));
    deliveries.push(...live.flush());
    expect(deliveries).toEqual(a.deliveries);
    checkInvariants(endings, a);
  });

  it('edge rates: none → every call once, in order; drop 1 → none; duplicate 1 → every call twice; reorder 1 → the tail flushed at the end', () => {
    const endings = ids(50);
    const none = planCalls(endings, { drop: 0, duplicate: 0, reorder: 0 }, new Rng(1));
    expect(none.deliveries.map((d) => d.challengeId)).toEqual(endings);
    expect(none.stats).toMatchObject({ called: 50, dropped: 0, duplicated: 0, reordered: 0 });
    const all = planCalls(endings, { drop: 1, duplicate: 1, reorder: 1 }, new Rng(1));
    expect(all.deliveries).toHaveLength(0);
    expect(all.dropped).toEqual(endings);
    const twice = planCalls(endings, { drop: 0, duplicate: 1, reorder: 0 }, new Rng(1));
    expect(twice.deliveries).toHaveLength(100);
    checkInvariants(endings, twice);
    // everything held: nothing overtakes anything, so all are delivered by the final flush, in end order
    const held = planCalls(endings, { drop: 0, duplicate: 0, reorder: 1 }, new Rng(1));
    expect(held.deliveries.map((d) => d.challengeId)).toEqual(endings);
    expect(held.stats.reordered).toBe(0);
    expect(() => planCalls(endings, { drop: 1.5, duplicate: 0, reorder: 0 }, new Rng(1))).toThrow(/drop/);
  });
});

describe('autopilot flags', () => {
  it('defaults, N/s rates, and a UsageError naming each bad flag', () => {
    expect(parseAutopilotFlags({})).toEqual({ rate: 1, duration: 30, drop: 0, duplicate: 0, reorder: 0, json: false });
    expect(parseAutopilotFlags({ rate: '20/s', duration: '2', duplicate: '0.5', seed: '9', json: true })).toMatchObject({
      rate: 20,
      duration: 2,
      duplicate: 0.5,
      seed: 9,
      json: true,
    });
    expect(parseAutopilotFlags({ rate: '0.5' }).rate).toBe(0.5);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ rate: '0' }, /--rate/],
      [{ rate: '200.5' }, /--rate must be at most 200/],
      [{ duration: '3601' }, /--duration/],
      [{ duration: '0.5' }, /--duration/],
      [{ drop: '2' }, /--drop/],
      [{ duplicate: '-1' }, /--duplicate/],
      [{ reorder: 'x' }, /--reorder/],
      [{ seed: '1.5' }, /--seed/],
      [{ apiUrl: 'localhost:3000' }, /--api-url/],
    ];
    for (const [raw, message] of bad) {
      expect(() => parseAutopilotFlags(raw)).toThrow(UsageError);
      expect(() => parseAutopilotFlags(raw)).toThrow(message);
    }
  });
});

describe('the ended call', () => {
  async function server(answers: number[]) {
    const seen: { url: string; auth?: string; body: string }[] = [];
    const s = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', auth: req.headers.authorization, body });
        const status = answers[Math.min(seen.length - 1, answers.length - 1)]!;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(status === 202 ? { workflowId: 'refresh/challenge/x' } : { status }));
      });
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/`,
      seen,
      close: () => new Promise<void>((r) => s.close(() => r())),
    };
  }

  it('POSTs {} with the bearer token to /members/stats/challenges/<id>/ended; 503 is retried, 4xx never', async () => {
    expect(endedUrl('http://api:3000/', 'abc')).toBe('http://api:3000/members/stats/challenges/abc/ended');
    const a = await server([503, 503, 202]);
    try {
      const r = await callEnded(a.url, 'tok', 'c-1', { backoffMs: 5 });
      expect(r).toMatchObject({ challengeId: 'c-1', status: 202, retries: 2, body: { workflowId: 'refresh/challenge/x' } });
      expect(r.latencyMs).toBeGreaterThan(0);
      expect(a.seen).toHaveLength(3);
      expect(a.seen.every((q) => q.url === '/members/stats/challenges/c-1/ended' && q.auth === 'Bearer tok' && q.body === '{}')).toBe(true);
    } finally {
      await a.close();
    }
    const b = await server([403]);
    try {
      expect(await callEnded(b.url, 'tok', 'c-2', { backoffMs: 5 })).toMatchObject({ status: 403, retries: 0 });
      expect(b.seen).toHaveLength(1);
    } finally {
      await b.close();
    }
    const c = await server([500]);
    try {
      expect(await callEnded(c.url, 'tok', 'c-3', { backoffMs: 5 })).toMatchObject({ status: 500, retries: 0 });
    } finally {
      await c.close();
    }
    const d = await server([503]);
    try {
      expect(await callEnded(d.url, 'tok', 'c-4', { backoffMs: 1, retries: 2 })).toMatchObject({ status: 503, retries: 2 });
      expect(d.seen).toHaveLength(3);
    } finally {
      await d.close();
    }
  });

  it('a refused connection is retried with backoff, then reported without an answer', async () => {
    const e = await server([200]);
    const url = e.url;
    await e.close();
    const r = await callEnded(url, 'tok', 'c-5', { backoffMs: 1, retries: 3 });
    expect(r).toMatchObject({ status: null, retries: 3 });
    expect(r.error).toMatch(/ECONNREFUSED/);
  });

  it('percentiles are nearest-rank', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
    expect(percentile([5], 1)).toBe(5);
  });
});
