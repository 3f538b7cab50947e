/**
 * Reading a request at the local gateway: its body within API Gateway's payload limit,
 * the resource path it matches, the admin token's digest and the authorizer context as strings.
 */
import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';

/** API Gateway's payload limit for REST APIs. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** Matches an API Gateway resource path with `{name}` segments; returns the path parameters. */
export function matchResource(resource: string, path: string): Record<string, string> | null {
  const want = resource.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const segment = want[i]!;
    const actual = got[i]!;
    if (segment.startsWith('{') && segment.endsWith('}')) {
      if (actual === '') return null;
      params[segment.slice(1, -1)] = decodeURIComponent(actual);
    } else if (segment !== actual) {
      return null;
    }
  }
  return params;
}

export function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function stringContext(context: APIGatewayAuthorizerResult['context']): Record<string, string> {
  return Object.fromEntries(Object.entries(context ?? {}).map(([key, value]) => [key, String(value)]));
}

export async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
