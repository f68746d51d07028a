import { WorkflowFailedError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { SCOPES } from '../../domain/auth';
import { BUILTIN_CATALOG, type Catalog } from '../../domain/catalog';
import { INPUT_FAILURES } from '../../domain/failures';
import { ChallengeRef, MemberRefreshBody, MemberRerateBody, RerateChallengeBody, refreshChallengeWorkflowId } from '../../domain/refresh';
import { findMember } from '../../store/members/find';
import { challengeByRef, streamOf } from '../../store/refresh/challenge';
import { RefreshChallenge, RefreshMember, refreshMemberWorkflowId } from '../../workflows/refresh/messages';
import { memberRerateWorkflowId, RerateChallenge, RerateMember } from '../../workflows/rerate/messages';
import { refreshSeconds } from '../../lib/metrics';
import { callerOf, requireScope, type AuthVerifier } from '../auth';
import { HttpError } from '../errors';
import { untilClosed } from '../temporal-calls';
import { ApiError, HandleParams, jsonSchema } from '../schemas';
import { zodValidator } from '../validation';

/** How the write routes reach Temporal: each request starts (or joins) a workflow and waits for it a while. */
export interface RefreshRouteOptions {
  members: Kysely<any>;
  challenges?: Kysely<any>;
  catalog?: Catalog;
  auth?: AuthVerifier;
  temporal?: { client: Client; taskQueue: string; waitMs: number };
  /** aborted when the API closes: ends the calls of requests still running (api/temporal-calls.ts) */
  closing?: AbortSignal;
}

const errors = Object.fromEntries([400, 401, 403, 404, 409, 500, 503].map((s) => [s, jsonSchema(ApiError)]));
const Accepted = z.object({
  workflowId: z.string(),
  runId: z.string(),
  status: z.literal('running').meta({ description: 'still running after the wait: poll the workflow in the Temporal Web UI' }),
});
const ChallengeParams = z.strictObject({ challengeId: ChallengeRef });
const security = [{ bearerAuth: [] }];
const START_DEADLINE_MS = 5000;

const route = (summary: string, parts: { params?: z.ZodType; body?: z.ZodType }) => ({
  schema: {
    summary,
    security,
    ...(parts.params ? { params: jsonSchema(parts.params, 'input') } : {}),
    ...(parts.body ? { body: jsonSchema(parts.body, 'input') } : {}),
    response: { 202: jsonSchema(Accepted), ...errors },
  },
  validatorCompiler: zodValidator(parts),
});

/** A workflow failure for bad input (an unknown member, a challenge that has not ended) is the caller's: 409. */
function asHttp(e: unknown): never {
  if (e instanceof WorkflowFailedError) {
    for (let c: unknown = e.cause; c instanceof Error; c = c.cause) {
      const type = (c as { type?: string }).type;
      if (type !== undefined && INPUT_FAILURES.has(type)) throw new HttpError(409, c.message);
    }
    throw e;
  }
  if (e instanceof HttpError) throw e;
  // the client could not reach Temporal: nothing was started, the caller retries
  throw new HttpError(503, 'the workflow service is unavailable; nothing was started — retry shortly');
}

/**
 * Phase E's write routes (member-api-v6's, plus what autopilot calls at challenge end). Every request starts or joins
 * a workflow by id, so a duplicate trigger has one effect; the answer is the result when it comes within the wait,
 * else 202 with the workflow id. Bearer tokens with the refresh or rerate scope (api/auth.ts).
 */
export const refreshRoutes: FastifyPluginAsync<RefreshRouteOptions> = async (app, opts) => {
  const catalog = opts.catalog ?? BUILTIN_CATALOG;
  // latency and outcome of every write request (these routes only: the plugin is encapsulated)
  app.addHook('onResponse', async (req, reply) => {
    const code = reply.statusCode;
    const outcome = code === 200 ? 'done' : code === 202 ? 'accepted' : code < 500 ? 'refused' : 'failed';
    refreshSeconds.observe({ route: req.routeOptions.url ?? 'unknown', outcome }, reply.elapsedTime / 1000);
  });
  const temporal = () => {
    if (!opts.temporal) throw new HttpError(503, 'this API is not connected to Temporal: refresh and rerate are unavailable');
    return opts.temporal;
  };
  const challenge = async (ref: string) => {
    if (!opts.challenges) throw new HttpError(503, 'the challenges database is not configured on this API');
    const c = await challengeByRef({ challenges: opts.challenges }, ref);
    if (!c) throw new HttpError(404, `no challenge ${ref}`);
    return c;
  };
  const member = async (handle: string) => {
    const m = await findMember(opts.members, handle);
    if (!m) throw new HttpError(404, `no member with handle "${handle}"`);
    return m;
  };
  /** Starts or joins; the result if it comes within the wait, else 202. */
  async function run<R>(
    reply: FastifyReply,
    start: (
      t: NonNullable<RefreshRouteOptions['temporal']>,
    ) => Promise<{ workflowId: string; firstExecutionRunId: string; result(): Promise<R> }>,
  ): Promise<R | z.infer<typeof Accepted>> {
    const t = temporal();
    // an unreachable Temporal is a prompt 503, not a request hanging on the client's own retries
    const closing = opts.closing ?? new AbortController().signal;
    const handle = await untilClosed(t.client, closing, () => t.client.withDeadline(Date.now() + START_DEADLINE_MS, () => start(t))).catch(
      asHttp,
    );
    const timeout = Symbol('timeout');
    let timer: NodeJS.Timeout | undefined;
    // the wait for the result ends with the request (or the API): a long poll left behind would outlive the client
    const waiting = new AbortController();
    const result = untilClosed(t.client, closing, () => handle.result(), waiting.signal);
    result.catch(() => undefined);
    let onClose = () => {};
    const waited = new Promise<typeof timeout>((r) => {
      timer = setTimeout(() => r(timeout), t.waitMs);
      onClose = () => r(timeout);
      closing.addEventListener('abort', onClose, { once: true });
    });
    // closing cancels the wait, not the workflow: the caller learns where it runs, as when the wait runs out
    const out = await Promise.race([result, waited])
      .catch((e: unknown) => (closing.aborted ? timeout : asHttp(e)))
      .finally(() => {
        clearTimeout(timer);
        closing.removeEventListener('abort', onClose);
        waiting.abort();
      });
    if (out !== timeout) return out as R;
    void reply.code(202);
    return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId, status: 'running' };
  }
  const startOrJoin = { workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING };

  app.post<{ Params: z.infer<typeof ChallengeParams> }>(
    '/members/stats/challenges/:challengeId/ended',
    {
      ...route('a challenge ended: refresh every participant, then rate it if it is rated (autopilot)', { params: ChallengeParams }),
      preHandler: requireScope(opts.auth, SCOPES.refresh),
    },
    async (req, reply) => {
      const c = await challenge(req.params.challengeId);
      if (c.status !== 'COMPLETED')
        throw new HttpError(409, `challenge ${req.params.challengeId} (${c.name}) has not ended: its status is ${c.status}`);
      const caller = callerOf(req);
      return run(reply, (t) =>
        t.client.workflow.start(RefreshChallenge, {
          taskQueue: t.taskQueue,
          workflowId: refreshChallengeWorkflowId(c.id),
          ...startOrJoin,
          args: [{ challengeId: c.id, caller: { clientId: caller.clientId, via: 'api' } }],
        }),
      );
    },
  );

  app.post<{ Params: z.infer<typeof HandleParams>; Body: MemberRefreshBody }>(
    '/members/:handle/stats/refresh',
    {
      ...route("recompute a member's aggregate stats from challenge results", { params: HandleParams, body: MemberRefreshBody }),
      preHandler: requireScope(opts.auth, SCOPES.refresh),
    },
    async (req, reply) => {
      const m = await member(req.params.handle);
      const challengeId = req.body.challengeId === undefined ? undefined : (await challenge(req.body.challengeId)).id;
      return run(reply, (t) =>
        t.client.workflow.start(RefreshMember, {
          taskQueue: t.taskQueue,
          workflowId: refreshMemberWorkflowId(m.handle),
          ...startOrJoin,
          args: [{ handle: m.handle, challengeId }],
        }),
      );
    },
  );

  app.post<{ Params: z.infer<typeof HandleParams>; Body: z.input<typeof MemberRerateBody> }>(
    '/members/:handle/stats/rerate',
    {
      ...route('rerate one member of a rating stream from a challenge forward (D1–D3)', { params: HandleParams, body: MemberRerateBody }),
      preHandler: requireScope(opts.auth, SCOPES.rerate),
    },
    async (req, reply) => {
      const body = req.body as unknown as MemberRerateBody;
      const m = await member(req.params.handle);
      const c = await challenge(body.challengeId);
      const caller = callerOf(req);
      const r = await run(reply, (t) =>
        t.client.workflow.start(RerateMember, {
          taskQueue: t.taskQueue,
          workflowId: memberRerateWorkflowId(body.stream, m.userId, c.id),
          ...startOrJoin,
          // the caller's client id goes on record with the evidence (never the token)
          args: [{ stream: body.stream, userId: m.userId, from: c.id, caller: { clientId: caller.clientId, via: 'api' } }],
        }),
      );
      return 'challengesRerated' in r ? { handle: m.handle, challengeId: c.id, ...r } : r;
    },
  );

  app.post<{ Body: z.infer<typeof RerateChallengeBody> }>(
    '/members/stats/rerate-challenge',
    {
      ...route('rerate every submitter of a challenge from it forward', { body: RerateChallengeBody }),
      preHandler: requireScope(opts.auth, SCOPES.rerate),
    },
    async (req, reply) => {
      const c = await challenge(req.body.challengeId);
      const stream = streamOf(catalog, c);
      if (!stream)
        throw new HttpError(
          400,
          `challenge ${req.body.challengeId} (${c.name}) is in no rating stream (Development Challenge, or Marathon Match)`,
        );
      return run(reply, (t) =>
        t.client.workflow.start(RerateChallenge, {
          taskQueue: t.taskQueue,
          workflowId: `rerate/challenge/${stream}/${c.id}`,
          ...startOrJoin,
          args: [{ stream, challengeId: c.id }],
        }),
      );
    },
  );
};
