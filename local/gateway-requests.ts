/**
 * Reading a request at the local gateway: its body within API Gateway's payload limit,
 * the Tollgate route and resource path it matches, the admin token's digest and the
 * authorizer context as strings.
 */
import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { PAYLOAD_MAX_BYTES } from '../common/gateway-responses';

/** Whether a resource path segment is a path parameter (`{name}`). */
const isParameter = (segment: string) => segment.startsWith('{') && segment.endsWith('}');

/**
 * The route of `routes` (Tollgate's own, `common/api-routes.ts`) that serves a request, as API
 * Gateway REST resolves it: on the resource and method as one pair. Only a resource that has
 * the request's method can serve it; of those whose template matches the path, the most
 * specific wins (from the left, a literal segment before a `{name}` one). A resource that
 * matches the path but lacks the method does not stop the search: undefined sends the request
 * on to the service's upstream resources (`ANY`, less specific than any of these), and under
 * no service to MISSING_AUTHENTICATION_TOKEN.
 */
export function routeOf<R extends { readonly method: string; readonly resource: string }>(routes: readonly R[], method: string, path: string): R | undefined {
  const serving = routes.filter((route) => route.method === method && rawParameters(route.resource, path) !== undefined);
  return serving.sort((a, b) => bySpecificity(a.resource, b.resource))[0];
}

/** The `{name}` segments of `path` under the template `resource`, as sent; undefined when it does not match. */
function rawParameters(resource: string, path: string): Record<string, string> | undefined {
  const want = resource.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const segment = want[i]!;
    const actual = got[i]!;
    if (isParameter(segment)) {
      if (actual === '') return undefined;
      params[segment.slice(1, -1)] = actual;
    } else if (segment !== actual) {
      return undefined;
    }
  }
  return params;
}

/** Negative when `a` is the more specific of two templates of the same length. */
function bySpecificity(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < x.length; i += 1) {
    const [px, py] = [isParameter(x[i]!), isParameter(y[i] ?? '')];
    if (px !== py) return px ? 1 : -1;
  }
  return 0;
}

/** Matches an API Gateway resource path with `{name}` segments; returns the path parameters, decoded. */
export function matchResource(resource: string, path: string): Record<string, string> | null {
  const raw = rawParameters(resource, path);
  return raw === undefined ? null : Object.fromEntries(Object.entries(raw).map(([name, value]) => [name, decodeURIComponent(value)]));
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
    if (size > PAYLOAD_MAX_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
