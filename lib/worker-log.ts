import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import pino from 'pino';
import { phaseOfActivity } from '../domain/metrics';

/**
 * The worker's log (the Temporal SDK's, its core's forwarded lines, and what workflows and activities log): pino
 * JSON lines on stderr — stdout belongs to commands' output. Each line carries the workflow id and the runbook
 * phase when the SDK knows them (workflow type, or the phase of the activity's name).
 */
export function workerLogger(level: LogLevel): Logger {
  // an activity's task token completes it from anywhere: it is a credential, never written
  const log = pino(
    { level: level.toLowerCase(), base: { component: 'worker' }, redact: { paths: ['taskToken'], remove: true } },
    pino.destination(2),
  );
  const write = (l: LogLevel, message: string, meta: LogMetadata = {}) => {
    const activity = typeof meta.activityType === 'string' ? meta.activityType : undefined;
    const phase = typeof meta.workflowType === 'string' && !activity ? meta.workflowType : activity ? phaseOfActivity(activity) : undefined;
    log[l.toLowerCase() as 'info'](phase ? { ...meta, phase } : meta, message);
  };
  return {
    log: write,
    trace: (m, meta) => write('TRACE', m, meta),
    debug: (m, meta) => write('DEBUG', m, meta),
    info: (m, meta) => write('INFO', m, meta),
    warn: (m, meta) => write('WARN', m, meta),
    error: (m, meta) => write('ERROR', m, meta),
  };
}
