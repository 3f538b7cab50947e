/**
 * GitHub's side of secret scanning, for tests of the leak function: a signing key pair, the
 * key list the function fetches, and a report signed as GitHub signs it (ECDSA P-256 over
 * the exact body, DER, base64), as API Gateway hands it to the function.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { GitHubHeader, LeakPath } from '../../common/leaks';
import { apiEvent } from './api-events';

export interface GitHubSigner {
  /** What the function's key-list fetch answers: this signer's key, under `keyIdentifier`. */
  keyList(): Promise<{ public_keys: { key_identifier: string; key: string }[] }>;
  /** A `POST /secret-scanning/github` event carrying `matches`, signed with this signer's key. */
  signedReport(matches: unknown[]): APIGatewayProxyEvent;
}

export function githubSigner(keyIdentifier = 'k1'): GitHubSigner {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    keyList: async () => ({ public_keys: [{ key_identifier: keyIdentifier, key: pem }] }),
    signedReport(matches) {
      const body = JSON.stringify(matches);
      const signature = sign('sha256', Buffer.from(body), { key: privateKey, dsaEncoding: 'der' }).toString('base64');
      return apiEvent({
        method: 'POST',
        resource: LeakPath.github,
        headers: { 'Content-Type': 'application/json', [GitHubHeader.keyIdentifier]: keyIdentifier, [GitHubHeader.signature]: signature },
        body,
      });
    },
  };
}
