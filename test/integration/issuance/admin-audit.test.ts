/**
 * Admin audit lines name the operator: the IAM principal API Gateway authenticated, and the
 * request's id in the access log, so every key created or client revoked is attributable
 * (docs/api.md#audit-log). On DynamoDB Local through the admin function as Lambda wires it.
 */
import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { adminCall, OPERATOR, type Signer } from '../../support/api-events';
import { captureLogs, harness, logLines, secrets } from './harness';

captureLogs();

interface AuditLine {
  readonly audit: Record<string, unknown>;
  readonly operator?: Record<string, unknown>;
}

function auditLinesSince(index: number): AuditLine[] {
  return logLines
    .slice(index)
    .filter((line) => line.includes('"audit"'))
    .map((line) => JSON.parse(line) as AuditLine);
}

const BOB: Signer = {
  userArn: 'arn:aws:sts::123456789012:assumed-role/tollgate-operator/bob',
  accountId: '123456789012',
  caller: 'AROAEXAMPLEOPERATOR01:bob',
};

function createKeyAs(signer: Signer, clientId: string): APIGatewayProxyEvent {
  return adminCall('POST', '/admin/clients/{clientId}/keys', { clientId }, { scopes: ['orders:read'] }, undefined, signer);
}

describe('admin audit lines', () => {
  it('name the signing principal, its account, source address and the access log request id', async () => {
    const h = await harness();
    const before = logLines.length;
    const event = createKeyAs(OPERATOR, 'acme');
    const response = await h.admin(event);
    expect(response.statusCode).toBe(201);
    const created = JSON.parse(response.body) as { apiKey: string; key: { keyId: string } };
    secrets.add(created.apiKey);

    expect(auditLinesSince(before)).toEqual([
      expect.objectContaining({
        audit: expect.objectContaining({ action: 'key.create', outcome: 'success', keyId: created.key.keyId }),
        operator: {
          via: 'apigateway',
          arn: OPERATOR.userArn,
          accountId: OPERATOR.accountId,
          caller: OPERATOR.caller,
          sourceIp: event.requestContext.identity.sourceIp,
          requestId: event.requestContext.extendedRequestId,
        },
      }),
    ]);
  });

  it('name each request its own operator when requests overlap in one instance (local mode serves them concurrently)', async () => {
    const h = await harness();
    const before = logLines.length;
    const answers = await Promise.all([h.admin(createKeyAs(OPERATOR, 'acme')), h.admin(createKeyAs(BOB, 'globex')), h.admin(createKeyAs(OPERATOR, 'initech'))]);
    for (const answer of answers) secrets.add((JSON.parse(answer.body) as { apiKey: string }).apiKey);

    const byClient = Object.fromEntries(auditLinesSince(before).map((line) => [line.audit.clientId, line.operator?.arn]));
    expect(byClient).toEqual({ acme: OPERATOR.userArn, globex: BOB.userArn, initech: OPERATOR.userArn });
  });

  it('say an event without API Gateway request context was a direct invoke, naming nobody', async () => {
    const h = await harness();
    const { key } = await h.createKey('acme');
    const { requestContext: _, ...direct } = adminCall('DELETE', '/admin/keys/{keyId}', { keyId: String(key.keyId) });
    const before = logLines.length;
    expect((await h.admin(direct as APIGatewayProxyEvent)).statusCode).toBe(204);

    expect(auditLinesSince(before)).toEqual([
      expect.objectContaining({
        audit: expect.objectContaining({ action: 'key.revoke', outcome: 'success' }),
        operator: { via: 'direct-invoke', arn: null, accountId: null, caller: null, sourceIp: null, requestId: null },
      }),
    ]);
  });
});
