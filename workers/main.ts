// A standalone worker process: scale out by running more of these against the same Temporal and task queue.
import { bringUp, stderrLog } from '../lib/stack';
import { runWorker } from './run';

async function main() {
  const stack = await bringUp();
  const worker = await runWorker(stack);
  stderrLog(`worker polling task queue "${worker.taskQueue}" at ${stack.temporal?.address}`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await worker.stop();
    await stack.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  stderrLog((e as Error).message);
  process.exit(1);
});
