import type { ChildProcess } from 'node:child_process';

/**
 * Every process group the suite started (workers, its Temporal server). They are detached so one SIGKILL takes a
 * whole group, which also means they outlive a driver that dies: the driver ends them on its way out.
 */
const groups = new Set<ChildProcess>();

export function track(child: ChildProcess): void {
  groups.add(child);
  child.once('exit', () => groups.delete(child));
}

/** Synchronous, so it also works from an 'exit' handler. */
export function killAllGroups(): void {
  for (const child of groups) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  groups.clear();
}

/** Ctrl-C, SIGTERM or an uncaught crash of the driver takes the suite's processes with it. */
export function killGroupsOnExit(): void {
  process.once('exit', killAllGroups);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      killAllGroups();
      process.exit(code);
    });
  }
}
