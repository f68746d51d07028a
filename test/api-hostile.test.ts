import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql, type Kysely } from 'kysely';
import { METHODS } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVerifier } from '../api/auth';
import { ApiError, ERROR_CODES } from '../api/schemas';
import { buildApi } from '../api/server';
import { bringUp, type Stack } from '../lib/stack';
import { runSeed } from '../scripts/seed/index';
import { legacyReadCount, type LegacyReadCount } from '../store/legacy-reads';
import { watchReadSource, type ReadSourceReader } from '../store/read-source';
import { closeAndDrop } from './api-fixtures';
import { createTestDatabase, testConfig } from './support/db';

/**
 * Property-based hostile requests against every route the API registers (read from the app, so a new route is
 * covered without touching this file): no 5xx, every 4xx in the documented shape, no stack, SQL or internal path in
 * any body, and no writes from rejected requests.
 */
const RUNS_PER_ROUTE = 1_000;

const INJECTION = [
  "' OR '1'='1",
  `'; DROP TABLE members."member"; --`,
  '" UNION SELECT password FROM users --',
  '1; SELECT pg_sleep(10)',
  "admin'--",
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '__proto__',
  'constructor',
  'prototype',
  'NaN',
  '-1',
  '1e309',
  '%',
  '%zz',
  '%E2%82',
  '%C0%AF',
  '%FF%FE',
  '%00',
  '\u0000',
  '\r\nX-Injected: 1',
  '\u202e\u0007\u001b[31m',
  '😀İǅ\u0301',
  '\\\\server\\share',
  '*',
  '.',
  '..',
];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/json;;;=',
  'application/vnd.api+json',
  'text/plain',
  'text/html; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/octet-stream',
  'application/xml',
  '*/*',
  '',
  ';',
  `application/json; charset=${'x'.repeat(5_000)}`,
];
const BODIES = [
  '{',
  '{"a":',
  '[1,2',
  'null',
  '"',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '\u0000',
];

/** Percent-encodes what encodeURIComponent can; a lone surrogate goes raw (that is hostile too). */
const encode = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return s;
  }
};
const text = (maxLength: number) => fc.string({ unit: 'binary', maxLength });
/** header values: visible ASCII and spaces only, or the request cannot be written at all */
const headerValue = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, ' ')) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 100_000 }).map((n) => 'v'.repeat(n)) },
);

function requestFor(method: string, template: string, handles: string[]): fc.Arbitrary<InjectOptions> {
  const segment = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...handles) }, // real members: accepted reads, which legacy counts
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.\-{}[\]]{1,64}$/) },
    { weight: 3, arbitrary: fc.constantFrom(...INJECTION) },
    { weight: 1, arbitrary: fc.integer({ min: 65, max: 20_000 }).map((n) => 'a'.repeat(n)) },
    { weight: 2, arbitrary: text(40) },
  );
  const encoded = fc
    .tuple(segment, fc.constantFrom('raw', 'encoded', 'twice'))
    .map(([s, how]) => (how === 'raw' ? s : how === 'encoded' ? encode(s) : encode(encode(s))));
  const path = fc
    .tuple(encoded, fc.constantFrom('none', 'none', 'none', 'trailing', 'double', 'upper', 'append', 'replace-last', 'drop-last'))
    .map(([seg, how]) => {
      const p = template.replace(/:[^/]+/g, () => seg);
      const parts = p.split('/');
      return {
        none: p,
        trailing: `${p}/`,
        double: p.replace(/\//g, '//'),
        upper: p.toUpperCase(),
        append: `${p}/${seg}`,
        'replace-last': [...parts.slice(0, -1), seg].join('/'),
        'drop-last': parts.slice(0, -1).join('/') || '/',
      }[how]!;
    });
  const query = fc.oneof(
    { weight: 6, arbitrary: fc.constant('') },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'track=DEVELOPMENT',
        'track=SPACE',
        'track=',
        'track=DESIGN&track=DEVELOPMENT',
        'track[$ne]=x',
        '__proto__[polluted]=1',
        'constructor[prototype][polluted]=1',
        'a=%zz',
        '%zz=1',
        '&&&==',
        `q=${'y'.repeat(20_000)}`,
      ),
    },
    { weight: 2, arbitrary: fc.dictionary(text(12), text(24), { maxKeys: 5 }).map((d) => new URLSearchParams(d).toString()) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(text(8), text(8)), { maxLength: 200 })
        .map((kv) => kv.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')),
    },
  );
  const headers = fc.record({
    extra: fc.oneof(
      { weight: 4, arbitrary: fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), headerValue, { maxKeys: 5 }) },
      { weight: 1, arbitrary: fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), headerValue, { minKeys: 100, maxKeys: 400 }) },
    ),
    special: fc.subarray([
      ['accept', 'application/xml'],
      ['accept-version', '9.x'],
      ['expect', '100-continue'],
      ['connection', 'upgrade'],
      ['upgrade', 'websocket'],
      ['transfer-encoding', 'chunked'],
      ['content-length', '100'],
      ['x-forwarded-for', "1.2.3.4, ' OR 1=1"],
      ['authorization', 'Bearer ../../etc/passwd'],
      ['host', 'evil.example:99999'],
    ] as const),
    contentType: fc.option(fc.constantFrom(...CONTENT_TYPES), { nil: undefined }),
  });
  const body = fc.oneof(
    { weight: 5, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 2, arbitrary: fc.constantFrom(...BODIES) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: text(200) },
    // about the body limit, and far past it
    { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 3_000_000 }).map((n) => Buffer.alloc(n, 0x7b)) },
  );
  const methods = fc.oneof(
    { weight: 3, arbitrary: fc.constant(method) },
    { weight: 2, arbitrary: fc.constantFrom(...METHODS, ...METHODS.map((m) => m.toLowerCase())) },
  );
  return fc
    .record({ method: methods, path, query, headers, body })
    .map(({ method: m, path: p, query: q, headers: h, body: b }): InjectOptions => ({
      method: m as InjectOptions['method'],
      url: q ? `${p}?${q}` : p,
      headers: { ...h.extra, ...Object.fromEntries(h.special), ...(h.contentType === undefined ? {} : { 'content-type': h.contentType }) },
      ...(b === undefined ? {} : { payload: b }),
    }));
}

// a leak is a stack frame, an internal path or SQL that the request did not itself send (messages may echo input)
const LEAKS = [
  /\n\s*at \S/,
  /\bat [\w.<>$]+ \(.*:\d+:\d+\)/,
  /node_modules/,
  /file:\/\//,
  /(?:^|[\s"'(=])\/(?:home|root|usr|tmp|work|app|srv|opt|var)\/\S/,
  /\b[\w-]+\.(?:ts|js|mjs|cjs):\d+/,
  /\bSELECT\b/i,
  /\bFROM\s+"?members\b/i,
  /\bINSERT\s+INTO\b/i,
  /\bsyntax error\b/i,
  /\brelation "/i,
  /\bcolumn "/i,
  /\bviolates\b.*\bconstraint\b/i,
  /\bpg_\w+/,
  /ECONNREFUSED|ECONNRESET/,
];
const lenientDecode = (s: string) =>
  s.replace(/(?:%[0-9a-f]{2})+/gi, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      return m;
    }
  });
function leaksIn(body: string, req: InjectOptions): string[] {
  const found = LEAKS.map((re) => body.match(re)?.[0]).filter((m): m is string => m !== undefined);
  if (found.length === 0) return [];
  const url = String(req.url);
  const sent = [url, lenientDecode(url), lenientDecode(url.replace(/\+/g, ' ')), JSON.stringify(req.headers), String(req.payload ?? '')]
    .join('\n')
    .toLowerCase();
  return found.filter((m) => !sent.includes(m.toLowerCase()));
}

function checkResponse(req: InjectOptions, res: LightMyRequestResponse): void {
  const where = `${req.method} ${String(req.url).slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect(res.statusCode, where).toBeLessThan(500);
  expect(leaksIn(res.body, req), where).toEqual([]);
  if (res.statusCode < 400) return;
  expect(res.headers['content-type'], where).toMatch(/^application\/json/);
  if (res.statusCode === 405) expect(res.headers.allow, where).toMatch(/^[A-Z]+(, [A-Z]+)*$/);
  if (String(req.method).toUpperCase() === 'HEAD') return; // no body to check
  const body = ApiError.strict().safeParse(JSON.parse(res.body));
  expect(body.success && body.data.error, where).toBe(ERROR_CODES[res.statusCode as keyof typeof ERROR_CODES]);
}

/** Row count and content digest of every table of the members database. */
async function checksums(db: Kysely<any>): Promise<Map<string, string>> {
  const tables = await sql<{ s: string; t: string }>`
    SELECT table_schema AS s, table_name AS t FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`.execute(db);
  const out = new Map<string, string>();
  for (const { s, t } of tables.rows) {
    const r = await sql<{ sum: string }>`
      SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS sum
      FROM ${sql.table(`${s}.${t}`)} x`.execute(db);
    out.set(`${s}.${t}`, r.rows[0]!.sum);
  }
  return out;
}

/** published on a timer whatever the requests (the API's read latency), not written by any one request */
const TELEMETRY = ['platform.readLatency'];

const perRoute = (c: LegacyReadCount) => {
  const m = new Map<string, number>();
  for (const r of c.routes) m.set(r.route, (m.get(r.route) ?? 0) + r.count);
  return m;
};

describe('hostile requests against every route', () => {
  let tdb: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: Stack;
  let reader: ReadSourceReader;
  let app: FastifyInstance;
  let handles: string[];
  let dataDir: string | undefined;
  let before: Map<string, string>;
  let legacyBefore: LegacyReadCount;
  const accepted = new Map<string, number>(); // 2xx answers per route path
  const statuses = new Set<number>();

  beforeAll(async () => {
    tdb = await createTestDatabase('api_hostile');
    stack = await bringUp({ config: testConfig(tdb.url), temporal: false, log: () => {} });
    await runSeed(stack.dbs, { size: 'tiny', seed: 1 });
    reader = await watchReadSource(stack.dbs.members);
    // the write routes refuse what carries no valid token (hostile requests never do) before touching anything
    dataDir = mkdtempSync(join(tmpdir(), 'cutover-hostile-'));
    const auth = await createVerifier(testConfig(tdb.url).auth, { dataDir });
    app = await buildApi({ dbs: stack.dbs, readSource: reader, auth });
    app.addHook('onResponse', async (req, reply) => {
      const url = req.routeOptions.url;
      if (reply.statusCode < 300 && url) accepted.set(url, (accepted.get(url) ?? 0) + 1);
    });
    await app.ready();
    const rows = await sql<{ handle: string }>`SELECT handle FROM members."member" ORDER BY "userId" LIMIT 20`.execute(stack.dbs.members);
    handles = rows.rows.map((r) => r.handle);
    before = await checksums(stack.dbs.members);
    legacyBefore = await legacyReadCount(stack.dbs.members);
  });
  afterAll(async () => {
    await app?.close();
    reader?.close();
    if (stack && tdb) await closeAndDrop(stack.dbs, tdb);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it(`${RUNS_PER_ROUTE} requests per registered route: no 5xx, the documented error body, nothing leaked`, async () => {
    const routes = app.routeTable;
    expect(routes.map((r) => `${r.method} ${r.url}`)).toEqual(
      expect.arrayContaining(['GET /members/health', 'GET /members/:handle/stats', 'GET /members/:handle/stats/history']),
    );
    for (const route of routes) {
      let sent = 0;
      await fc.assert(
        fc.asyncProperty(requestFor(route.method, route.url, handles), async (req) => {
          sent++;
          const res = await app.inject(req);
          statuses.add(res.statusCode);
          checkResponse(req, res);
        }),
        { numRuns: RUNS_PER_ROUTE },
      );
      expect(sent, `${route.method} ${route.url}`).toBeGreaterThanOrEqual(RUNS_PER_ROUTE);
    }
    // the generators reach every kind of answer, accepted reads included
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 400, 404, 405, 413, 414]));
  });

  it('rejected requests wrote nothing: every table as before, legacy reads counted for accepted requests only', async () => {
    await app.close(); // flushes the buffered legacy read counts
    const after = await checksums(stack.dbs.members);
    const legacyAfter = await legacyReadCount(stack.dbs.members);
    const changed = [...after.keys()].filter((t) => after.get(t) !== before.get(t));
    expect(changed.filter((t) => t !== 'platform.legacyRead' && !TELEMETRY.includes(t))).toEqual([]);
    expect(after.size).toBe(before.size);
    const [was, now] = [perRoute(legacyBefore), perRoute(legacyAfter)];
    expect(now.size).toBeGreaterThan(0);
    for (const [route, n] of now) expect(n - (was.get(route) ?? 0), route).toBe(accepted.get(route));
  });
});
