import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { legacyReadCount } from '../store/legacy-reads';
import { MemberHistory, MemberStats } from '../domain/member-stats';
import { buildApi } from '../api/server';
import { openDatabases } from '../store/db';
import { switchReadSource, watchReadSource, type ReadSource, type ReadSourceReader } from '../store/read-source';
import { ALICE, BOB, CAROL, fixtureDatabase, type Fixture } from './api-fixtures';

describe('member stats read API', () => {
  let fx: Fixture;
  let reader: ReadSourceReader;
  let app: FastifyInstance;

  const use = async (to: ReadSource) => {
    await switchReadSource(fx.dbs.members, { to, actor: 'test', reason: 'api test' });
    await reader.refresh();
  };
  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.json(), type: res.headers['content-type'] };
  };

  beforeAll(async () => {
    fx = await fixtureDatabase('api');
    reader = await watchReadSource(fx.dbs.members);
    app = await buildApi({ dbs: fx.dbs, readSource: reader });
  });
  afterAll(async () => {
    await app?.close();
    reader?.close();
    await fx?.close();
  });
  beforeEach(() => use('legacy'));

  it('answers a member identically from legacy and unified tables, in the documented shape', async () => {
    const legacy = await get(`/members/${ALICE.handle}/stats`);
    await use('unified');
    const unified = await get(`/members/${ALICE.handle}/stats`);
    expect(legacy.status).toBe(200);
    expect(unified.status).toBe(200);
    const l = MemberStats.parse(legacy.body);
    const u = MemberStats.parse(unified.body);
    expect([l.readSource, u.readSource]).toEqual(['legacy', 'unified']);
    expect({ ...l, readSource: undefined }).toEqual({ ...u, readSource: undefined });
    expect(l.tracks.map((t) => `${t.track}/${t.type}`)).toEqual([
      'DATA_SCIENCE/Marathon Match',
      'DATA_SCIENCE/SRM',
      'DESIGN/Challenge',
      'DESIGN/First2Finish',
      'DEVELOPMENT/Challenge',
      'DEVELOPMENT/First2Finish',
    ]);
    // the Development stream: DEVELOPMENT and CODE items on one key, counts added, the rated item's rating
    expect(l.tracks.find((t) => t.track === 'DEVELOPMENT' && t.type === 'Challenge')).toMatchObject({
      challenges: 14,
      wins: 4,
      rating: 1500,
    });
    // design sub-tracks summed, latest dates kept
    expect(l.tracks.find((t) => t.track === 'DESIGN' && t.type === 'Challenge')).toMatchObject({
      challenges: 5,
      wins: 1,
      rating: null,
      mostRecentSubmission: '2018-06-01T00:00:00.000Z',
      mostRecentEventDate: '2018-01-02T00:00:00.000Z',
    });
    expect(l.maxRating).toEqual({ rating: 2300, track: 'DATA_SCIENCE', subTrack: 'Marathon Match', ratingColor: '#EF3A3A' });
    expect(l).toMatchObject({ userId: ALICE.userId, handle: ALICE.handle, handleLower: 'alice_1' });
  });

  it('looks handles up case-insensitively, and filters by track', async () => {
    const r = await get('/members/ALICE_1/stats?track=DATA_SCIENCE');
    expect(r.status).toBe(200);
    const s = MemberStats.parse(r.body);
    expect(s.handle).toBe(ALICE.handle);
    expect(s.tracks.map((t) => t.type)).toEqual(['Marathon Match', 'SRM']);
  });

  it('answers a member without stats with empty tracks and no max rating from both sources', async () => {
    const l = MemberStats.parse((await get(`/members/${BOB.handle}/stats`)).body);
    await use('unified');
    const u = MemberStats.parse((await get(`/members/${BOB.handle}/stats`)).body);
    for (const s of [l, u]) expect(s).toMatchObject({ tracks: [], maxRating: null });
    // carol has unified rows only: the answer's content shows which tables were read
    expect(MemberStats.parse((await get(`/members/${CAROL.handle}/stats`)).body).tracks).toHaveLength(1);
    await use('legacy');
    expect(MemberStats.parse((await get(`/members/${CAROL.handle}/stats`)).body).tracks).toHaveLength(0);
  });

  it('returns history in chronological order, ties by challengeId, the same from both sources', async () => {
    const l = MemberHistory.parse((await get(`/members/${ALICE.handle}/stats/history`)).body);
    await use('unified');
    const u = MemberHistory.parse((await get(`/members/${ALICE.handle}/stats/history`)).body);
    expect({ ...l, readSource: undefined }).toEqual({ ...u, readSource: undefined });
    expect(l.history.map((h) => h.challengeId)).toEqual(['145', '30001', '20001', '30002', '30003']);
    expect(l.history[0]).toEqual({
      track: 'DATA_SCIENCE',
      type: 'Marathon Match',
      challengeId: '145',
      challengeName: 'Marathon Match 145',
      date: '2019-12-01T00:00:00.000Z',
      rating: 2300,
      placement: 1,
      percentile: 99.1,
    });
    const dev = MemberHistory.parse((await get(`/members/${ALICE.handle}/stats/history?track=DEVELOPMENT`)).body);
    expect(dev.history.map((h) => h.challengeId)).toEqual(['30001', '30002', '30003']);
  });

  it('unknown handle → 404 JSON', async () => {
    for (const url of ['/members/nobody/stats', '/members/nobody/stats/history']) {
      const r = await get(url);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: 'not_found', message: 'no member with handle "nobody"' });
    }
  });

  it('malformed handle or query → 400 with a reason', async () => {
    const cases: Array<[string, RegExp]> = [
      [`/members/${'a'.repeat(65)}/stats`, /longer than 64/],
      ['/members/al%20ice/stats', /only letters, digits/],
      ['/members/al%27ice/stats/history', /only letters, digits/],
      ['/members/%E2%9C%93/stats', /only letters, digits/],
      ['/members//stats', /handle is empty/],
      [`/members/${ALICE.handle}/stats?track=SPACE`, /track must be one of/],
      [`/members/${ALICE.handle}/stats?track=DESIGN&track=DEVELOPMENT`, /track must be one of/],
      [`/members/${ALICE.handle}/stats/history?limit=5`, /Unrecognized key.*limit/],
    ];
    for (const [url, reason] of cases) {
      const r = await get(url);
      expect(r.status, url).toBe(400);
      expect(r.body.error, url).toBe('bad_request');
      expect(r.body.message, url).toMatch(reason);
    }
    expect((await get(`/members/${'a'.repeat(64)}/stats`)).status).toBe(404); // 64 is still a valid length
  });

  it('unknown routes → 404 JSON; a known path with a wrong method → 405 naming the allowed ones', async () => {
    for (const url of ['/nope', '/members', '/members/alice_1/statz']) {
      const r = await get(url);
      expect(r.status).toBe(404);
      expect(r.type).toMatch(/application\/json/);
      expect(r.body.error).toBe('not_found');
    }
    for (const url of [`/members/${ALICE.handle}/stats`, '/members/nobody/stats/history?track=DESIGN', '/members/health']) {
      const r = await app.inject({ method: 'POST', url });
      expect(r.statusCode, url).toBe(405);
      expect(r.headers.allow, url).toBe('GET, HEAD');
      expect(r.json(), url).toEqual({ error: 'method_not_allowed', message: expect.stringMatching(/^POST is not allowed on \/members\//) });
    }
  });

  it('serves its OpenAPI document with request and response schemas', async () => {
    const r = await get('/members/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toMatch(/^3\./);
    expect(Object.keys(r.body.paths).sort()).toEqual([
      '/members/health',
      '/members/stats/challenges/{challengeId}/ended',
      '/members/stats/rerate-challenge',
      '/members/{handle}/stats',
      '/members/{handle}/stats/history',
      '/members/{handle}/stats/refresh',
      '/members/{handle}/stats/rerate',
    ]);
    // the write routes say they take a bearer JWT
    expect(r.body.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(r.body.paths['/members/stats/challenges/{challengeId}/ended'].post.security).toEqual([{ bearerAuth: [] }]);
    const stats = r.body.paths['/members/{handle}/stats'].get;
    expect(stats.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort()).toEqual(['path:handle', 'query:track']);
    const ok = stats.responses['200'].content['application/json'].schema;
    expect(Object.keys(ok.properties)).toEqual(['userId', 'handle', 'handleLower', 'readSource', 'tracks', 'maxRating']);
    expect(ok.properties.tracks.items.required).toContain('mostRecentSubmission');
    expect(Object.keys(stats.responses).sort()).toEqual(['200', '400', '404', '500', '503']);
    const history = r.body.paths['/members/{handle}/stats/history'].get;
    expect(history.responses['200'].content['application/json'].schema.properties.history.items.properties.challengeId.type).toBe('string');
  });

  it('health: 200 with the read source; 503 when the database is unreachable', async () => {
    expect(await get('/members/health')).toMatchObject({ status: 200, body: { status: 'ok', readSource: 'legacy', db: 'ok' } });
    const down = openDatabases({
      databaseUrl: 'postgres://postgres@127.0.0.1:1/none',
      challengesDbUrl: 'postgres://postgres@127.0.0.1:1/none',
      reviewDbUrl: 'postgres://postgres@127.0.0.1:1/none',
    });
    const broken = await buildApi({ dbs: down, readSource: reader });
    try {
      const r = await broken.inject({ method: 'GET', url: '/members/health' });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toEqual({ status: 'unavailable', readSource: 'legacy', db: 'unreachable' });
    } finally {
      await broken.close();
      await down.close();
    }
  });

  it('counts legacy-served reads per route, and only those', async () => {
    const before = await legacyReadCount(fx.dbs.members);
    const counted = await buildApi({ dbs: fx.dbs, readSource: reader });
    const hit = (url: string) => counted.inject({ method: 'GET', url });
    for (let i = 0; i < 3; i++) await hit(`/members/${ALICE.handle}/stats`);
    await hit(`/members/${ALICE.handle}/stats/history`);
    await hit('/members/nobody/stats'); // 404: no legacy stats read
    await hit('/members/health');
    await use('unified');
    await hit(`/members/${ALICE.handle}/stats`);
    await counted.close(); // flushes the buffered counts
    const after = await legacyReadCount(fx.dbs.members);
    expect(after.total - before.total).toBe(4);
    const perRoute = (c: typeof after, route: string) => c.routes.filter((r) => r.route === route).reduce((s, r) => s + r.count, 0);
    expect(perRoute(after, '/members/:handle/stats') - perRoute(before, '/members/:handle/stats')).toBe(3);
    expect(perRoute(after, '/members/:handle/stats/history') - perRoute(before, '/members/:handle/stats/history')).toBe(1);
    expect(after.lastReadAt).not.toBeNull();
    expect(after.routes[0]?.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
