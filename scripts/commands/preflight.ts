import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import type { PreflightReport } from '../../domain/preflight';
import type { Stack } from '../../lib/stack';
import { withWorker } from '../cli-support';
import { Preflight, preflightWorkflowId } from '../../workflows/preflight/messages';

export async function runPreflight(stack: Stack, log: (m: string) => void): Promise<PreflightReport & { workflowId: string }> {
  const client = stack.client;
  if (!client) throw new Error('Temporal is not up');
  const workflowId = preflightWorkflowId();
  const report = await withWorker(stack, log, () =>
    client.workflow.execute(Preflight, {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId,
      // the operator's own settings travel with the run: a stack's worker started with other env checks these
      args: [stack.config.apiUrl ? { apiUrl: stack.config.apiUrl } : {}],
      typedSearchAttributes: [
        { key: CutoverPhase, value: 'preflight' },
        { key: CutoverState, value: 'running' },
      ],
    }),
  );
  return { ...report, workflowId };
}

export function formatPreflight(report: PreflightReport & { workflowId: string }, uiUrl?: string): string {
  const lines = report.checks.map((c) => `  ${c.skipped ? '–' : c.passed ? '✔' : '✘'} ${c.name.padEnd(26)} ${c.detail}`);
  return [
    `Preflight ${report.passed ? 'PASSED' : 'FAILED'} (workflow ${report.workflowId}, evidence #${report.evidenceId})`,
    ...lines,
    ...(uiUrl ? [`  Web UI: ${uiUrl}/namespaces/default/workflows/${encodeURIComponent(report.workflowId)}`] : []),
  ].join('\n');
}

export { preflightWorkflowId };
