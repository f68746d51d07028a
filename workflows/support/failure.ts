import { ContinueAsNew, upsertSearchAttributes } from '@temporalio/workflow';
import { CutoverState } from '../../domain/search-attributes';

/** Runs a workflow body; a failure leaves CutoverState = "failed" so the Web UI's filters tell the truth. */
export async function markFailure<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (e) {
    if (!(e instanceof ContinueAsNew)) upsertSearchAttributes([{ key: CutoverState, value: 'failed' }]);
    throw e;
  }
}

/** The innermost message: a child or activity failure wraps the cause an operator needs to read. */
export function rootMessage(e: unknown): string {
  let c: unknown = e;
  while (c instanceof Error && c.cause instanceof Error) c = c.cause;
  return c instanceof Error ? c.message : String(c);
}
