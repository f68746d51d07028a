import { describe, expect, it } from 'vitest';
import { resultThroughOutages } from '../scripts/cli-support';

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
  }, 20_000);
});
