/**
 * The audit trail: one structured line per issue, roll, revoke and failed exchange. Events
 * carry public ids only (keyId, clientId, jti, kid) — never an API key, its hash or a JWT.
 */

export const AuditAction = {
  tokenIssue: 'token.issue',
  tokenRevokeByClient: 'token.revoke_by_client',
  tokenRevoke: 'token.revoke',
  keyCreate: 'key.create',
  keyRoll: 'key.roll',
  keyRevoke: 'key.revoke',
  clientRevoke: 'client.revoke',
  signingKeysRotate: 'signing_keys.rotate',
  /** A client's per-client limits set (`PUT /admin/clients/{clientId}/limits`). */
  clientLimits: 'client.limits',
  /** A client's usage key registered with the usage plan its limits call for. */
  usageRegister: 'usage.register',
  /** A revoked client's usage key and custom plan removed from API Gateway. */
  usageDeregister: 'usage.deregister',
  /** A live key reported leaked (secret scanning or `POST /leaks/revoke`) and revoked. */
  keyLeakRevoke: 'key.leak_revoke',
  /** A live key reported leaked whose client chose `leakResponse: notify`: reported, not revoked. */
  keyLeakNotify: 'key.leak_notify',
  /** A client's `leakResponse` set (`PUT /admin/clients/{clientId}/leak-response`). */
  clientLeakResponse: 'client.leak_response',
  clientGrant: 'client.grant',
  /** A client's metered quota set or removed (`PUT /admin/clients/{clientId}/quota`). */
  clientQuota: 'client.quota',
  /** A client's suspension lifted by an operator (`POST /admin/clients/{clientId}/resume`). */
  clientResume: 'client.resume',
  /** An API key's per-key metered quota set or removed (`PUT /admin/keys/{keyId}/quota`). */
  keyQuota: 'key.quota',
  /** An API key's suspension lifted (`POST /admin/keys/{keyId}/resume`). */
  keyResume: 'key.resume',
  /** A usage anomaly flagged by the metering function (and what it did about it). */
  usageAnomaly: 'usage.anomaly',
  /** A client's anomaly response policy set (`PUT /admin/clients/{clientId}/anomaly-policy`). */
  anomalyPolicy: 'client.anomaly_policy',
} as const;
export type AuditAction = (typeof AuditAction)[keyof typeof AuditAction];

export type AuditOutcome = 'success' | 'failure' | 'noop';

export interface AuditEvent {
  readonly action: AuditAction;
  readonly outcome: AuditOutcome;
  /** Machine reason for a failure or no-op. */
  readonly reason?: string;
  readonly keyId?: string;
  readonly clientId?: string;
  readonly jti?: string;
  readonly kid?: string;
  readonly scope?: string;
  readonly exp?: number;
  readonly rolledTo?: string;
  /** Limits as set, e.g. `rate=5 burst=5 quota=100/DAY`. */
  readonly limits?: string;
  /** Leak reports: who reported (`github`, `public`), and where the key was found (a public URL, GitHub's `source`). */
  readonly foundBy?: string;
  readonly url?: string;
  readonly source?: string;
  /** `revoke` or `notify`, as set. */
  readonly leakResponse?: string;
  /** The service a grant or a token is for (docs/services.md). */
  readonly service?: string;
  /** An anomaly: the rule, the minute (epoch s), baseline and observed values, the response. */
  readonly anomaly?: string;
}

export interface AuditLog {
  record(event: AuditEvent): void;
  /** A swallowed side failure worth an operator's look (e.g. a `lastUsedAt` write). */
  warn(message: string, details: Readonly<Record<string, string | number | undefined>>): void;
}
