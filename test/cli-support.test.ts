import { ActivityFailure, ApplicationFailure, ServiceError, WorkflowFailedError } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { resultThroughOutages, temporalBlinked } from '../scripts/cli-support';

describe('following a run through a Temporal outage', () => {
  it('waits out UNAVAILABLE and returns the result; any other failure is the run’s and is raised', async () => {
    let calls = 0;
    const logs: string[] = [];
    const flaky = {
      result: async () => {
        calls++;
        if (calls < 3) throw new Error('14 UNAVAILABLE: tcp connect error: Connection refused (os error 111)');
        return 'done';
      },
    };
    expect(await resultThroughOutages(flaky, (m) => logs.push(m))).toBe('done');
    expect(calls).toBe(3);
    expect(logs).toHaveLength(1); // said once, not on every retry
    const failed = { result: async () => Promise.reject(new Error('Workflow execution failed: backfill stopped')) };
    await expect(resultThroughOutages(failed, () => {})).rejects.toThrow(/backfill stopped/);
    const unreachableDb = {
      result: async () =>
        Promise.reject(
          new WorkflowFailedError(
            'Workflow execution failed',
            ApplicationFailure.create({ message: 'connect ECONNREFUSED' }),
            RetryState.RETRY_POLICY_NOT_SET,
          ),
        ),
    };
    await expect(resultThroughOutages(unreachableDb, () => {})).rejects.toThrow(/Workflow execution failed/);
  }, 20_000);
});

describe('temporalBlinked', () => {
  it('reads the gRPC status in the cause of the client’s ServiceError, whose own message is generic', () => {
    // what handle.query() threw when a busy worker did not answer in time (seen on the large cutover)
    const busy = new ServiceError('Failed to query Workflow', {
      cause: Object.assign(new Error('4 DEADLINE_EXCEEDED: query timed out before a worker could process it'), { code: 4 }),
    });
    expect(temporalBlinked(busy)).toBe(true);
    expect(temporalBlinked(new Error('14 UNAVAILABLE: Connection refused'))).toBe(true);
    expect(temporalBlinked(new ServiceError('Failed to query Workflow', { cause: new Error('3 INVALID_ARGUMENT: bad query') }))).toBe(
      false,
    );
    expect(temporalBlinked(new Error('Workflow execution failed: backfill stopped'))).toBe(false);
    expect(temporalBlinked('UNAVAILABLE')).toBe(true);
    expect(temporalBlinked(undefined)).toBe(false);
    // a run that failed because an activity could not reach its database failed for good: not a blink
    const gaveUp = new WorkflowFailedError(
      'Workflow execution failed',
      new ActivityFailure(
        'Activity task failed',
        'switchGate',
        'a1',
        RetryState.MAXIMUM_ATTEMPTS_REACHED,
        undefined,
        ApplicationFailure.create({ message: 'connect ECONNREFUSED 10.0.0.5:5432' }),
      ),
      RetryState.RETRY_POLICY_NOT_SET,
    );
    expect(temporalBlinked(gaveUp)).toBe(false);
  });
});
