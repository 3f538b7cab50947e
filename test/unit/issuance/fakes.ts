/** In-memory fakes of the issuance ports (our own interfaces), with call counts. */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { CredentialStatus } from '../../../common/credential-items';
import { SigningKeyState, type SigningKeyRecord } from '../../../common/signing-key-items';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import type { AuditEvent, AuditLog } from '../../../lambda/core/shared/audit';
import type { ApiKeyReader, ClientReader, StoredApiKey, StoredClient, TokenRecord, TokenWriter } from '../../../lambda/core/credentials/credentials';
import type { RingSource } from '../../../lambda/core/issuance/issuing-key';
import type { Signer } from '../../../lambda/core/issuance/jws';

export class FakeApiKeys implements ApiKeyReader {
  readonly keys = new Map<string, StoredApiKey>();
  gets = 0;
  touches: Array<{ keyId: string; now: number }> = [];
  touchError: Error | undefined;

  async get(keyId: string) {
    this.gets += 1;
    return this.keys.get(keyId);
  }

  async touchLastUsed(keyId: string, now: number) {
    if (this.touchError) throw this.touchError;
    this.touches.push({ keyId, now });
  }
}

export class FakeClients implements ClientReader {
  readonly clients = new Map<string, StoredClient>();
  gets = 0;

  async get(clientId: string) {
    this.gets += 1;
    return this.clients.get(clientId);
  }
}

export class FakeTokens implements TokenWriter {
  readonly records = new Map<string, TokenRecord>();
  /** Every jti looked up by `revokeOwned`. */
  readonly revokeLookups: string[] = [];

  async put(record: TokenRecord) {
    this.records.set(record.jti, record);
  }

  async revokeOwned(jti: string, clientId: string, now: number) {
    this.revokeLookups.push(jti);
    const record = this.records.get(jti);
    if (!record || record.clientId !== clientId || record.status !== CredentialStatus.Active) return false;
    this.records.set(jti, { ...record, status: CredentialStatus.Revoked, revokedAt: now });
    return true;
  }
}

export class FakeAudit implements AuditLog {
  readonly events: AuditEvent[] = [];
  readonly warnings: string[] = [];
  record(event: AuditEvent) {
    this.events.push(event);
  }
  warn(message: string) {
    this.warnings.push(message);
  }
}

export class FakeRing implements RingSource {
  loads = 0;
  constructor(public records: SigningKeyRecord[]) {}
  async load() {
    this.loads += 1;
    return this.records;
  }
}

/** A real P-256 key pair standing in for a KMS key: signs the way KMS does (DER). */
export function ecSigningKey(
  kid = 'kid-1',
  state: SigningKeyRecord['state'] = SigningKeyState.Active,
): {
  record: SigningKeyRecord;
  privateKey: KeyObject;
  publicKey: KeyObject;
  signer: Signer;
} {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const record: SigningKeyRecord = {
    kid,
    state,
    alg: 'ES256',
    keySpec: 'ECC_NIST_P256',
    kmsKeyArn: `arn:aws:kms:us-east-1:111122223333:key/${kid}`,
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    createdAt: 1_000,
    activatedAt: 1_000,
    version: 1,
  };
  const signer: Signer = { sign: async (_key, _alg, message) => sign('sha256', message, { key: privateKey, dsaEncoding: 'der' }) };
  return { record, privateKey, publicKey, signer };
}

export function storedKey(overrides: Partial<StoredApiKey> = {}): { apiKey: string; key: StoredApiKey } {
  const generated = generateApiKey();
  return {
    apiKey: generated.apiKey,
    key: {
      keyId: generated.keyId,
      keyHash: generated.keyHash,
      clientId: 'acme',
      scopes: ['orders:read', 'orders:write'],
      status: CredentialStatus.Active,
      createdAt: 1_000,
      lastUsedAt: 1_000,
      ...overrides,
    },
  };
}

export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export function form(entries: Record<string, string>): ReadonlyMap<string, string> {
  return new Map(Object.entries(entries));
}
