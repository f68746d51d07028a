import { appendFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { Scope } from '../../domain/backfill';
import { HISTORY_COLUMNS, STATS_COLUMNS } from './staging';

// --- CSV dry run: one part file per batch (a retry overwrites its own), assembled in range order at the end ---

const partName = (scope: Scope) =>
  'range' in scope ? `${String(scope.range[0]).padStart(16, '0')}` : `u${String(scope.userIds[0] ?? 0).padStart(15, '0')}`;

export async function writeCsvPart(
  dir: string,
  runKey: string,
  scope: Scope,
  table: string,
  rows: Record<string, unknown>[],
): Promise<void> {
  const parts = join(resolve(dir), `.parts-${runKey}`, table);
  await mkdir(parts, { recursive: true });
  const body = stringify(rows, { cast: { date: (d) => d.toISOString(), boolean: (v) => String(v) } });
  await writeFile(join(parts, `${partName(scope)}.csv`), body);
}

export async function assembleCsv(dir: string, runKey: string): Promise<string[]> {
  const root = join(resolve(dir), `.parts-${runKey}`);
  const out: string[] = [];
  for (const [table, header] of [
    ['memberStats', STATS_COLUMNS],
    ['memberStatsHistory', HISTORY_COLUMNS],
  ] as const) {
    const file = join(resolve(dir), `${table}.csv`);
    await writeFile(file, `${header.join(',')}\n`);
    const parts = (await readdir(join(root, table)).catch(() => [] as string[])).sort();
    for (const p of parts) await appendFile(file, await readFile(join(root, table, p)));
    out.push(file);
  }
  await rm(root, { recursive: true, force: true });
  return out;
}
