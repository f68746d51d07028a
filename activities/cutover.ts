import type { CutoverStatus, GateView } from '../domain/cutover';
import { catalogNames } from '../domain/catalog';
import { legacyUnused } from '../domain/gates';
import { mirrorCutover } from '../store/cutover';
import { currentGates, legacyReadsBetween } from '../store/gates';
import { countFindings, mostRecentViolations } from '../store/parity/categories';
import { enableChangeCapture } from '../store/parity/changes';
import { currentParityGate } from '../store/parity/gate';
import { switchReadSource } from '../store/read-source';
import { verifyUnifiedReads } from '../store/switch';
import { catalogCache } from './catalog-cache';
import type { ActivityDeps } from './deps';
import { withHeartbeats } from './heartbeat';

/** A gate as the workflow keeps it (the evaluations carry more: the workflow history needs only this). */
const view = (g: GateView): GateView => ({ gate: g.gate, holds: g.holds, reason: g.reason, evidenceIds: g.evidenceIds });

/**
 * The cutover workflow's own reads and writes: its mirror, its gates, and the rollback of reads. Each idempotent;
 * each heartbeats, so a worker killed mid-call is noticed in seconds rather than at the call's time limit.
 */
export function cutoverActivities({ dbs }: ActivityDeps) {
  const db = dbs.members;
  const getCatalog = catalogCache(dbs);
  return withHeartbeats({
    async mirrorCutover(input: { workflowId: string; status: CutoverStatus }): Promise<void> {
      await mirrorCutover(db, input.workflowId, input.status);
    },

    async cutoverParityGate(): Promise<GateView> {
      const g = await currentParityGate(db);
      return {
        gate: 'parity',
        holds: g.passed,
        reason: g.reason,
        evidenceIds: g.evidenceIds,
        ...(g.recheckSince === undefined ? {} : { recheckSince: g.recheckSince }),
      };
    },

    /** Every go/no-go gate, from evidence stored since the cutover started. */
    async cutoverGates(input: { since: string }): Promise<GateView[]> {
      return (await currentGates(db, { since: input.since })).gates.map(view);
    },

    async cutoverGate(input: { gate: string; since: string }): Promise<GateView> {
      const g = (await currentGates(db, { since: input.since })).gates.find((x) => x.gate === input.gate);
      if (!g) throw new Error(`no gate named ${input.gate}`);
      return view(g);
    },

    /** The flag may go only when nothing read the legacy tables through the API during the rollback window. */
    async cutoverLegacyUnused(window: { from: string; to: string }): Promise<GateView> {
      return view(legacyUnused(await legacyReadsBetween(db, window.from, window.to), { start: window.from, end: window.to }));
    },

    /**
     * Change capture on before the backfill: from then on every write to the compared tables marks its members, so
     * parity under live traffic can tell lag from drift (store/parity/changes.ts). Idempotent.
     */
    async cutoverEnableCapture(): Promise<string> {
      const r = await enableChangeCapture(db);
      return 'off' in r ? r.off : `change capture on (epoch ${r.epoch}, since ${r.enabledAt})`;
    },

    /** Reads to legacy at once (audited); a no-op when they already are. */
    async cutoverRollbackReads(input: { actor: string; reason: string }): Promise<{ changed: boolean; auditId: number }> {
      const r = await switchReadSource(db, { to: 'legacy', actor: input.actor.slice(0, 200), reason: input.reason.slice(0, 2000) });
      return { changed: r.changed, auditId: r.auditId };
    },

    /**
     * The rollback window's watch over what live traffic could break in unified data: known members still read
     * correctly through the unified path, and no (member, track, type) has other than one mostRecent row.
     */
    async cutoverWindowCheck(): Promise<{ ok: boolean; problems: string[] }> {
      const names = catalogNames(await getCatalog());
      const reads = await verifyUnifiedReads(db, names, 3);
      const mostRecent = await countFindings(db, mostRecentViolations(await getCatalog(), { all: true }), 3);
      const problems = [...reads.problems];
      if (mostRecent.count > 0)
        problems.push(
          `${mostRecent.count} (member, track, type) group(s) without exactly one mostRecent row, e.g. member ${mostRecent.examples[0]?.userId}`,
        );
      return { ok: problems.length === 0, problems };
    },
  });
}
