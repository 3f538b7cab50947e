/**
 * Per-service grants (`GET /admin/clients/{clientId}/grants`,
 * `PUT /admin/clients/{clientId}/grants/{service}`): for each service the scopes a client may
 * hold there. Once a client has grants, a token for a service carries only scopes granted on
 * that service (and held by the key); a service the client has no grant on is not permitted
 * (`invalid_target`). A client without grants is limited by its keys' scopes alone.
 */
import { z } from 'zod';
import type { ResolvedService } from '../../../common/services';
import { SCOPE_TOKEN_PATTERN } from '../../../common/setting-checks';
import { clientNotFound, parseInput, requireClientIdParameter } from './admin-input';
import { AuditAction, type AuditLog } from '../shared/audit';
import { ErrorCode, InvalidScope, NotFound, TemporarilyUnavailable } from '../shared/issuance-errors';

/** Service name → the scopes granted there. */
export type Grants = Readonly<Record<string, readonly string[]>>;
export type GrantWrite = 'updated' | 'conflict';

export const GrantBody = z.strictObject({ scopes: z.array(z.string().regex(SCOPE_TOKEN_PATTERN)).max(64) });

export interface ServiceGrantsPorts {
  /** The services of the deployment: their names and scopes. */
  readonly services: readonly Pick<ResolvedService, 'name' | 'scopes'>[];
  /** The client's grants (`undefined`: none); `null`: no such client. */
  read(clientId: string): Promise<Grants | undefined | null>;
  /** Writes `next` if the grants are still `before`. */
  write(clientId: string, before: Grants | undefined, next: Grants): Promise<GrantWrite>;
  readonly audit: AuditLog;
}

export interface GrantsView {
  readonly clientId: string;
  /** `null`: no grants set, the keys' scopes decide. */
  readonly grants: Grants | null;
}

/** Optimistic writes retried this often when another operator changed the grants meanwhile. */
const WRITE_ATTEMPTS = 3;

export class ServiceGrants {
  constructor(private readonly ports: ServiceGrantsPorts) {}

  async get(clientIdParameter: string | undefined): Promise<GrantsView> {
    const clientId = requireClientIdParameter(clientIdParameter);
    const grants = await this.ports.read(clientId);
    if (grants === null) throw clientNotFound();
    return { clientId, grants: grants ?? null };
  }

  /** Sets the scopes granted on one service; an empty list withdraws the service. */
  async set(clientIdParameter: string | undefined, serviceParameter: string | undefined, body: unknown): Promise<GrantsView> {
    const clientId = requireClientIdParameter(clientIdParameter);
    if (this.ports.services.length === 0)
      throw new NotFound(
        ErrorCode.notFound,
        'This deployment fronts one service (no services setting): grants apply per service, so there is none to grant on (docs/services.md).',
      );
    const service = this.ports.services.find((s) => s.name === serviceParameter);
    if (service === undefined)
      throw new NotFound(
        ErrorCode.notFound,
        `No service of this deployment is named "${serviceParameter ?? ''}"; the services are ${this.ports.services.map((s) => s.name).join(', ')}.`,
      );
    const { scopes } = parseInput(GrantBody, body, 'body');
    const undefinedScopes = scopes.filter((scope) => !service.scopes.includes(scope));
    if (undefinedScopes.length)
      throw new InvalidScope(
        `${undefinedScopes.join(' ')} ${undefinedScopes.length === 1 ? 'is not a scope' : 'are not scopes'} of the service ${service.name} (its scopes: ${service.scopes.join(' ') || 'none'}).`,
      );
    for (let attempt = 1; ; attempt += 1) {
      const before = await this.ports.read(clientId);
      if (before === null) {
        this.ports.audit.record({ action: AuditAction.clientGrant, outcome: 'failure', reason: 'client_not_found', clientId });
        throw clientNotFound();
      }
      const next: Grants = { ...before, [service.name]: [...new Set(scopes)].sort() };
      if ((await this.ports.write(clientId, before, next)) === 'updated') {
        this.ports.audit.record({ action: AuditAction.clientGrant, outcome: 'success', clientId, service: service.name, scope: next[service.name]!.join(' ') });
        return { clientId, grants: next };
      }
      if (attempt === WRITE_ATTEMPTS) throw new TemporarilyUnavailable('grants_write_contended');
    }
  }
}

/**
 * The ceiling a client's grants put on a token for `service`: the granted scopes, or
 * `undefined` when the client has no grants at all. An own property only: a service may be
 * named `constructor`, which every object inherits.
 */
export function grantedOn(grants: Grants | undefined, service: string): readonly string[] | undefined {
  if (grants === undefined) return undefined;
  return Object.hasOwn(grants, service) ? (grants[service] ?? []) : [];
}
