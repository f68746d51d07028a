import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerRate, runRate } from '../scripts/commands/rate';

const vector = {
  participants: [
    { id: 'a', rating: 1800, volatility: 300, timesRated: 5, score: 90 },
    { id: 'b', rating: 2200, volatility: 250, timesRated: 8, score: 80 },
    { id: 'c', rating: null, volatility: null, timesRated: 0, score: 100 },
    { id: 'd', rating: 1500, volatility: 400, timesRated: 3, score: 70 },
  ],
};

describe('runRate', () => {
  it('bounds its input: at most 5,000 participants and 2 MB, refused with a reason before any rating work', () => {
    const p = (i: number) => ({ id: i, rating: 1500, volatility: 300, timesRated: 3, score: i });
    const many = runRate(JSON.stringify({ participants: Array.from({ length: 5001 }, (_, i) => p(i)) }));
    expect(many).toMatchObject({ exitCode: 2, stdout: '' });
    expect(many.stderr).toMatch(/participants: at most 5000 participants/);
    const huge = runRate(JSON.stringify({ participants: [p(1)], pad: 'x'.repeat(3 * 1024 * 1024) }));
    expect(huge).toMatchObject({ exitCode: 2, stdout: '' });
    expect(huge.stderr).toMatch(/bytes is more than 2097152/);
    expect(runRate(JSON.stringify({ participants: Array.from({ length: 5000 }, (_, i) => p(i)) })).exitCode).toBe(0);
  });

  it('rates the public vector; results in input order, ids echoed', () => {
    const out = runRate(JSON.stringify(vector));
    expect(out.exitCode).toBe(0);
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({
      results: [
        { id: 'a', rating: 1927, volatility: 341, timesRated: 6 },
        { id: 'b', rating: 2130, volatility: 261, timesRated: 9 },
        { id: 'c', rating: 1821, volatility: 385, timesRated: 1 },
        { id: 'd', rating: 1447, volatility: 348, timesRated: 4 },
      ],
    });
  });

  it('unknown fields are ignored; numeric ids are echoed as numbers, distinct from their string form; an empty event rates nobody', () => {
    const out = runRate(
      JSON.stringify({ participants: [{ id: 'x', rating: null, volatility: null, timesRated: 0, score: 1, handle: 'h' }], note: 'n' }),
    );
    expect(JSON.parse(out.stdout)).toEqual({ results: [{ id: 'x', rating: 1200, volatility: 385, timesRated: 1 }] });
    const mixed = runRate(
      JSON.stringify({
        participants: [
          { ...vector.participants[0], id: 1 },
          { ...vector.participants[1], id: '1' },
        ],
      }),
    );
    expect(mixed.stdout).toContain('"id":1,');
    expect(JSON.parse(mixed.stdout).results.map((r: { id: unknown }) => r.id)).toEqual([1, '1']);
    expect(JSON.parse(runRate('{"participants":[]}').stdout)).toEqual({ results: [] });
  });

  it.each([
    ['not json', 'input: invalid JSON'],
    ['[]', 'input: expected an object'],
    ['{}', 'participants: expected an array'],
    [
      '{"participants":[{"id":1e20,"rating":1,"volatility":1,"timesRated":1,"score":1}]}',
      'participants[0].id: expected a non-empty string or a safe integer',
    ],
    [
      '{"participants":[{"id":"","rating":null,"volatility":null,"timesRated":1,"score":1}]}',
      'participants[0].id: expected a non-empty string or a safe integer',
    ],
    ['{"participants":[{"id":"a","volatility":null,"timesRated":1,"score":1}]}', 'participants[0].rating: expected a number'],
    ['{"participants":[{"id":"a","rating":"1","volatility":null,"timesRated":1,"score":1}]}', 'participants[0].rating: expected a number'],
    ['{"participants":[{"id":"a","rating":-3,"volatility":null,"timesRated":1,"score":1}]}', 'participants[0].rating: expected a number'],
    [
      '{"participants":[{"id":"a","rating":null,"volatility":1e999,"timesRated":1,"score":1}]}',
      'participants[0].volatility: expected a number',
    ],
    [
      '{"participants":[{"id":"a","rating":null,"volatility":null,"timesRated":1.5,"score":1}]}',
      'participants[0].timesRated: expected a non-negative integer',
    ],
    [
      '{"participants":[{"id":"a","rating":null,"volatility":null,"timesRated":-1,"score":1}]}',
      'participants[0].timesRated: expected a non-negative integer',
    ],
    ['{"participants":[{"id":"a","rating":null,"volatility":null,"timesRated":1}]}', 'participants[0].score: expected a finite number'],
    [
      '{"participants":[{"id":"a","rating":null,"volatility":null,"timesRated":1,"score":1},{"id":"b","rating":null,"volatility":null,"timesRated":1,"score":1},{"id":"c","rating":null,"volatility":null,"timesRated":1,"score":1e999}]}',
      'participants[2].score: expected a finite number',
    ],
    [
      '{"participants":[{"id":"a","rating":null,"volatility":null,"timesRated":1,"score":1},{"id":"a","rating":null,"volatility":null,"timesRated":1,"score":2}]}',
      'participants[1].id: duplicate id "a" (first at participants[0])',
    ],
  ])('%s → exit 2, %s', (input, message) => {
    const out = runRate(input);
    expect(out.exitCode).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain(message);
  });
});

describe('the rate command', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  async function run(args: string[]) {
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const program = new Command('cutover').exitOverride();
    registerRate(program);
    await program.parseAsync(['node', 'cutover', ...args]);
    return {
      stdout: stdout.mock.calls.map((c) => String(c[0])).join(''),
      stderr: stderr.mock.calls.map((c) => String(c[0])).join(''),
      code: process.exitCode,
    };
  }

  it('reads --input <file> and prints the results', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rate-')), 'in.json');
    writeFileSync(file, JSON.stringify(vector));
    const out = await run(['rate', '--input', file]);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).results).toHaveLength(4);
  });

  it('an unreadable file is an input error: exit 2, nothing on stdout', async () => {
    const out = await run(['rate', '--input', '/nonexistent/in.json']);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('input: cannot read');
  });
});
