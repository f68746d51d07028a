import { describe, expect, it } from 'vitest';
import { UsageError } from '../scripts/cli-support';
import { parseStartFlags } from '../scripts/commands/cutover-run';

/** `cutover start` flags into a plan: what the backfill step gets, and bad input named before anything starts. */
describe('cutover start: --batch-size', () => {
  const env = { USER: 'ops' };
  it('sets the backfill batches; omitted, the plan leaves them to the backfill', () => {
    expect(parseStartFlags({ name: 'big', batchSize: '5000', skipRerateInBackfill: true }, env).plan).toMatchObject({
      batchSize: 5000,
      skipRerateInBackfill: true,
    });
    expect(parseStartFlags({ name: 'small' }, env).plan.batchSize).toBeUndefined();
  });
  it.each([
    ['0', /--batch-size must be between 1 and 5000/],
    ['5001', /--batch-size must be between 1 and 5000/],
    ['lots', /--batch-size/],
  ])('refuses %s, naming the flag', (value, message) => {
    expect(() => parseStartFlags({ name: 'x', batchSize: value }, env)).toThrow(UsageError);
    expect(() => parseStartFlags({ name: 'x', batchSize: value }, env)).toThrow(message);
  });
});
