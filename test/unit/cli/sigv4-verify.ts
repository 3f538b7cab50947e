/**
 * An independent SigV4 verifier (AWS Signature Version 4, "Create a signed AWS API
 * request"), written from the specification with node:crypto so the test does not check
 * the signer with itself: rebuild the canonical request from what arrived on the wire,
 * derive the signing key from the secret, and compare signatures.
 */
import { createHash, createHmac } from 'node:crypto';
import type { RecordedRequest } from '../../support/http-stub';

export interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  const match = AUTHORIZATION.exec(header ?? '');
  if (!match) return undefined;
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match as unknown as string[];
  return { accessKeyId: accessKeyId!, date: date!, region: region!, service: service!, signedHeaders: signedHeaders!.split(';'), signature: signature! };
}

/** RFC 3986 unreserved characters stay; everything else is %XX (uppercase). */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const sha256Hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

export function canonicalRequest(request: RecordedRequest, signedHeaders: readonly string[], body: string = request.body): string {
  // Every service but S3 encodes the (already encoded) path segments once more.
  const path = request.pathname.split('/').map(uriEncode).join('/');
  const query = [...request.query]
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const headers = signedHeaders
    .map(
      (name) =>
        `${name}:${String(request.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  return [request.method, path, query, headers, signedHeaders.join(';'), sha256Hex(body)].join('\n');
}

export function expectedSignature(request: RecordedRequest, secretAccessKey: string, options: { readonly body?: string } = {}): string {
  const auth = parseAuthorization(request.headers.authorization);
  if (!auth) throw new Error('no SigV4 Authorization header');
  const amzDate = String(request.headers['x-amz-date']);
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest(request, auth.signedHeaders, options.body))].join('\n');
  const signingKey = [auth.date, auth.region, auth.service, 'aws4_request'].reduce<Buffer | string>((key, part) => hmac(key, part), `AWS4${secretAccessKey}`);
  return hmac(signingKey, stringToSign).toString('hex');
}
