import { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { phaseOfActivity, rowsWrittenBy } from '../domain/metrics';
import { activitySeconds, rowsWritten } from '../lib/metrics';

/** Times every activity attempt and counts the rows it wrote (lib/metrics.ts), whatever the activity. */
export class ActivityMetrics implements ActivityInboundCallsInterceptor {
  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const activity = Context.current().info.activityType;
    const phase = phaseOfActivity(activity);
    const end = activitySeconds.startTimer({ phase, activity });
    try {
      const result = await next(input);
      end({ outcome: 'ok' });
      const rows = rowsWrittenBy(activity, result);
      if (rows > 0) rowsWritten.inc({ phase }, rows);
      return result;
    } catch (e) {
      end({ outcome: Context.current().cancellationSignal.aborted ? 'cancelled' : 'failed' });
      throw e;
    }
  }
}
