import { ApplicationFailure } from '@temporalio/activity';
import { catalogNames, type CatalogNames } from '../domain/catalog';
import { Failure } from '../domain/failures';
import { InvalidSwitchError, type ReadSource, type SwitchResult } from '../domain/read-source';
import {
  describeShape,
  STORE_READ_PATH_NOTE,
  SWITCH_MEMBERS,
  verifyMemberReads,
  type MemberCapture,
  type ReadResponse,
  type ReadsVerification,
  type SwitchCapture,
  type SwitchGate,
} from '../domain/switch';
import { currentParityGate } from '../store/parity/gate';
import { getReadSource, switchReadSourceOnce } from '../store/read-source';
import { knownRatedMembers, memberReads, mostRecentProblems } from '../store/switch';
import type { ActivityDeps } from './deps';
import { catalogCache } from './catalog-cache';
import { heartbeating } from './heartbeat';

/** How long the API may take to follow a switch (it polls the read source every 250 ms). */
export const API_FOLLOW_MS = 5000;
const POLL_MS = 100;

const message = (e: unknown) => (e instanceof Error ? `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` : String(e));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A GET of the member stats API: its status and JSON body; a request that got no answer is status 0. */
async function getJson(url: string): Promise<ReadResponse> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000), headers: { accept: 'application/json' } });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) as unknown };
    } catch {
      return { status: res.status, body: { error: 'not JSON', message: `the body is not JSON: ${text.slice(0, 200)}` } };
    }
  } catch (e) {
    return { status: 0, body: { error: 'unreachable', message: `GET ${url} failed: ${message(e)}` } };
  }
}

const sourceOf = (r: ReadResponse): unknown =>
  r.body !== null && typeof r.body === 'object' ? (r.body as { readSource?: unknown }).readSource : undefined;
const lengthOf = (body: unknown, key: string): number => {
  const v = body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
  return Array.isArray(v) ? v.length : 0;
};

/**
 * Phase C's steps as idempotent activities: the gate and the reads only read; the flip is checkpointed per workflow
 * step (a retry returns what the first attempt did). Reads go through the member stats API at API_URL over HTTP —
 * what readers get — or, without API_URL, through the store functions the API's routes call.
 */
export function switchActivities({ dbs, config }: ActivityDeps) {
  const getCatalog = catalogCache(dbs);
  const names = async (): Promise<CatalogNames> => catalogNames(await getCatalog());
  const db = dbs.members;

  /** A member's stats and history, from the API or the store read path. */
  async function read(n: CatalogNames, handle: string, source?: ReadSource): Promise<{ stats: ReadResponse; history: ReadResponse }> {
    if (config.apiUrl && source === undefined) {
      const base = new URL(`/members/${encodeURIComponent(handle)}/stats`, config.apiUrl).toString();
      const [stats, history] = await Promise.all([getJson(base), getJson(`${base}/history`)]);
      return { stats, history };
    }
    const r = await memberReads(db, n, handle, source ?? (await getReadSource(db)));
    const missing = { status: 404, body: { error: 'Not Found', message: `no member with handle "${handle}"` } };
    return r ? { stats: { status: 200, body: r.stats }, history: { status: 200, body: r.history } } : { stats: missing, history: missing };
  }

  /** Waits (at most API_FOLLOW_MS) until the API answers from `source`; how long it took, or undefined. */
  async function apiFollows(handle: string, source: ReadSource): Promise<number | undefined> {
    const url = new URL(`/members/${encodeURIComponent(handle)}/stats`, config.apiUrl).toString();
    const started = Date.now();
    for (;;) {
      const r = await getJson(url);
      if (r.status === 200 && sourceOf(r) === source) return Date.now() - started;
      if (Date.now() - started >= API_FOLLOW_MS) return undefined;
      await sleep(POLL_MS);
    }
  }

  const apiDetail = () => `GET ${new URL('/members/', config.apiUrl).toString()}…`;

  return {
    /** (1) The parity gate over the stored parity evidence and the current data. */
    async switchGate(): Promise<SwitchGate & { watermark: string }> {
      return heartbeating(async () => {
        const g = await currentParityGate(db);
        return { passed: g.passed, reason: g.reason, evidenceIds: g.evidenceIds, watermark: g.currentWatermark };
      });
    },

    /**
     * (2) The known members' legacy reads, kept as shapes and counts. Through the API once it answers from legacy;
     * when reads are unified already (a switch run again), legacy is read through the store read path instead.
     */
    async switchCapture(input: { members: number }): Promise<SwitchCapture> {
      return heartbeating(async () => {
        const n = await names();
        const known = await knownRatedMembers(db, input.members);
        const problems: string[] = [];
        if (known.length < SWITCH_MEMBERS.min)
          problems.push(
            `only ${known.length} rated member(s) have unified stats (${SWITCH_MEMBERS.min} at least are verified): backfill first`,
          );
        const stored = await getReadSource(db);
        let via: SwitchCapture['via'] = config.apiUrl ? 'api' : 'store';
        let detail = config.apiUrl ? apiDetail() : STORE_READ_PATH_NOTE;
        if (stored === 'unified') {
          via = 'store';
          detail = 'reads were unified already: legacy read through the store read path';
        } else if (config.apiUrl && known[0] && (await apiFollows(known[0].handle, 'legacy')) === undefined) {
          problems.push(`the API (${config.apiUrl}) did not answer from legacy reads within ${API_FOLLOW_MS / 1000} s`);
        }
        const members: MemberCapture[] = [];
        for (const m of known) {
          const r = await read(n, m.handle, via === 'store' ? 'legacy' : undefined);
          const bad = (['stats', 'history'] as const).filter((k) => r[k].status !== 200 || sourceOf(r[k]) !== 'legacy');
          for (const k of bad) {
            const body = r[k].body as { message?: unknown } | null;
            problems.push(
              `member ${m.userId} (${m.handle}): legacy ${k} answered ${r[k].status} from ${String(sourceOf(r[k]))} reads` +
                (typeof body?.message === 'string' ? `: ${body.message}` : ''),
            );
          }
          members.push({
            userId: m.userId,
            handle: m.handle,
            stats: { shape: describeShape(r.stats.body), tracks: lengthOf(r.stats.body, 'tracks') },
            history: { shape: describeShape(r.history.body), entries: lengthOf(r.history.body, 'history') },
          });
        }
        return { via, detail, members, problems };
      });
    },

    /** (3) and (5): the read source set, audited; once per `key` (a retry returns the first attempt's result). */
    async switchFlip(input: { key: string; to: ReadSource; actor: string; reason: string; note?: string }): Promise<SwitchResult> {
      try {
        return await switchReadSourceOnce(db, input.key, input, input.note ? { note: input.note } : {});
      } catch (e) {
        if (e instanceof InvalidSwitchError) throw ApplicationFailure.nonRetryable(e.message, Failure.InvalidInput);
        throw e;
      }
    },

    /**
     * (4) The known members' unified reads against their legacy capture, once the API answers from unified (at most
     * API_FOLLOW_MS): shape, order, counts and the mostRecent rule (domain/switch.ts verifyMemberReads).
     */
    async switchVerify(input: { capture: SwitchCapture }): Promise<ReadsVerification> {
      return heartbeating(async () => {
        const n = await names();
        const members = input.capture.members;
        const problems: string[] = [];
        let waitedMs = 0;
        if (config.apiUrl && members[0]) {
          const waited = await apiFollows(members[0].handle, 'unified');
          if (waited === undefined)
            problems.push(`the API (${config.apiUrl}) still did not answer from unified reads ${API_FOLLOW_MS / 1000} s after the switch`);
          waitedMs = waited ?? API_FOLLOW_MS;
        }
        const mostRecent = await mostRecentProblems(
          db,
          n,
          members.map((m) => m.userId),
        );
        const verified = [];
        for (const m of members) verified.push(verifyMemberReads(m, await read(n, m.handle), mostRecent));
        if (members.length === 0) problems.push('no member to verify');
        problems.push(...verified.flatMap((v) => v.problems));
        return {
          ok: problems.length === 0,
          via: config.apiUrl ? 'api' : 'store',
          detail: config.apiUrl ? apiDetail() : STORE_READ_PATH_NOTE,
          waitedMs,
          members: verified,
          problems,
        };
      });
    },
  };
}
