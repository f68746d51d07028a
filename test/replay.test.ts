import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from './support/stack';

const DIR = join(__dirname, 'histories');
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

/** Recorded histories (npm run record-histories) must replay cleanly against today's workflow code. */
describe('workflow replay compatibility', () => {
  it('has recorded histories of every workflow type', () => {
    const types = new Set(
      files.map((f) => {
        const h = historyFromJSON(JSON.parse(readFileSync(join(DIR, f), 'utf8')));
        return h.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
      }),
    );
    expect([...types].sort()).toEqual([
      'backfill',
      'backfillMember',
      'cutover',
      'dedupe',
      'parity',
      'preflight',
      'ratingSequencer',
      'refreshChallenge',
      'refreshMember',
      'refreshReconcile',
      'reports',
      'rerate',
      'rerateChallenge',
      'rerateDiscard',
      'rerateMember',
      'reratePromote',
      'switchReads',
    ]);
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, file);
  });
});
