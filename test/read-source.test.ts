import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../scripts/cli-support';
import { parseSwitchFlags } from '../scripts/commands/switch';
import { openDatabases, type Databases } from '../store/db';
import { InvalidSwitchError } from '../domain/read-source';
import { getReadSource, initReadSource, readSourceHistory, switchReadSource, watchReadSource } from '../store/read-source';
import { migrateToLatest } from '../migrations';
import { closeAndDrop } from './api-fixtures';
import { createTestDatabase, testConfig } from './support/db';

describe('read source: switch, audit trail, cached reader', () => {
  let tdb: Awaited<ReturnType<typeof createTestDatabase>>;
  let dbs: Databases;
  beforeAll(async () => {
    tdb = await createTestDatabase('read_source');
    dbs = openDatabases(testConfig(tdb.url));
    await migrateToLatest(dbs.members);
    await initReadSource(dbs.members, 'legacy');
  });
  afterAll(async () => {
    if (dbs && tdb) await closeAndDrop(dbs, tdb);
  });

  it('switches and rolls back, each step audited with who and why; a later init keeps the stored source', async () => {
    const up = await switchReadSource(dbs.members, { to: 'unified', actor: 'alice', reason: 'parity clean twice' });
    expect(up).toMatchObject({ from: 'legacy', to: 'unified', changed: true, actor: 'alice', reason: 'parity clean twice' });
    expect(await getReadSource(dbs.members)).toBe('unified');
    expect(await initReadSource(dbs.members, 'legacy')).toBe('unified');
    const back = await switchReadSource(dbs.members, { to: 'legacy', actor: 'bob', reason: '  rollback: p99 regression  ' });
    expect(back).toMatchObject({ from: 'unified', to: 'legacy', changed: true, reason: 'rollback: p99 regression' });
    const [latest, previous, first] = await readSourceHistory(dbs.members, 3);
    expect(latest).toMatchObject({ id: back.auditId, from: 'unified', to: 'legacy', actor: 'bob', reason: 'rollback: p99 regression' });
    expect(previous).toMatchObject({ id: up.auditId, from: 'legacy', to: 'unified', actor: 'alice' });
    expect(first).toMatchObject({ from: null, to: 'legacy', actor: 'startup' });
    expect(Date.parse(latest!.at)).toBeGreaterThanOrEqual(Date.parse(previous!.at));
    expect(await readSourceHistory(dbs.members, 1)).toHaveLength(1);
  });

  it('switching to the current source is allowed and audited as a no-op, leaving the row untouched', async () => {
    const row = async () =>
      (await sql<{ updatedBy: string; updatedAt: Date }>`SELECT "updatedBy", "updatedAt" FROM platform."readSource"`.execute(dbs.members))
        .rows[0];
    const before = await row();
    const r = await switchReadSource(dbs.members, { to: 'legacy', actor: 'carol', reason: 'make sure we are on legacy' });
    expect(r).toMatchObject({ from: 'legacy', to: 'legacy', changed: false });
    expect(await row()).toEqual(before);
    expect((await readSourceHistory(dbs.members, 1))[0]).toMatchObject({ id: r.auditId, from: 'legacy', to: 'legacy', actor: 'carol' });
  });

  it('rejects a missing reason, an empty actor or an unknown source, and records nothing', async () => {
    const count = async () => (await readSourceHistory(dbs.members, 10_000)).length;
    const n = await count();
    await expect(switchReadSource(dbs.members, { to: 'unified', actor: 'x', reason: '   ' })).rejects.toThrow(InvalidSwitchError);
    await expect(switchReadSource(dbs.members, { to: 'unified', actor: 'x', reason: '   ' })).rejects.toThrow(/reason is required/);
    await expect(switchReadSource(dbs.members, { to: 'unified', actor: '', reason: 'r' })).rejects.toThrow(/actor must not be empty/);
    await expect(switchReadSource(dbs.members, { to: 'both' as 'unified', actor: 'x', reason: 'r' })).rejects.toThrow(
      /"legacy" or "unified"/,
    );
    await expect(readSourceHistory(dbs.members, 0)).rejects.toThrow();
    expect(await count()).toBe(n);
    expect(await getReadSource(dbs.members)).toBe('legacy');
  });

  it('concurrent switches serialise: every audit row starts where the previous one ended', async () => {
    const targets = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 'legacy' : 'unified') as 'legacy' | 'unified');
    await Promise.all(targets.map((to, i) => switchReadSource(dbs.members, { to, actor: `op${i}`, reason: 'race' })));
    const rows = (await readSourceHistory(dbs.members, 100)).reverse();
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.from, `audit #${rows[i]!.id}`).toBe(rows[i - 1]!.to);
    expect(await getReadSource(dbs.members)).toBe(rows.at(-1)!.to);
  });

  it('a cached reader sees a switch made elsewhere within a second, without restart', async () => {
    await switchReadSource(dbs.members, { to: 'legacy', actor: 't', reason: 'reset' });
    const reader = await watchReadSource(dbs.members);
    try {
      expect(reader.current()).toBe('legacy');
      for (const to of ['unified', 'legacy'] as const) {
        const other = openDatabases(testConfig(tdb.url), 1); // another process's connection
        await switchReadSource(other.members, { to, actor: 'elsewhere', reason: 'test' });
        await other.close();
        const t0 = Date.now();
        while (reader.current() !== to && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 20));
        expect(reader.current()).toBe(to);
        expect(Date.now() - t0).toBeLessThan(1000);
        expect(Date.now() - reader.lastRefreshedAt().getTime()).toBeLessThan(1000);
      }
    } finally {
      reader.close();
    }
  });

  it('switch CLI flags: validated, actor defaults to $USER then "operator"', () => {
    expect(parseSwitchFlags({ to: 'unified', reason: 'go' }, { USER: 'dana' })).toEqual({
      to: 'unified',
      reason: 'go',
      actor: 'dana',
      json: false,
      force: false,
    });
    expect(parseSwitchFlags({ to: 'legacy', reason: 'back', json: true }, {})).toMatchObject({ actor: 'operator', json: true });
    expect(parseSwitchFlags({ to: 'legacy', reason: 'back', actor: 'eve' }, { USER: 'dana' }).actor).toBe('eve');
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ reason: 'x' }, /--to must be "unified" or "legacy"/],
      [{ to: 'Unified', reason: 'x' }, /--to must be/],
      [{ to: 'unified' }, /--reason is required/],
      [{ to: 'unified', reason: ' ' }, /--reason must not be empty/],
      [{ to: 'unified', reason: 'x', actor: '' }, /--actor must not be empty/],
    ];
    for (const [flags, message] of bad) {
      expect(() => parseSwitchFlags(flags, {})).toThrow(UsageError);
      expect(() => parseSwitchFlags(flags, {})).toThrow(message);
    }
  });
});
