/**
 * API Gateway's authorizer result cache, as local mode emulates it: a result is stored
 * under the values of the authorizer's identity sources (`AUTHORIZER_IDENTITY_SOURCES`,
 * the same list the CDK authorizer declares) and reused for any later request with the
 * same values until the TTL passes or the stage's cache is flushed. The gateway then
 * evaluates the cached policy against the new request's method ARN, as API Gateway does.
 *
 * A request missing an identity source never reaches the authorizer (API Gateway answers
 * 401 itself), so {@link cacheKey} tells the gateway that too.
 */
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { AUTHORIZER_IDENTITY_SOURCES } from '../common/gateway-contract';
import { headerValue, LOCAL_API, type IncomingCall } from './events';

interface Entry {
  readonly result: APIGatewayAuthorizerResult;
  readonly expiresAtMs: number;
}

/** The value of one identity source for a request, as API Gateway reads it. */
function sourceValue(source: (typeof AUTHORIZER_IDENTITY_SOURCES)[number], call: IncomingCall): string | undefined {
  if (source.kind === 'header') return headerValue(call, source.name);
  // `$context.httpMethod` and `$context.path` (the path with the stage in front).
  return source.name === 'httpMethod' ? call.method : `/${LOCAL_API.stage}${call.path}`;
}

/**
 * The cache key of a request: every identity source's value, in order. Undefined when one
 * is missing or empty. JSON keeps the values apart whatever characters they hold.
 */
export function cacheKey(call: IncomingCall): string | undefined {
  const values: string[] = [];
  for (const source of AUTHORIZER_IDENTITY_SOURCES) {
    const value = sourceValue(source, call);
    if (value === undefined || value === '') return undefined;
    values.push(value);
  }
  return JSON.stringify(values);
}

export class AuthorizerResultCache {
  private readonly entries = new Map<string, Entry>();

  /** `ttlSeconds` 0 caches nothing, as `resultsCacheTtl: 0` does. */
  constructor(
    readonly ttlSeconds: number,
    private readonly now: () => number,
  ) {}

  get(key: string): APIGatewayAuthorizerResult | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs > this.now()) return entry.result;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, result: APIGatewayAuthorizerResult): void {
    if (this.ttlSeconds > 0) this.entries.set(key, { result, expiresAtMs: this.now() + this.ttlSeconds * 1000 });
  }

  /** What FlushStageAuthorizersCache does for the stage. */
  flush(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
