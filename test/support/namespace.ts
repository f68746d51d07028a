import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { inject } from 'vitest';

/**
 * A Temporal namespace of the test file’s own, registered and served: for tests of commands that keep
 * rules per namespace (one lone backfill at a time), which other files exercise at the same time.
 */
export async function ownNamespace(label: string): Promise<string> {
  const namespace = `${label}-${process.pid}-${Date.now()}`;
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    // a new namespace is served once the server's namespace cache has it
    for (let i = 0; ; i++) {
      const ok = await connection.workflowService
        .listOpenWorkflowExecutions({ namespace, maximumPageSize: 1 })
        .then(() => true)
        .catch(() => false);
      if (ok) return namespace;
      if (i > 60) throw new Error(`namespace ${namespace} not served after 30 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await connection.close();
  }
}
