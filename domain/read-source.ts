import { z } from 'zod';

/** Which tables answer member stats reads: the flag phase C flips and phase G flips back. */
export const READ_SOURCES = ['legacy', 'unified'] as const;
export type ReadSource = (typeof READ_SOURCES)[number];

export const SwitchInput = z.object({
  to: z.enum(READ_SOURCES, { error: 'to must be "legacy" or "unified"' }),
  actor: z.string().trim().min(1, 'actor must not be empty').max(200, 'actor is longer than 200 characters'),
  reason: z
    .string()
    .trim()
    .min(1, 'a reason is required (it goes into the audit trail)')
    .max(2000, 'reason is longer than 2000 characters'),
});
export type SwitchInput = z.input<typeof SwitchInput>;

/** Bad switch input (not a database problem): callers map it to exit 2 / HTTP 400. */
export class InvalidSwitchError extends Error {
  override name = 'InvalidSwitchError';
}

export interface SwitchResult {
  from: ReadSource;
  to: ReadSource;
  /** false when the read source already was `to`: nothing changed, but the request is still audited */
  changed: boolean;
  actor: string;
  reason: string;
  at: string;
  auditId: number;
}

export interface ReadSourceAuditEntry {
  id: number;
  from: ReadSource | null;
  to: ReadSource;
  actor: string;
  reason: string;
  at: string;
}

/**
 * STATS_READ_SOURCE only initialises the read source on first start; afterwards the stored value (set by switch
 * and rollback, audited) wins. When the variable says otherwise, that is said loudly — an operator who set it to
 * roll back must learn that it did nothing, and what does.
 */
export function readSourceEnvWarning(env: ReadSource | undefined, stored: ReadSource): string | undefined {
  if (env === undefined || env === stored) return undefined;
  return (
    `STATS_READ_SOURCE=${env} is set, but the stored read source is "${stored}" and it wins (the variable only ` +
    `initialises a new database). To serve ${env} reads now: npm run cutover -- switch --to ${env} --reason "…"` +
    (env === 'legacy' ? ' (a rollback: never gated, immediate, audited)' : ' (gated by parity)')
  );
}
