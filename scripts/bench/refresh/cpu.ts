import { readdirSync, readFileSync } from 'node:fs';
import { sql, type Kysely } from 'kysely';

/**
 * CPU spent on a step, by who spent it: this process (API, worker, the direct path, the endings), the Temporal dev
 * server, and the Postgres backends serving the bench database. On a shared machine wall-clock figures move with
 * everyone else's load; CPU seconds per challenge do much less, and say what a dedicated machine could sustain.
 * Linux only (/proc); elsewhere the server and database figures are 0.
 */

export interface CpuSplit {
  self: number;
  temporal: number;
  postgres: number;
}

const TICK = 100; // USER_HZ on Linux

function procSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK; // utime, stime
  } catch {
    return 0;
  }
}

/** The process whose command line contains `marker` (the Temporal dev server: its database file's folder). */
export function findPid(marker: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker)) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

async function backends(db: Kysely<any>): Promise<number[]> {
  const r = await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`.execute(db);
  return r.rows.map((x) => x.pid);
}

/** Starts counting; the returned function gives the CPU seconds spent since. */
export async function cpuMeter(db: Kysely<any>, temporalPid: number | undefined): Promise<() => Promise<CpuSplit>> {
  const self0 = process.cpuUsage();
  const temporal0 = temporalPid ? procSeconds(temporalPid) : 0;
  const pg0 = new Map((await backends(db)).map((pid) => [pid, procSeconds(pid)]));
  return async () => {
    const self = process.cpuUsage(self0);
    // backends that ended during the step are not counted (the pools keep theirs open while busy)
    let postgres = 0;
    for (const pid of await backends(db)) postgres += procSeconds(pid) - (pg0.get(pid) ?? 0);
    return {
      self: (self.user + self.system) / 1e6,
      temporal: temporalPid ? procSeconds(temporalPid) - temporal0 : 0,
      postgres,
    };
  };
}
