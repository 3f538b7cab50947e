/**
 * Which upstream service a request is for, from its method ARN: the service whose path
 * prefix the path lies under, compared literally and case-sensitively, as API Gateway
 * matches the prefix's resources before the authorizer runs. Each service brings its own
 * audience and route rules (`common/services.ts`), so a token minted for one service is
 * refused on another, and each service's rules see the path below its prefix.
 */
import type { ResolvedService } from '../../../common/services';
import { RoutePolicy, type MethodArnParts } from './route-policy';

export interface RoutedService {
  /** Position in the configuration: per-token state is kept by it. */
  readonly index: number;
  readonly name: string;
  readonly audience: string;
  readonly routes: RoutePolicy;
}

interface CompiledService extends RoutedService {
  /** The prefix without its leading `/` (empty for `/`), as it stands in a method ARN. */
  readonly literal: string;
}

export class ServiceRouter {
  readonly services: readonly RoutedService[];
  /** Every service's audience: what the verifier accepts before the service is known. */
  readonly audiences: readonly string[];
  private readonly compiled: readonly CompiledService[];

  constructor(services: readonly ResolvedService[]) {
    this.compiled = services.map((s, index) => ({
      index,
      name: s.name,
      audience: s.audience,
      routes: new RoutePolicy(s.routes, s.unmatchedRoutes),
      literal: s.pathPrefix.slice(1),
    }));
    this.services = this.compiled;
    this.audiences = services.map((s) => s.audience);
  }

  /**
   * The service of the request in `arn`; undefined when it lies under no service's prefix.
   * Runs on every request, cached decisions included, so it allocates nothing: the path
   * below the prefix is found by {@link pathStart} once the service is known.
   */
  resolve(arn: string, parts: MethodArnParts): RoutedService | undefined {
    const start = parts.pathStart;
    for (const service of this.compiled) {
      const literal = service.literal;
      if (literal === '') return service;
      if (!arn.startsWith(literal, start)) continue;
      const end = start + literal.length;
      if (end === arn.length || arn.charCodeAt(end) === 0x2f /* / */) return service;
    }
    return undefined;
  }

  /** Where the path below the prefix of `service`, which {@link resolve} found for `arn`, starts (the ARN's length for the prefix itself). */
  pathStart(service: RoutedService, arn: string, parts: MethodArnParts): number {
    const length = this.compiled[service.index]!.literal.length;
    if (length === 0) return parts.pathStart;
    const end = parts.pathStart + length;
    // `/billing/`: the path below the prefix starts with its `/`, an empty segment the rules refuse as ambiguous.
    return end + 1 < arn.length ? end + 1 : end;
  }
}
