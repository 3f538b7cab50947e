/** The audit port on Powertools Logger: one structured JSON line per event, public ids only. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { AuditEvent, AuditLog } from '../core/shared/audit';

export function loggerAudit(logger: Logger): AuditLog {
  return {
    record: (event: AuditEvent) => logger.info('audit', { audit: event }),
    warn: (message, details) => logger.warn(message, { details }),
  };
}
