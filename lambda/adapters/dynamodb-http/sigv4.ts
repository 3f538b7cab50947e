/**
 * AWS Signature Version 4 for a JSON-protocol POST (DynamoDB's `x-amz-json-1.0`), with
 * `node:crypto` HMAC-SHA256: the steps of the SigV4 reference ("Create a signed AWS API
 * request", AWS IAM User Guide) and nothing else, so the authorizer signs its two read
 * calls without loading the SDK's signer stack at cold start. Pinned against
 * `@smithy/signature-v4` (the SDK's own signer) by test/unit/authorizer/sigv4.test.ts.
 */
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials (Lambda's execution role) carry a session token. */
  readonly sessionToken?: string;
}

export interface SigningScope {
  readonly region: string;
  readonly service: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';

/** `20261206T203015Z` and `20261206` for an epoch-millisecond time. */
export function amzDate(epochMs: number): { readonly dateTime: string; readonly date: string } {
  const iso = new Date(epochMs).toISOString();
  const dateTime = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return { dateTime, date: dateTime.slice(0, 8) };
}

export class SigV4Signer {
  /** The derived signing key depends on the date only: kept for the day it was derived for. */
  private keyDate = '';
  private key: Buffer = Buffer.alloc(0);

  constructor(
    private readonly credentials: AwsCredentials,
    private readonly scope: SigningScope,
  ) {}

  /**
   * The headers to send for a POST of `body` to `/` on `host`: the given `headers`
   * (lower-case names), `host`, `x-amz-date`, `x-amz-content-sha256` (as the SDK's signer
   * sends it), the session token if any, and `authorization`. Every header returned but
   * `authorization` is signed.
   */
  sign(host: string, headers: Readonly<Record<string, string>>, body: string, epochMs: number): Record<string, string> {
    const { dateTime, date } = amzDate(epochMs);
    const payloadHash = sha256Hex(body);
    const signed: Record<string, string> = { ...headers, host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': dateTime };
    if (this.credentials.sessionToken) signed['x-amz-security-token'] = this.credentials.sessionToken;
    const names = Object.keys(signed).sort();
    // Header values are trimmed and inner runs of spaces collapsed (SigV4 canonical headers).
    const canonicalHeaders = names.map((name) => `${name}:${signed[name]!.trim().replace(/\s+/g, ' ')}\n`).join('');
    const signedHeaders = names.join(';');
    const canonicalRequest = `POST\n/\n\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
    const credentialScope = `${date}/${this.scope.region}/${this.scope.service}/aws4_request`;
    const stringToSign = `${ALGORITHM}\n${dateTime}\n${credentialScope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', this.signingKey(date)).update(stringToSign, 'utf8').digest('hex');
    signed.authorization = `${ALGORITHM} Credential=${this.credentials.accessKeyId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return signed;
  }

  private signingKey(date: string): Buffer {
    if (date !== this.keyDate) {
      const kDate = hmac(`AWS4${this.credentials.secretAccessKey}`, date);
      const kRegion = hmac(kDate, this.scope.region);
      const kService = hmac(kRegion, this.scope.service);
      this.key = hmac(kService, 'aws4_request');
      this.keyDate = date;
    }
    return this.key;
  }
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data, 'utf8').digest('hex');
}
