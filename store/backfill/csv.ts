import { appendFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { csvTargets, type Scope } from '../../domain/backfill';
import { HISTORY_COLUMNS, STATS_COLUMNS } from './staging';

// --- CSV dry run: one part file per batch (a retry overwrites its own), assembled in range order at the end ---

const partName = (scope: Scope) =>
  'range' in scope ? `${String(scope.range[0]).padStart(16, '0')}` : `u${String(scope.userIds[0] ?? 0).padStart(15, '0')}`;

/** `csvPath`: a directory or a file.csv (domain/backfill.ts csvTargets); part files live in its directory. */
export async function writeCsvPart(
  csvPath: string,
  runKey: string,
  scope: Scope,
  table: string,
  rows: Record<string, unknown>[],
): Promise<void> {
  const parts = join(resolve(csvTargets(csvPath).dir), `.parts-${runKey}`, table);
  await mkdir(parts, { recursive: true });
  const body = stringify(rows, { cast: { date: (d) => d.toISOString(), boolean: (v) => String(v) } });
  await writeFile(join(parts, `${partName(scope)}.csv`), body);
}

export async function assembleCsv(csvPath: string, runKey: string): Promise<string[]> {
  const target = csvTargets(csvPath);
  const root = join(resolve(target.dir), `.parts-${runKey}`);
  const out: string[] = [];
  for (const [table, header, file] of [
    ['memberStats', STATS_COLUMNS, resolve(target.stats)],
    ['memberStatsHistory', HISTORY_COLUMNS, resolve(target.history)],
  ] as const) {
    await writeFile(file, `${header.join(',')}\n`);
    const parts = (await readdir(join(root, table)).catch(() => [] as string[])).sort();
    for (const p of parts) await appendFile(file, await readFile(join(root, table, p)));
    out.push(file);
  }
  await rm(root, { recursive: true, force: true });
  return out;
}

/** The runbook's processed-user-ids file: one id a line. */
export async function writeIdsFile(path: string, ids: number[]): Promise<void> {
  await mkdir(dirname(resolve(path)), { recursive: true });
  await writeFile(resolve(path), ids.length ? `${ids.join('\n')}\n` : '');
}
