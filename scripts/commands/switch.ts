import type { Command } from 'commander';
import { z } from 'zod';
import { GateClosedError, switchWithGate, type GuardedSwitch } from '../../store/switch';
import { READ_SOURCES, type SwitchResult } from '../../domain/read-source';
import { BUILTIN_CATALOG, catalogNames, type CatalogNames } from '../../domain/catalog';
import type { Stack } from '../../lib/stack';
import { loadCatalogNames } from '../../store/catalog';
import { UsageError, withStack } from '../cli-support';

/**
 * `switch --to unified|legacy --reason "…" [--actor name] [--force] [--json]`: flips the read source the API
 * serves from, with an audit row (who, when, why). To unified only when the parity gate holds (or --force,
 * recorded in the audit), then unified reads are verified for known members and a failure rolls back at once.
 * To legacy (rollback) always, at once. Running APIs follow within a second. Bad flags → exit 2.
 */

const SwitchFlags = z.object({
  to: z.enum(READ_SOURCES, { error: '--to must be "unified" or "legacy"' }),
  reason: z
    .string({ error: '--reason is required: say why (it goes into the audit trail)' })
    .trim()
    .min(1, '--reason must not be empty')
    .max(2000, '--reason is longer than 2000 characters'),
  actor: z.string().trim().min(1, '--actor must not be empty').max(200, '--actor is longer than 200 characters'),
  json: z.boolean().default(false),
  force: z.boolean().default(false),
});
export type SwitchFlags = z.infer<typeof SwitchFlags>;

/** Validates the flags; the actor defaults to $USER, else "operator". Throws UsageError (exit 2). */
export function parseSwitchFlags(raw: Record<string, unknown>, env: Record<string, string | undefined> = process.env): SwitchFlags {
  const parsed = SwitchFlags.safeParse({ ...raw, actor: raw.actor ?? (env.USER?.trim() || 'operator') });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  return parsed.data;
}

export function formatSwitch(r: SwitchResult): string {
  const what = r.changed
    ? `read source switched: ${r.from} → ${r.to}`
    : `read source already ${r.to}: nothing changed (audited as a no-op)`;
  return `${what}\n  by ${r.actor} at ${r.at} (audit #${r.auditId}): ${r.reason}`;
}

function formatGuarded(g: GuardedSwitch): string {
  const out = [formatSwitch(g.switched)];
  if (g.gate) out.push(`  parity gate: ${g.gate.passed ? 'holds' : 'does NOT hold'} (${g.gate.reason})`);
  if (g.verification) {
    out.push(
      `  unified reads ${g.verification.ok ? 'verified' : 'FAILED verification'} for members ${g.verification.userIds.join(', ') || '(none)'}`,
    );
    for (const p of g.verification.problems) out.push(`    - ${p}`);
  }
  if (g.rolledBack) out.push(formatSwitch(g.rolledBack));
  return out.join('\n');
}

/**
 * The catalogue's names verify unified reads. A rollback needs none of it: it must work with the challenges
 * database down, so it never waits on the catalogue.
 */
async function namesFor(stack: Stack, to: string): Promise<CatalogNames> {
  if (to === 'legacy') return catalogNames(BUILTIN_CATALOG);
  return loadCatalogNames(stack.dbs.challenges);
}

export function registerSwitch(program: Command): void {
  program
    .command('switch')
    .description('set the read source of the member stats API (unified | legacy), with an audited reason')
    .option('--to <source>', 'unified or legacy')
    .option('--reason <text>', 'why (required; stored in the audit trail)')
    .option('--actor <name>', 'who (default: $USER, else "operator")')
    .option('--force', 'switch to unified even though the parity gate does not hold (recorded in the audit)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (opts: Record<string, unknown>) => {
      const flags = parseSwitchFlags(opts);
      try {
        const r = await withStack({ temporal: false }, async (stack) =>
          switchWithGate(stack.dbs.members, await namesFor(stack, flags.to), flags),
        );
        process.stdout.write(flags.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatGuarded(r)}\n`);
        if (r.rolledBack) process.exitCode = 1;
      } catch (e) {
        if (!(e instanceof GateClosedError)) throw e;
        process.stderr.write(`[cutover] refused: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}
