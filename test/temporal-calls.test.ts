import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { untilClosed } from '../api/temporal-calls';

/**
 * The API's Temporal calls (api/temporal-calls.ts) against the real dev server: one request may make many calls
 * (a result's long polls), and the client adds an abort listener per call without removing it.
 */
describe('untilClosed', () => {
  let connection: Connection;
  let client: Client;
  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection });
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('many calls in one request warn of no listener leak, on the request’s signal or the closing one', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => void (w.name === 'MaxListenersExceededWarning' && warnings.push(w.message));
    process.on('warning', onWarning);
    try {
      const closing = new AbortController();
      const request = new AbortController();
      for (let r = 0; r < 3; r++)
        await untilClosed(
          client,
          closing.signal,
          async () => {
            for (let i = 0; i < 15; i++) await client.workflowService.getSystemInfo({});
          },
          request.signal,
        );
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('closing cancels the calls in flight', async () => {
    const closing = new AbortController();
    const pending = untilClosed(client, closing.signal, () =>
      client.workflowService.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId: `nobody/${process.pid}/${Date.now()}` },
        waitNewEvent: true,
      }),
    );
    closing.abort();
    await expect(pending).rejects.toThrow(/cancel/i);
  });
});
