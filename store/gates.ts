import { sql, type Kysely } from 'kysely';
import {
  evaluateGates,
  GATE_KINDS,
  goNoGo,
  legacyUnused,
  PARITY_EVIDENCE_LIMIT,
  parityGateOf,
  RESULT_FIELDS,
  SinceTime,
  type GateId,
  type GateResult,
  type LegacyReadRow,
  type LegacyUnused,
  type LegacyWindow,
  type StoredEvidence,
} from '../domain/gates';
import { STREAMS } from '../domain/rerate';
import { dataWatermark } from './parity/watermark';

/**
 * The go/no-go gates over platform.evidence (the rules: domain/gates.ts), the legacy-read check for flag removal,
 * and the evidence listing behind `cutover -- evidence`. Every query is bounded: the newest rows of one kind
 * (index evidence_kind_time), never the whole table.
 */

/** Newest pieces read per kind (the newest decides for reports and the switch verification). */
export const NEWEST_PER_KIND = 20;
/** How far back, per kind, the search for a passed M2M refresh or a passed rerate of a stream looks. */
export const SCAN_PER_KIND = 1000;
/** Matches returned by those searches (the newest one decides; a few more for reasons). */
const MATCHES = 5;

export interface GatesReport {
  evaluatedAt: string;
  /** evidence created before it did not count (parity excepted: it counts runs on the current data) */
  since: string | null;
  /** the data watermark the parity gate was evaluated against */
  currentWatermark: string;
  go: boolean;
  failing: GateId[];
  gates: GateResult[];
}

interface Row {
  id: number;
  kind: string;
  workflowId: string;
  runId: string;
  passed: boolean;
  input: unknown;
  result: unknown;
  dataWatermark: string | null;
  createdAt: Date;
}

const toEvidence = (r: Row): StoredEvidence => ({
  id: r.id,
  kind: r.kind,
  workflowId: r.workflowId,
  runId: r.runId,
  passed: r.passed,
  input: r.input,
  ...(r.result === null || r.result === undefined ? {} : { result: r.result }),
  dataWatermark: r.dataWatermark,
  createdAt: r.createdAt.toISOString(),
});

/** The columns of `ev` with only the result fields the gates read (RESULT_FIELDS), never whole result documents. */
const slimColumns = sql`ev.id, ev.kind, ev."workflowId", ev."runId", ev.passed, ev.input,
  jsonb_strip_nulls(jsonb_build_object(${sql.join(RESULT_FIELDS.map((f) => sql`${f}::text, ev.result -> ${f}::text`))})) AS result,
  ev."dataWatermark", ev."createdAt"`;

/** The newest SCAN_PER_KIND rows of each of these kinds (one index range each), as a subquery `ev`. */
const newestOf = (kinds: readonly string[]) =>
  sql`(SELECT x.* FROM unnest(${kinds}::text[]) AS nk(kind) CROSS JOIN LATERAL (
        SELECT * FROM platform.evidence WHERE kind = nk.kind ORDER BY "createdAt" DESC, id DESC LIMIT ${SCAN_PER_KIND}) x) ev`;

/** The evidence the gates read besides parity: the newest of each kind, the newest M2M refreshes, the newest passed rerates per stream. */
async function gateEvidence(db: Kysely<any>): Promise<StoredEvidence[]> {
  const kinds = GATE_KINDS.filter((k) => k !== 'parity');
  const { rows } = await sql<Row>`
    SELECT e.* FROM unnest(${kinds}::text[]) AS k(kind) CROSS JOIN LATERAL (
      SELECT ${slimColumns} FROM platform.evidence ev WHERE ev.kind = k.kind
      ORDER BY ev."createdAt" DESC, ev.id DESC LIMIT ${NEWEST_PER_KIND}) e
    UNION ALL
    (SELECT ${slimColumns} FROM ${newestOf(['refresh'])}
     WHERE ev.passed AND COALESCE(ev.input -> 'caller' ->> 'via', ev.input ->> 'via') = 'api'
       AND btrim(COALESCE(ev.input -> 'caller' ->> 'clientId', ev.input ->> 'clientId', '')) <> ''
     ORDER BY ev."createdAt" DESC, ev.id DESC LIMIT ${MATCHES})
    UNION ALL
    SELECT e.* FROM unnest(${[...STREAMS]}::text[]) AS s(stream) CROSS JOIN LATERAL (
      SELECT ${slimColumns} FROM ${newestOf(['rerate', 'rerate-member'])}
      WHERE ev.passed AND COALESCE(ev.input ->> 'stream', ev.result ->> 'stream') = s.stream
      ORDER BY ev."createdAt" DESC, ev.id DESC LIMIT ${MATCHES}) e`.execute(db);
  const byId = new Map(rows.map((r) => [r.id, toEvidence(r)]));
  return [...byId.values()];
}

/** Parity runs as the parity gate reads them (inputs without the watermark detail; results not loaded). */
async function parityEvidence(db: Kysely<any>): Promise<StoredEvidence[]> {
  const { rows } = await sql<Row>`
    SELECT id, kind, "workflowId", "runId", passed, input - 'watermark' AS input, NULL::jsonb AS result, "dataWatermark", "createdAt"
    FROM platform.evidence WHERE kind = 'parity' ORDER BY "createdAt" DESC, id DESC LIMIT ${PARITY_EVIDENCE_LIMIT}`.execute(db);
  return rows.map(toEvidence);
}

/**
 * Every go/no-go gate now (`gates`, in GATES order), with the go/no-go summary. `since` (ISO time): evidence created
 * before it does not count — parity keeps its own rule (runs on the current data). `watermark`: the data watermark,
 * when the caller has just measured it.
 */
export async function currentGates(db: Kysely<any>, opts: { since?: string; watermark?: string } = {}): Promise<GatesReport> {
  const since = opts.since === undefined ? undefined : SinceTime.parse(opts.since);
  const [current, parity, others] = await Promise.all([
    opts.watermark === undefined ? dataWatermark(db).then((w) => w.value) : Promise.resolve(opts.watermark),
    parityEvidence(db),
    gateEvidence(db),
  ]);
  // the parity categories are read from the runs the parity gate counts: load those results alone
  const counted = parityGateOf(parity, current).evidenceIds;
  if (counted.length > 0) {
    const { rows } = await sql<{ id: number; result: unknown }>`
      SELECT id, result FROM platform.evidence WHERE id = ANY(${counted}::bigint[])`.execute(db);
    const results = new Map(rows.map((r) => [r.id, r.result]));
    for (const p of parity) if (results.has(p.id)) p.result = results.get(p.id);
  }
  const gates = evaluateGates([...parity, ...others], current, { since });
  return { evaluatedAt: new Date().toISOString(), since: since ?? null, currentWatermark: current, ...goNoGo(gates), gates };
}

/** The legacy-read counter's rows of the UTC days from `from` to `to` (ISO times): every row that can hold a read between them. */
export async function legacyReadsBetween(db: Kysely<any>, from: string, to: string): Promise<LegacyReadRow[]> {
  for (const t of [from, to]) if (Number.isNaN(Date.parse(t))) throw new Error(`not an ISO time: ${t}`);
  const { rows } = await sql<{ route: string; day: string; count: number; lastReadAt: Date }>`
    SELECT route, to_char(day, 'YYYY-MM-DD') AS day, count, "lastReadAt" FROM platform."legacyRead"
    WHERE day BETWEEN (${from}::timestamptz AT TIME ZONE 'UTC')::date AND (${to}::timestamptz AT TIME ZONE 'UTC')::date
    ORDER BY day, route`.execute(db);
  return rows.map((r) => ({ route: r.route, day: r.day, count: Number(r.count), lastReadAt: r.lastReadAt.toISOString() }));
}

/** The flag-removal check over the stored counter: was the legacy read path unused in the window? */
export async function legacyUnusedDuring(db: Kysely<any>, window: LegacyWindow): Promise<LegacyUnused> {
  return legacyUnused(await legacyReadsBetween(db, window.start, window.end), window);
}

export interface EvidenceListItem {
  id: number;
  kind: string;
  passed: boolean;
  workflowId: string;
  runId: string;
  createdAt: string;
  dataWatermark: string | null;
  /** why a run stopped, when it did */
  error?: string;
}

/** The newest evidence, optionally of one kind (index-backed: by id — insertion order — or by the kind's time index). */
export async function listEvidence(db: Kysely<any>, opts: { kind?: string; limit: number }): Promise<EvidenceListItem[]> {
  const { rows } = await sql<Omit<Row, 'input' | 'result'> & { error: string | null }>`
    SELECT id, kind, "workflowId", "runId", passed, "dataWatermark", "createdAt", result ->> 'error' AS error
    FROM platform.evidence
    ${opts.kind === undefined ? sql`ORDER BY id DESC` : sql`WHERE kind = ${opts.kind} ORDER BY "createdAt" DESC, id DESC`}
    LIMIT ${opts.limit}`.execute(db);
  return rows.map(({ error, createdAt, ...r }) => ({ ...r, createdAt: createdAt.toISOString(), ...(error ? { error } : {}) }));
}

/** One piece of evidence in full (input and result), or undefined. */
export async function evidenceById(db: Kysely<any>, id: number): Promise<(StoredEvidence & { result: unknown }) | undefined> {
  const { rows } = await sql<Row>`
    SELECT id, kind, "workflowId", "runId", passed, input, result, "dataWatermark", "createdAt"
    FROM platform.evidence WHERE id = ${id}`.execute(db);
  const r = rows[0];
  return r ? { ...toEvidence(r), result: r.result } : undefined;
}
