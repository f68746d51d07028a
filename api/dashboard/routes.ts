import type { Client } from '@temporalio/client';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { SCOPES } from '../../domain/auth';
import { APPROVALS } from '../../domain/cutover';
import { readCutover } from '../../store/cutover';
import { evidenceById } from '../../store/gates';
import { cutoverApprove, cutoverRollback } from '../../workflows/cutover/messages';
import { callerOf, requireScope, type AuthVerifier } from '../auth';
import { HttpError } from '../errors';
import type { StatusSources } from '../status';
import { NothingToSteer, steerAction, steerTarget } from '../steering';
import { untilClosed } from '../temporal-calls';
import { jsonSchema } from '../schemas';
import { zodValidator } from '../validation';
import { DASHBOARD_PAGE } from './page';
import { dashboardState } from './state';

/**
 * The cutover dashboard: GET /dashboard (the page), /dashboard/state (what it draws, polled), /dashboard/evidence/:id
 * (one piece in full), and POST /dashboard/actions — approve, pause, resume, cancel, rollback, retry — for a bearer
 * token with the operate:cutover scope (or an admin role), recorded with the token's client id as the actor.
 */
export interface DashboardOptions {
  sources: StatusSources;
  auth?: AuthVerifier;
  /** aborted when the API closes: ends the calls of requests still running (api/temporal-calls.ts) */
  closing?: AbortSignal;
}

const Reason = z
  .string()
  .trim()
  .min(1, { error: 'reason must not be empty' })
  .max(2000, { error: 'reason is longer than 2000 characters' });
export const DashboardAction = z.discriminatedUnion(
  'action',
  [
    z.strictObject({
      action: z.literal('approve'),
      gate: z.enum(APPROVALS, { error: `gate must be one of ${APPROVALS.join(', ')}` }),
      reason: Reason,
      force: z.boolean().default(false),
    }),
    z.strictObject({ action: z.literal('rollback'), reason: Reason }),
    z.strictObject({ action: z.enum(['pause', 'resume', 'cancel', 'retry']), reason: Reason.optional() }),
  ],
  { error: 'action must be one of approve, pause, resume, cancel, rollback, retry' },
);
export type DashboardAction = z.infer<typeof DashboardAction>;
const EvidenceParams = z.strictObject({
  id: z
    .string()
    .regex(/^\d{1,15}$/, { error: 'the evidence id is a whole number' })
    .transform(Number),
});

/** Signals and updates name the workflow that is gone in their messages: an operator gets one sentence instead. */
async function send<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof NothingToSteer) throw new HttpError(409, e.message);
    const text = e instanceof Error ? e.message : String(e);
    if (/not found|already completed/i.test(text)) throw new HttpError(409, `${what} is no longer running: nothing to act on`);
    if (/UNAVAILABLE|ECONNREFUSED|DEADLINE_EXCEEDED/i.test(text))
      throw new HttpError(503, 'Temporal is unreachable: nothing was sent — retry shortly');
    let c: unknown = e;
    while (c instanceof Error && c.cause instanceof Error) c = c.cause;
    throw new HttpError(409, `refused: ${c instanceof Error ? c.message : String(c)}`);
  }
}

async function act(client: Client, sources: StatusSources, a: DashboardAction, actor: string): Promise<string> {
  const msg = { actor, ...(a.reason ? { reason: a.reason } : {}) };
  if (a.action !== 'approve' && a.action !== 'rollback') {
    const t = await steerTarget({ ...sources, client }).catch((e: unknown) => {
      throw e instanceof NothingToSteer ? new HttpError(409, e.message) : e;
    });
    return send(t.label, () => steerAction(t, a.action, msg));
  }
  // approve and rollback are the cutover's own
  const latest = await readCutover(sources.dbs.members);
  if (!latest || ['done', 'aborted'].includes(latest.status.state))
    throw new HttpError(
      409,
      `no cutover is running${latest ? ` (the latest, ${latest.name}, is ${latest.status.state})` : ''}: nothing to ${a.action}`,
    );
  const h = client.workflow.getHandle(latest.workflowId);
  const name = `cutover ${latest.name}`;
  if (a.action === 'rollback') {
    await send(name, () => h.signal(cutoverRollback, { ...msg, reason: a.reason }));
    return 'rollback requested: reads go to legacy as soon as the running step stops';
  }
  const view = await send(name, () =>
    h.executeUpdate(cutoverApprove, { args: [{ ...msg, gate: a.gate, reason: a.reason, force: a.force }] }),
  );
  return `approved ${a.gate}${view.holds ? '' : ' (forced: its evidence does not hold)'}: ${view.reason}`;
}

export function dashboardRoutes(opts: DashboardOptions): FastifyPluginAsync {
  return async (app) => {
    const read = dashboardState(opts.sources);
    const closing = opts.closing ?? new AbortController().signal;
    const bounded = <T>(fn: () => Promise<T>) => (opts.sources.client ? untilClosed(opts.sources.client, closing, fn) : fn());
    app.get('/dashboard', { schema: { hide: true } }, async (_req, reply) => {
      void reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store');
      return DASHBOARD_PAGE;
    });
    app.get('/dashboard/state', { schema: { hide: true } }, async (_req, reply) => {
      void reply.header('cache-control', 'no-store');
      return bounded(read);
    });
    app.get<{ Params: z.infer<typeof EvidenceParams> }>(
      '/dashboard/evidence/:id',
      { schema: { hide: true, params: jsonSchema(EvidenceParams, 'input') }, validatorCompiler: zodValidator({ params: EvidenceParams }) },
      async (req) => {
        const e = await evidenceById(opts.sources.dbs.members, req.params.id);
        if (!e) throw new HttpError(404, `no evidence #${req.params.id}`);
        return e;
      },
    );
    app.post<{ Body: DashboardAction }>(
      '/dashboard/actions',
      {
        // the JSON schema makes fastify compile the body's validator (the zod schema decides)
        schema: { hide: true, body: jsonSchema(DashboardAction, 'input') },
        // who before what: a request without a valid token learns nothing about the body's rules
        preValidation: requireScope(opts.auth, SCOPES.operate),
        validatorCompiler: zodValidator({ body: DashboardAction }),
      },
      async (req) => {
        const client = opts.sources.client;
        if (!client) throw new HttpError(503, 'this API is not connected to Temporal: actions are unavailable');
        const said = await bounded(() => act(client, opts.sources, req.body, `dashboard:${callerOf(req).clientId}`));
        req.log.info({ action: req.body.action, actor: callerOf(req).clientId }, 'dashboard action');
        return { ok: true, said };
      },
    );
  };
}
