// npm run record-histories: runs each workflow through its typical paths on a tiny dataset and saves the event
// histories to test/histories/, which test/replay.test.ts replays against the current workflow code. Run it when a
// workflow gains a path worth pinning; keep the old files — they are what proves a change stays replay-compatible.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { sql } from 'kysely';
import { BackfillOptions, type BackfillOptionsInput } from '../domain/backfill';
import { parseConfig } from '../domain/config';
import { bringUp, stderrLog } from '../lib/stack';
import { runWorker } from '../workers/run';
import { backfillProgress, pauseSignal, resumeSignal, setConcurrency, Backfill } from '../workflows/backfill/messages';
import { fail } from './cli-support';
import { runSeed } from './seed/index';
import { Parity } from '../workflows/parity/messages';
import { Dedupe } from '../workflows/dedupe/messages';
import { SwitchReads } from '../workflows/switch/messages';
import { switchReadSource } from '../store/read-source';
import { knownRatedMembers } from '../store/switch';
import { Reports } from '../workflows/reports/messages';
import { Preflight } from '../workflows/preflight/messages';
import { RefreshChallenge, RefreshMember, RefreshReconcile } from '../workflows/refresh/messages';
import { SEQUENCER } from '../domain/refresh';
import { eventsFrom } from '../domain/rerate';
import { loadCatalog } from '../store/catalog';
import { loadStream } from '../store/rerate/stream';
import { memberRerateWorkflowId, Rerate, RerateChallenge, RerateDiscard, ReratePromote } from '../workflows/rerate/messages';

const OUT = resolve(__dirname, '..', 'test', 'histories');

/** The first run's history: a continued-as-new workflow's first run holds the handover itself. */
async function save(client: Client, name: string, handle: WorkflowHandle & { firstExecutionRunId?: string }): Promise<void> {
  const file = join(OUT, `${name}.json`);
  if (existsSync(file)) {
    stderrLog(`kept ${name}: an older recording is what proves compatibility (delete it to re-record)`);
    return;
  }
  const history = await client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
  writeFileSync(file, `${historyToJSON(history)}\n`);
  stderrLog(`saved ${name} (${history.events?.length ?? 0} events)`);
}

async function main() {
  const base = parseConfig(process.env);
  const url = new URL(base.databaseUrl);
  url.pathname = '/cutover_record_histories';
  const stack = await bringUp({ config: { ...parseConfig({ ...process.env, DATABASE_URL: url.toString() }), databaseDefaulted: true } });
  const client = stack.client!;
  const taskQueue = `record-histories-${process.pid}`;
  const worker = await runWorker(stack, { taskQueue });
  const id = (name: string) => `record/${name}/${Date.now()}`;
  const options = (o: BackfillOptionsInput) => BackfillOptions.parse(o);
  try {
    await runSeed(stack.dbs, { size: 'tiny', seed: 3 });
    mkdirSync(OUT, { recursive: true });

    const pre = await client.workflow.start(Preflight, { taskQueue, workflowId: id('preflight') });
    await pre.result();
    await save(client, 'preflight-passed', pre);

    // a full backfill with small batches: pause, a rejected and an accepted retune, resume, continue-as-new
    const bf = await client.workflow.start(Backfill, {
      taskQueue,
      workflowId: id('backfill'),
      args: [{ options: options({ batchSize: 10, concurrency: 2 }), tuning: { historyBudget: 120 } }],
    });
    await bf.signal(pauseSignal);
    await bf.query(backfillProgress);
    await bf.executeUpdate(setConcurrency, { args: [0] }).catch(() => {});
    await bf.executeUpdate(setConcurrency, { args: [3] });
    await bf.signal(resumeSignal);
    await bf.result();
    await save(client, 'backfill-paused-retuned-continued', bf);

    const ids = (
      await sql<{ userId: number }>`SELECT "userId" FROM members."member" ORDER BY 1 LIMIT 2`.execute(stack.dbs.members)
    ).rows.map((r) => r.userId);
    const byId = await client.workflow.start(Backfill, {
      taskQueue,
      workflowId: id('backfill-user-ids'),
      args: [{ options: options({ userIds: ids }) }],
    });
    await byId.result();
    await save(client, 'backfill-user-ids', byId);
    await save(client, 'backfill-member-child', client.workflow.getHandle(`backfill/member/${ids[0]}`));

    const csv = await client.workflow.start(Backfill, {
      taskQueue,
      workflowId: id('backfill-csv'),
      args: [
        {
          options: options({ csvOnly: true, csvPath: resolve(stack.config.dataDir, 'record-csv'), track: 'DEVELOPMENT', skipRerate: true }),
        },
      ],
    });
    await csv.result();
    await save(client, 'backfill-csv-track', csv);

    // live reads suffering: the run holds back (throttled), then finishes once the read latency recovers
    await sql`INSERT INTO platform."readLatency" (instance, "p50Ms", "p99Ms", samples) VALUES ('record', 300, 900, 50)
              ON CONFLICT (instance) DO UPDATE SET "updatedAt" = now()`.execute(stack.dbs.members);
    const throttled = await client.workflow.start(Backfill, {
      taskQueue,
      workflowId: id('backfill-throttled'),
      args: [{ options: options({ batchSize: 20, concurrency: 2, restart: true, throttle: { probeSeconds: 0.5 } }) }],
    });
    for (let i = 0; i < 100 && (await throttled.query(backfillProgress)).state !== 'throttled'; i++)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500));
    await sql`DELETE FROM platform."readLatency"`.execute(stack.dbs.members);
    await throttled.result();
    await save(client, 'backfill-throttled', throttled);

    // failure paths: a bad track stops the backfill before any write; preflight reports a failed check
    const badTrack = await client.workflow.start(Backfill, {
      taskQueue,
      workflowId: id('backfill-bad-track'),
      args: [{ options: options({ track: 'NO_SUCH_TRACK' }) }],
    });
    await badTrack.result().catch(() => {});
    await save(client, 'backfill-failed-bad-track', badTrack);
    // a batch that fails for good: the run stops on record (failed evidence) instead of retrying forever
    await sql`
      CREATE OR REPLACE FUNCTION record_fault() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'recorded fault'; END $$`.execute(stack.dbs.members);
    await sql`CREATE TRIGGER record_fault BEFORE INSERT OR UPDATE ON members."memberStats" FOR EACH ROW EXECUTE FUNCTION record_fault()`.execute(
      stack.dbs.members,
    );
    try {
      const failing = await client.workflow.start(Backfill, {
        taskQueue,
        workflowId: id('backfill-batch-failed'),
        args: [{ options: options({ batchSize: 50, concurrency: 1, restart: true }), tuning: { batchAttempts: 1 } }],
      });
      await failing.result().catch(() => {});
      await save(client, 'backfill-failed-batch', failing);
    } finally {
      await sql`DROP TRIGGER IF EXISTS record_fault ON members."memberStats"`.execute(stack.dbs.members);
      await sql`DROP FUNCTION IF EXISTS record_fault()`.execute(stack.dbs.members);
    }
    await sql`UPDATE platform."readSource" SET source = 'unified'`.execute(stack.dbs.members);
    const preFail = await client.workflow.start(Preflight, { taskQueue, workflowId: id('preflight-failed') });
    await preFail.result();
    await sql`UPDATE platform."readSource" SET source = 'legacy'`.execute(stack.dbs.members);
    await save(client, 'preflight-failed', preFail);

    const parityFull = await client.workflow.start(Parity, {
      taskQueue,
      workflowId: id('parity-full'),
      args: [{ mode: 'full', examples: 5 }],
    });
    await parityFull.result();
    await save(client, 'parity-full', parityFull);
    const paritySample = await client.workflow.start(Parity, {
      taskQueue,
      workflowId: id('parity-sample'),
      args: [{ mode: 'sample', samples: 20, seed: 'record', examples: 5 }],
    });
    const sampled = await paritySample.result();
    await save(client, 'parity-sample', paritySample);
    // live traffic: a re-check of the members changed since the sample's snapshot (one member's row touched meanwhile)
    await sql`UPDATE members."memberStats" SET "updatedAt" = now() WHERE id = (SELECT min(id) FROM members."memberStats")`.execute(
      stack.dbs.members,
    );
    const parityChanged = await client.workflow.start(Parity, {
      taskQueue,
      workflowId: id('parity-changed'),
      args: [{ mode: 'changed', since: sampled.evidenceId, examples: 5 }],
    });
    await parityChanged.result();
    await save(client, 'parity-changed', parityChanged);
    // a run that finds differences (one member's rating moved by hand, then put back)
    const handMoved = await sql<{ id: number; rating: number }>`
      UPDATE members."memberStats" SET rating = rating + 7 WHERE id = (SELECT min(id) FROM members."memberStats" WHERE rating IS NOT NULL)
      RETURNING id, rating - 7 AS rating`.execute(stack.dbs.members);
    try {
      const differs = await client.workflow.start(Parity, {
        taskQueue,
        workflowId: id('parity-differences'),
        args: [{ mode: 'full', examples: 5 }],
      });
      await differs.result();
      await save(client, 'parity-differences', differs);
    } finally {
      for (const m of handMoved.rows)
        await sql`UPDATE members."memberStats" SET rating = ${m.rating} WHERE id = ${m.id}`.execute(stack.dbs.members);
    }

    // phase D: a stream rerate in chunks, and one refused for a challenge outside its stream
    const rerate = await client.workflow.start(Rerate, {
      taskQueue,
      workflowId: id('rerate-develop'),
      args: [{ options: { stream: 'develop', chunkEvents: 10, concurrency: 2 } }],
    });
    await rerate.result();
    await save(client, 'rerate-develop', rerate);
    const mm = await sql<{ id: string }>`
      SELECT c.id::text AS id FROM challenges."Challenge" c JOIN challenges."ChallengeType" t ON t.id = c."typeId"
      WHERE t.name = 'Marathon Match' LIMIT 1`.execute(stack.dbs.challenges);
    const refused = await client.workflow.start(Rerate, {
      taskQueue,
      workflowId: id('rerate-refused'),
      args: [{ options: { stream: 'develop', from: mm.rows[0]!.id } }],
    });
    await refused.result().catch(() => {});
    await save(client, 'rerate-failed-from-outside-stream', refused);
    // one challenge's submitters, one member child each
    const ev = await sql<{ challengeId: string }>`
      SELECT h."challengeId" FROM members."memberStatsHistory" h JOIN challenges."Challenge" c ON c.id::text = h."challengeId"
      JOIN challenges."ChallengeType" t ON t.id = h."typeId" WHERE t.name = 'Challenge' AND h."newRating" IS NOT NULL
      GROUP BY 1 HAVING count(*) >= 2 ORDER BY count(*), 1 LIMIT 1`.execute(stack.dbs.members);
    const byChallenge = await client.workflow.start(RerateChallenge, {
      taskQueue,
      workflowId: id('rerate-challenge'),
      args: [{ stream: 'develop', challengeId: ev.rows[0]!.challengeId }],
    });
    const members = await byChallenge.result();
    await save(client, 'rerate-challenge', byChallenge);
    await save(
      client,
      'rerate-member-child',
      client.workflow.getHandle(memberRerateWorkflowId('develop', members.members[0]!.userId, members.challengeId)),
    );
    // a preview (shadow rows, diff), promoted; another previewed and discarded
    const preview = await client.workflow.start(Rerate, {
      taskQueue,
      workflowId: id('rerate-preview'),
      args: [{ options: { stream: 'marathon', chunkEvents: 10, preview: true } }],
    });
    const previewed = await preview.result();
    await save(client, 'rerate-preview', preview);
    const promote = await client.workflow.start(ReratePromote, {
      taskQueue,
      workflowId: id('rerate-promote'),
      args: [{ runKey: previewed.final.preview!.runKey }],
    });
    await promote.result();
    await save(client, 'rerate-promote', promote);
    const second = await client.workflow.execute(Rerate, {
      taskQueue,
      workflowId: id('rerate-preview-2'),
      args: [{ options: { stream: 'develop', preview: true } }],
    });
    const discard = await client.workflow.start(RerateDiscard, {
      taskQueue,
      workflowId: id('rerate-discard'),
      args: [{ runKey: second.final.preview!.runKey }],
    });
    await discard.result();
    await save(client, 'rerate-discard', discard);

    // phase D5: a dedupe dry run, an apply and its undo, over the canonical rows a marathon rerate writes
    await client.workflow.execute(Rerate, {
      taskQueue,
      workflowId: id('rerate-marathon'),
      args: [{ options: { stream: 'marathon', chunkEvents: 50 } }],
    });
    const dedupeDry = await client.workflow.start(Dedupe, { taskQueue, workflowId: id('dedupe-dry-run'), args: [{ options: {} }] });
    await dedupeDry.result();
    await save(client, 'dedupe-dry-run', dedupeDry);
    const dedupeApply = await client.workflow.start(Dedupe, {
      taskQueue,
      workflowId: id('dedupe-apply'),
      args: [{ options: { apply: true } }],
    });
    const applied = await dedupeApply.result();
    await save(client, 'dedupe-apply', dedupeApply);
    const dedupeUndo = await client.workflow.start(Dedupe, { taskQueue, workflowId: id('dedupe-undo'), args: [{ undo: applied.runId }] });
    await dedupeUndo.result();
    await save(client, 'dedupe-undo', dedupeUndo);
    // phase E: the latest develop end refreshed and rated in order; an older marathon end rerated from it forward;
    // the sequencer's own run; one member refreshed
    const cat = await loadCatalog(stack.dbs.challenges);
    const dev = eventsFrom((await loadStream(stack.dbs, cat, 'develop', 'rated')).events, undefined)!;
    const latest = await client.workflow.start(RefreshChallenge, {
      taskQueue,
      workflowId: id('refresh-challenge'),
      args: [{ challengeId: dev.at(-1)!.challengeId, caller: { clientId: 'record', via: 'api' } }],
    });
    await latest.result();
    await save(client, 'refresh-challenge-rated', latest);
    const mmEvents = eventsFrom((await loadStream(stack.dbs, cat, 'marathon', 'rated')).events, undefined)!;
    const late = await client.workflow.start(RefreshChallenge, {
      taskQueue,
      workflowId: id('refresh-challenge-late'),
      args: [{ challengeId: mmEvents[1]!.challengeId, caller: { clientId: 'record', via: 'reconciler' } }],
    });
    await late.result();
    await save(client, 'refresh-challenge-late-rerate', late);
    await save(client, 'rating-sequencer', client.workflow.getHandle(SEQUENCER.workflowId(taskQueue, 'develop')));
    const handle = (await sql<{ handle: string }>`SELECT handle FROM members.member ORDER BY "userId" LIMIT 1`.execute(stack.dbs.members))
      .rows[0]!.handle;
    const member = await client.workflow.start(RefreshMember, { taskQueue, workflowId: id('refresh-member'), args: [{ handle }] });
    await member.result();
    await save(client, 'refresh-member', member);
    // the reconciler: its first run sets the mark; a challenge ending with no trigger is refreshed by the next
    const initial = await client.workflow.start(RefreshReconcile, { taskQueue, workflowId: id('reconcile-initial'), args: [{}] });
    await initial.result();
    await save(client, 'refresh-reconcile-initial', initial);
    await sql`
      INSERT INTO challenges."Challenge" (id, name, "typeId", "trackId", status, "legacyId", "startDate", "endDate", "createdAt", "updatedAt")
      SELECT gen_random_uuid(), 'Recorded reconcile', "typeId", "trackId", 'COMPLETED', NULL, now(), now(), now(), now()
      FROM challenges."Challenge" LIMIT 1`.execute(stack.dbs.challenges);
    const sweep = await client.workflow.start(RefreshReconcile, { taskQueue, workflowId: id('reconcile-sweep'), args: [{}] });
    await sweep.result();
    await save(client, 'refresh-reconcile-sweep', sweep);
    // phase C: refused at a closed gate (the data moved since parity); forced and verified; a failed verification
    // (a mostRecent flag moved to an older row) rolled back to legacy
    const switchRefused = await client.workflow.start(SwitchReads, {
      taskQueue,
      workflowId: id('switch-refused'),
      args: [{ actor: 'record', reason: 'gate closed' }],
    });
    await switchRefused.result().catch(() => {});
    await save(client, 'switch-refused-gate-closed', switchRefused);
    const switchForced = await client.workflow.start(SwitchReads, {
      taskQueue,
      workflowId: id('switch-forced'),
      args: [{ actor: 'record', reason: 'forced', force: true, members: 3 }],
    });
    await switchForced.result();
    await save(client, 'switch-forced-verified', switchForced);
    await switchReadSource(stack.dbs.members, { to: 'legacy', actor: 'record', reason: 'recorded switch undone' });
    const [faulty] = await knownRatedMembers(stack.dbs.members, 1);
    const moved = await sql<{ latest: number; older: number }>`
      SELECT max(id) FILTER (WHERE "mostRecent") AS latest, (array_agg(id ORDER BY "eventDate", id))[1] AS older
      FROM members."memberStatsHistory" WHERE "userId" = ${faulty!.userId}
      GROUP BY "trackId", "typeId" HAVING bool_or("mostRecent") AND min("eventDate") < max("eventDate") LIMIT 1`.execute(stack.dbs.members);
    const { latest: flagged, older } = moved.rows[0]!;
    const flag = async (clear: number, set: number) => {
      // two statements: the partial unique index allows one flag per group at any moment
      await sql`UPDATE members."memberStatsHistory" SET "mostRecent" = false WHERE id = ${clear}`.execute(stack.dbs.members);
      await sql`UPDATE members."memberStatsHistory" SET "mostRecent" = true WHERE id = ${set}`.execute(stack.dbs.members);
    };
    await flag(flagged, older);
    try {
      const switchRolledBack = await client.workflow.start(SwitchReads, {
        taskQueue,
        workflowId: id('switch-rolled-back'),
        args: [{ actor: 'record', reason: 'forced', force: true, members: 3 }],
      });
      await switchRolledBack.result().catch(() => {});
      await save(client, 'switch-failed-rolled-back', switchRolledBack);
    } finally {
      await flag(older, flagged);
    }
    // phase F: the reports over what the phases above left (a seed drawn by the workflow), and refused input
    const reports = await client.workflow.start(Reports, { taskQueue, workflowId: id('reports'), args: [{}] });
    await reports.result();
    await save(client, 'reports', reports);
    const reportsBad = await client.workflow.start(Reports, { taskQueue, workflowId: id('reports-bad-input'), args: [{ samples: 0 }] });
    await reportsBad.result().catch(() => {});
    await save(client, 'reports-failed-bad-input', reportsBad);
  } finally {
    await worker.stop();
    await stack.close();
  }
}

main().catch(fail);
