import type { Workflow } from '@temporalio/common';

/**
 * A typed stand-in for a workflow function: clients start and signal workflows with it as with the function
 * itself (arguments and result type-checked; the Temporal client takes the type name from `name`), without
 * loading workflow code. Calling it outside a client is a mistake and says so.
 */
export function workflowRef<F extends Workflow>(name: string): F {
  const ref = () => {
    throw new Error(`${name} is a workflow reference: start it with a Temporal client`);
  };
  return Object.defineProperty(ref, 'name', { value: name }) as unknown as F;
}
