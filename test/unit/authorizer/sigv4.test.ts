/**
 * Our SigV4 signer against the AWS SDK's own (`@smithy/signature-v4` with
 * `@aws-crypto/sha256-js`): for any credentials, Region, body, time and host, the headers
 * we send carry the Authorization header the SDK would compute for the same request.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { amzDate, SigV4Signer, type AwsCredentials } from '../../../lambda/adapters/dynamodb-http/sigv4';

const TARGET = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.Query' };

async function sdkAuthorization(credentials: AwsCredentials, region: string, host: string, body: string, epochMs: number): Promise<string> {
  const signer = new SignatureV4({ service: 'dynamodb', region, credentials, sha256: Sha256 });
  const request = new HttpRequest({ method: 'POST', protocol: 'https:', hostname: host, path: '/', headers: { ...TARGET, host }, body });
  const signed = await signer.sign(request, { signingDate: new Date(epochMs) });
  return signed.headers.authorization!;
}

const token = fc.stringMatching(/^[A-Za-z0-9+/=]{1,64}$/);
const credentials = fc.record({
  accessKeyId: fc.stringMatching(/^[A-Z0-9]{16,20}$/),
  secretAccessKey: token,
  sessionToken: fc.option(token, { nil: undefined }),
});

describe('SigV4Signer', () => {
  it('computes the Authorization header the SDK computes, for any credentials, Region, body and time', async () => {
    await fc.assert(
      fc.asyncProperty(
        credentials,
        fc.constantFrom('us-east-1', 'eu-west-1', 'cn-north-1', 'ap-southeast-2'),
        fc.constantFrom('dynamodb.us-east-1.amazonaws.com', '127.0.0.1:8000'),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }),
        async (creds, region, host, body, epochMs) => {
          const ours = new SigV4Signer(creds, { region, service: 'dynamodb' }).sign(host, TARGET, body, epochMs);
          expect(ours.authorization).toBe(await sdkAuthorization(creds, region, host, body, epochMs));
          expect(ours['x-amz-date']).toBe(amzDate(epochMs).dateTime);
          expect(ours['x-amz-security-token']).toBe(creds.sessionToken);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('derives a new signing key when the date changes', async () => {
    const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
    const signer = new SigV4Signer(creds, { region: 'us-east-1', service: 'dynamodb' });
    const day = Date.UTC(2026, 11, 6, 23, 59, 59);
    for (const epochMs of [day, day + 2000, day - 86_400_000]) {
      expect(signer.sign('h', TARGET, '{}', epochMs).authorization).toBe(await sdkAuthorization(creds, 'us-east-1', 'h', '{}', epochMs));
    }
  });
});
