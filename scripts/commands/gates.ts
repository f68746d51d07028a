import type { Command } from 'commander';
import { z } from 'zod';
import { GATE_DESCRIPTIONS, SinceTime, type GateId, type StoredEvidence } from '../../domain/gates';
import { currentGates, evidenceById, listEvidence, type EvidenceListItem, type GatesReport } from '../../store/gates';
import { UsageError, withStack } from '../cli-support';

/**
 * `gates [--since ISO] [--json]`: every go/no-go gate of the runbook from stored evidence, as a table (gate,
 * holds/NOT, evidence ids, reason — what to run when it does not hold); exit 0 when every gate holds, 1 otherwise.
 * `evidence [id] [--kind K] [--limit N] [--json]`: recent evidence, newest first, or one piece in full.
 * Bad flags → exit 2 (UsageError) before anything is read.
 */

const issues = (e: z.ZodError) => e.issues.map((i) => i.message).join('\n');

const GatesFlags = z.object({
  since: SinceTime.refine((v) => Date.parse(v) <= Date.now(), {
    error: '--since is in the future: no evidence could count; give the cutover’s start (or leave it out)',
  }).optional(),
  json: z.boolean().default(false),
});
export type GatesFlags = z.infer<typeof GatesFlags>;

export function parseGatesFlags(raw: Record<string, unknown>): GatesFlags {
  const parsed = GatesFlags.safeParse(raw);
  if (!parsed.success) throw new UsageError(issues(parsed.error));
  return parsed.data;
}

export const EVIDENCE_LIMIT = { default: 20, max: 1000 } as const;

const wholeFlag = (flag: string, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, { error: `${flag} must be a whole number` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(1, { error: `${flag} must be at least 1` })
        .max(max, { error: `${flag} must be at most ${max}` }),
    );

const EvidenceFlags = z
  .object({
    id: wholeFlag('the evidence id', Number.MAX_SAFE_INTEGER).optional(),
    kind: z
      .string()
      .trim()
      .regex(/^[a-z][a-z0-9-]{0,63}$/, {
        error: '--kind must be an evidence kind such as parity, rerate or refresh (lower-case letters, digits, -)',
      })
      .optional(),
    limit: wholeFlag('--limit', EVIDENCE_LIMIT.max).optional(),
    json: z.boolean().default(false),
  })
  .superRefine((f, ctx) => {
    if (f.id !== undefined && (f.kind !== undefined || f.limit !== undefined))
      ctx.addIssue({
        code: 'custom',
        message: 'an id shows one piece of evidence in full: --kind and --limit apply to the list (leave out the id)',
      });
  });
export type EvidenceFlags = z.infer<typeof EvidenceFlags>;

export function parseEvidenceFlags(id: string | undefined, raw: Record<string, unknown>): EvidenceFlags {
  const parsed = EvidenceFlags.safeParse({ ...raw, id });
  if (!parsed.success) throw new UsageError(issues(parsed.error));
  return parsed.data;
}

const evidenceIds = (ids: readonly number[]) => (ids.length ? ids.map((i) => `#${i}`).join(',') : '-');

export function formatGates(r: GatesReport): string {
  const failing = r.failing.length;
  const head = r.go ? 'Go/No-Go: GO — every gate holds' : `Go/No-Go: NO-GO — ${failing} gate(s) do not hold: ${r.failing.join(', ')}`;
  const scope = `evidence ${r.since ? `since ${r.since}` : 'of any age'} (parity: runs on the current data, watermark ${r.currentWatermark.slice(0, 12)})`;
  const gw = Math.max(4, ...r.gates.map((g) => g.gate.length));
  const ew = Math.max(8, ...r.gates.map((g) => evidenceIds(g.evidenceIds).length));
  const lines = [head, `  ${scope}`, '', `  ${'gate'.padEnd(gw)}  holds  ${'evidence'.padEnd(ew)}  reason`];
  for (const g of r.gates) {
    lines.push(`  ${g.gate.padEnd(gw)}  ${(g.holds ? 'holds' : 'NOT').padEnd(5)}  ${evidenceIds(g.evidenceIds).padEnd(ew)}  ${g.reason}`);
  }
  const missing = r.failing.filter((f) => !r.gates.some((g) => g.gate === f));
  for (const m of missing)
    lines.push(`  ${m.padEnd(gw)}  NOT    ${'-'.padEnd(ew)}  not evaluated (${GATE_DESCRIPTIONS[m as GateId] ?? m})`);
  return lines.join('\n');
}

export function formatEvidenceList(items: readonly EvidenceListItem[], kind?: string): string {
  if (items.length === 0) return kind ? `no evidence of kind ${kind}` : 'no evidence yet';
  const kw = Math.max(4, ...items.map((e) => e.kind.length));
  const iw = Math.max(3, ...items.map((e) => String(e.id).length + 1));
  const lines = [`${'id'.padStart(iw)}  ${'kind'.padEnd(kw)}  passed  created                   workflow (run)`];
  for (const e of items) {
    lines.push(
      `${`#${e.id}`.padStart(iw)}  ${e.kind.padEnd(kw)}  ${(e.passed ? 'yes' : 'NO').padEnd(6)}  ${e.createdAt.padEnd(24)}  ${e.workflowId} (${e.runId})` +
        (e.error ? `\n${' '.repeat(iw + kw + 12)}stopped: ${e.error}` : ''),
    );
  }
  return lines.join('\n');
}

export function formatEvidence(e: StoredEvidence & { result: unknown }): string {
  return [
    `evidence #${e.id} — ${e.kind}, ${e.passed ? 'passed' : 'NOT passed'}, ${e.createdAt}`,
    `  workflow ${e.workflowId} (run ${e.runId})`,
    ...(e.dataWatermark ? [`  data watermark ${e.dataWatermark}`] : []),
    'input:',
    JSON.stringify(e.input, null, 2),
    'result:',
    JSON.stringify(e.result, null, 2),
  ].join('\n');
}

export function registerGates(program: Command): void {
  program
    .command('gates')
    .description('the go/no-go gates of the runbook from stored evidence: exit 0 when every gate holds, 1 otherwise')
    .option(
      '--since <iso>',
      'count only evidence created at or after this time (e.g. the cutover’s start); parity counts runs on the current data',
    )
    .option('--json', 'print the gates as JSON on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const flags = parseGatesFlags(raw);
      const r = await withStack({ temporal: false }, (stack) => currentGates(stack.dbs.members, { since: flags.since }));
      process.stdout.write(flags.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatGates(r)}\n`);
      process.exitCode = r.go ? 0 : 1;
    });
}

export function registerEvidence(program: Command): void {
  program
    .command('evidence')
    .description('recent stored evidence, newest first, or one piece in full (input and result)')
    .argument('[id]', 'the evidence id to show in full')
    .option('--kind <kind>', 'only this kind (parity, rerate, rerate-member, refresh, switch, reports, …)')
    .option('--limit <n>', `how many (default ${EVIDENCE_LIMIT.default}, at most ${EVIDENCE_LIMIT.max})`)
    .option('--json', 'print JSON on stdout')
    .action(async (id: string | undefined, raw: Record<string, unknown>) => {
      const flags = parseEvidenceFlags(id, raw);
      await withStack({ temporal: false }, async (stack) => {
        const db = stack.dbs.members;
        if (flags.id !== undefined) {
          const e = await evidenceById(db, flags.id);
          if (!e) throw new UsageError(`no evidence #${flags.id}: \`npm run cutover -- evidence\` lists the recent ones`);
          process.stdout.write(flags.json ? `${JSON.stringify(e, null, 2)}\n` : `${formatEvidence(e)}\n`);
          return;
        }
        const items = await listEvidence(db, { kind: flags.kind, limit: flags.limit ?? EVIDENCE_LIMIT.default });
        process.stdout.write(flags.json ? `${JSON.stringify(items, null, 2)}\n` : `${formatEvidenceList(items, flags.kind)}\n`);
      });
    });
}
