/**
 * The operator side of anomaly detection (docs/usage.md): `GET /admin/anomalies` lists
 * recent flags, `PUT /admin/clients/{clientId}/anomaly-policy` chooses what a flag does.
 */
import { z } from 'zod';
import { parseInput, requireClientIdParameter } from '../admin/admin-input';
import { AuditAction, type AuditLog } from '../shared/audit';
import { ErrorCode, NotFound } from '../shared/issuance-errors';
import { ANOMALY_POLICIES, type AnomalyFlag, type AnomalyPolicy } from './usage-anomaly';

/** How far back `GET /admin/anomalies` reads, in days (flags are kept 30). */
export const ANOMALY_DAYS_MAX = 30;

export interface AnomalyAdminStore {
  recent(days: number, nowSeconds: number): Promise<AnomalyFlag[]>;
  setPolicy(clientId: string, policy: AnomalyPolicy): Promise<'written' | 'client_not_found'>;
}

const ListQuery = z.strictObject({
  days: z
    .string()
    .regex(/^\d{1,2}$/, 'must be a whole number of days')
    .transform(Number)
    .pipe(z.number().int().min(1).max(ANOMALY_DAYS_MAX))
    .optional(),
  clientId: z.string().max(64).optional(),
});

const PolicyBody = z.strictObject({ policy: z.enum(ANOMALY_POLICIES) });

export class AnomalyAdmin {
  constructor(
    private readonly store: AnomalyAdminStore,
    private readonly audit: AuditLog,
    /** Epoch milliseconds. */
    private readonly now: () => number,
  ) {}

  async list(query: Readonly<Record<string, string | undefined>> | null | undefined): Promise<{ readonly anomalies: readonly AnomalyFlag[] }> {
    const input = parseInput(ListQuery, query ?? {}, 'query');
    const clientId = input.clientId === undefined ? undefined : requireClientIdParameter(input.clientId);
    const flags = await this.store.recent(input.days ?? 1, Math.floor(this.now() / 1000));
    return { anomalies: clientId === undefined ? flags : flags.filter((f) => f.clientId === clientId) };
  }

  async setPolicy(clientIdParameter: string | undefined, body: unknown): Promise<{ readonly clientId: string; readonly policy: AnomalyPolicy }> {
    const clientId = requireClientIdParameter(clientIdParameter);
    const { policy } = parseInput(PolicyBody, body, 'body');
    if ((await this.store.setPolicy(clientId, policy)) === 'client_not_found') throw new NotFound(ErrorCode.clientNotFound, 'No client has this clientId.');
    this.audit.record({ action: AuditAction.anomalyPolicy, outcome: 'success', clientId, anomaly: `policy=${policy}` });
    return { clientId, policy };
  }
}
