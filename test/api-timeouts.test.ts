import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../api/schemas';
import { startApi, type RunningApi } from '../api/server';
import type { ApiLimits } from '../domain/limits';
import { watchReadSource, type ReadSourceReader } from '../store/read-source';
import { fixtureDatabase, type Fixture } from './api-fixtures';

/** Short bounds, so slow clients are cut off within a test's time; the header timeout well below the request timeout. */
const LIMITS: Partial<ApiLimits> = {
  headersTimeoutMs: 300,
  requestTimeoutMs: 1_200,
  timeoutCheckMs: 50,
  keepAliveTimeoutMs: 500,
  bodyLimitBytes: 1_024,
  maxHeaderBytes: 4_096,
};
const SLACK_MS = 700; // the check interval plus a loaded machine's scheduling

interface Exchange {
  /** each HTTP response read off the connection: status and body */
  responses: Array<{ status: number; body: string }>;
  closedAfterMs: number;
}

/** One raw connection: writes `head`, then `drip` every `everyMs` until the server closes it. */
async function trickle(port: number, head: string, drip = '', everyMs = 100): Promise<Exchange> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const started = performance.now();
  let raw = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (raw += d));
  socket.on('error', () => {}); // a write racing the server's close
  socket.write(head);
  const timer = drip ? setInterval(() => socket.writable && socket.write(drip), everyMs) : undefined;
  await once(socket, 'close');
  clearInterval(timer);
  const responses = [...raw.matchAll(/HTTP\/1\.1 (\d{3})[^\r]*\r\n(?:[^\r]+\r\n)*?content-length: (\d+)\r\n(?:[^\r]+\r\n)*\r\n/gi)].map(
    (m) => ({
      status: Number(m[1]),
      body: raw.slice(m.index + m[0].length, m.index + m[0].length + Number(m[2])),
    }),
  );
  return { responses, closedAfterMs: performance.now() - started };
}

/** The documented error body, with the code that goes with the status. */
function expectErrorBody(body: string, error: string) {
  expect(ApiError.strict().parse(JSON.parse(body)).error).toBe(error);
}

describe('API timeouts and limits over a real socket', () => {
  let fx: Fixture;
  let reader: ReadSourceReader;
  let api: RunningApi;
  let port: number;

  /** Normal reads while `during` runs: each answered 200, promptly. */
  async function servesMeanwhile(during: Promise<unknown>): Promise<number[]> {
    let done = false;
    void during.finally(() => (done = true));
    const latencies: number[] = [];
    while (!done) {
      const t = performance.now();
      const r = await fetch(`${api.url}/members/health`);
      expect(r.status).toBe(200);
      await r.json();
      latencies.push(performance.now() - t);
      await new Promise((res) => setTimeout(res, 20));
    }
    await during;
    return latencies;
  }

  beforeAll(async () => {
    fx = await fixtureDatabase('api_timeouts');
    reader = await watchReadSource(fx.dbs.members);
    api = await startApi({ dbs: fx.dbs, readSource: reader, port: 0, limits: LIMITS });
    port = Number(new URL(api.url).port);
  });
  afterAll(async () => {
    await api?.close();
    reader?.close();
    await fx?.close();
  });

  it('slow-header connections are answered 408 and closed at the header timeout; normal reads go on', async () => {
    const slow = Array.from({ length: 100 }, () => trickle(port, 'GET /members/health HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n'));
    const latencies = await servesMeanwhile(Promise.all(slow));
    for (const c of await Promise.all(slow)) {
      expect(c.responses.map((r) => r.status)).toEqual([408]);
      expectErrorBody(c.responses[0]!.body, 'request_timeout');
      expect(c.closedAfterMs).toBeGreaterThan(LIMITS.headersTimeoutMs! - 50);
      expect(c.closedAfterMs).toBeLessThan(LIMITS.headersTimeoutMs! + SLACK_MS);
    }
    expect(latencies.length).toBeGreaterThan(0);
    expect(Math.max(...latencies)).toBeLessThan(1_000);
  });

  it('a connection that sends nothing is closed at the header timeout', async () => {
    const c = await trickle(port, '');
    expect(c.closedAfterMs).toBeLessThan(LIMITS.headersTimeoutMs! + SLACK_MS);
  });

  it('slow-body connections are answered 408 and closed at the request timeout; normal reads go on', async () => {
    // a POST: its body is read before routing answers (here 405), a GET's is not
    const head = 'POST /members/health HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n{"a":"';
    const slow = Array.from({ length: 100 }, () => trickle(port, head, 'x'));
    const latencies = await servesMeanwhile(Promise.all(slow));
    for (const c of await Promise.all(slow)) {
      expect(c.responses.map((r) => r.status)).toEqual([408]);
      expectErrorBody(c.responses[0]!.body, 'request_timeout');
      expect(c.closedAfterMs).toBeGreaterThan(LIMITS.requestTimeoutMs! - 50);
      expect(c.closedAfterMs).toBeLessThan(LIMITS.requestTimeoutMs! + SLACK_MS);
    }
    expect(Math.max(...latencies)).toBeLessThan(1_000);
  });

  it('a slow body on a read route: the read is answered, the connection closed at the request timeout', async () => {
    const c = await trickle(port, 'GET /members/health HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n', 'x');
    expect(c.responses[0]?.status).toBe(200);
    expect(c.closedAfterMs).toBeLessThan(LIMITS.requestTimeoutMs! + SLACK_MS);
  });

  it('an oversized body → 413 in the documented shape, declared or streamed', async () => {
    const declared = await fetch(`${api.url}/members/health`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 'x'.repeat(LIMITS.bodyLimitBytes!) }),
    });
    expect(declared.status).toBe(413);
    expectErrorBody(await declared.text(), 'content_too_large');
    const chunk = `${(LIMITS.bodyLimitBytes! * 2).toString(16)}\r\n${'x'.repeat(LIMITS.bodyLimitBytes! * 2)}\r\n`;
    const head = 'POST /members/health HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n';
    const streamed = await trickle(port, `${head}Connection: close\r\n\r\n${chunk}`);
    expect(streamed.responses.map((r) => r.status)).toEqual([413]);
    expectErrorBody(streamed.responses[0]!.body, 'content_too_large');
  });

  it('oversized headers → 431, a request that is not HTTP → 400, both in the documented shape', async () => {
    const big = await trickle(port, `GET /members/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(LIMITS.maxHeaderBytes!)}\r\n\r\n`);
    expect(big.responses.map((r) => r.status)).toEqual([431]);
    expectErrorBody(big.responses[0]!.body, 'headers_too_large');
    const garbage = await trickle(port, 'HELLO THERE\r\n\r\n');
    expect(garbage.responses.map((r) => r.status)).toEqual([400]);
    expectErrorBody(garbage.responses[0]!.body, 'bad_request');
  });

  it('an idle kept-alive connection is closed at the keep-alive timeout', async () => {
    const c = await trickle(port, 'GET /members/health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(c.responses.map((r) => r.status)).toEqual([200]);
    // Node keeps an idle connection a second past keepAliveTimeout, against a race with a client reusing it
    expect(c.closedAfterMs).toBeGreaterThan(LIMITS.keepAliveTimeoutMs! - 50);
    expect(c.closedAfterMs).toBeLessThan(LIMITS.keepAliveTimeoutMs! + 1_000 + SLACK_MS);
  });
});
