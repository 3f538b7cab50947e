/**
 * A client's `leakResponse` (`GET|PUT /admin/clients/{clientId}/leak-response`): `revoke`
 * (the default: a key reported leaked is revoked at once) or `notify` (it is only reported,
 * for a client that must not go down before a person has looked, e.g. a payment terminal
 * fleet that rotates its own keys).
 */
import { z } from 'zod';
import { DEFAULT_LEAK_RESPONSE, LEAK_RESPONSES, type LeakResponse } from '../../../common/leaks';
import { clientNotFound, parseInput, requireClientIdParameter } from './admin-input';
import { AuditAction, type AuditLog } from '../shared/audit';

export const LeakResponseBody = z.strictObject({ leakResponse: z.enum(LEAK_RESPONSES) });

export interface LeakSettingsPorts {
  /** The client's setting; `null`: no such client. */
  read(clientId: string): Promise<LeakResponse | undefined | null>;
  write(clientId: string, mode: LeakResponse): Promise<'updated' | 'not_found'>;
  readonly audit: AuditLog;
}

export interface LeakResponseView {
  readonly clientId: string;
  readonly leakResponse: LeakResponse;
}

export class LeakSettings {
  constructor(private readonly ports: LeakSettingsPorts) {}

  async get(clientIdParameter: string | undefined): Promise<LeakResponseView> {
    const clientId = requireClientIdParameter(clientIdParameter);
    const mode = await this.ports.read(clientId);
    if (mode === null) throw clientNotFound();
    return { clientId, leakResponse: mode ?? DEFAULT_LEAK_RESPONSE };
  }

  async set(clientIdParameter: string | undefined, body: unknown): Promise<LeakResponseView> {
    const clientId = requireClientIdParameter(clientIdParameter);
    const { leakResponse } = parseInput(LeakResponseBody, body, 'body');
    const outcome = await this.ports.write(clientId, leakResponse);
    if (outcome === 'not_found') {
      this.ports.audit.record({ action: AuditAction.clientLeakResponse, outcome: 'failure', reason: outcome, clientId });
      throw clientNotFound();
    }
    this.ports.audit.record({ action: AuditAction.clientLeakResponse, outcome: 'success', clientId, leakResponse });
    return { clientId, leakResponse };
  }
}
