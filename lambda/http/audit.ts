/** The audit port on Powertools Logger: one structured JSON line per event, public ids only. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { AuditEvent, AuditLog } from '../core/shared/audit';
import type { Operator } from './operator';

/** `operator`: who made the request being handled, for the functions operators call (the admin function). */
export function loggerAudit(logger: Logger, operator?: () => Operator | undefined): AuditLog {
  return {
    record: (event: AuditEvent) => {
      const by = operator?.();
      logger.info('audit', by === undefined ? { audit: event } : { audit: event, operator: by });
    },
    warn: (message, details) => logger.warn(message, { details }),
  };
}
