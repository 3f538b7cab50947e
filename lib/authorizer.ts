/**
 * The Lambda authorizer in front of every upstream route: a REQUEST authorizer whose
 * identity source is the Authorization header, so API Gateway answers a request without
 * one with 401 itself (no invocation), and caches each token's decision for
 * `authorizerCacheTtlSeconds` (the fan-out flushes that cache on every revocation).
 */
import { Duration } from 'aws-cdk-lib';
import { IdentitySource, RequestAuthorizer } from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';
import type { TollgateTables } from './data';
import { TollgateFunction } from './function';

export interface TokenAuthorizerProps {
  readonly tables: TollgateTables;
  readonly environment: Readonly<Record<string, string>>;
  /** 0 disables API Gateway's result cache. */
  readonly cacheTtlSeconds: number;
  /** @see TollgateFunctionProps.entryRoot */
  readonly entryRoot?: string;
}

export class TokenAuthorizer extends Construct {
  readonly function: TollgateFunction;
  readonly authorizer: RequestAuthorizer;

  constructor(scope: Construct, id: string, props: TokenAuthorizerProps) {
    super(scope, id);
    this.function = new TollgateFunction(this, 'Authorizer', {
      name: 'authorizer',
      tables: props.tables,
      environment: props.environment,
      // On every uncached request's path: more memory is more CPU for signature checks.
      memorySize: 1024,
      ...(props.entryRoot && { entryRoot: props.entryRoot }),
    });
    this.authorizer = new RequestAuthorizer(this, 'Request', {
      handler: this.function.fn,
      identitySources: [IdentitySource.header('Authorization')],
      resultsCacheTtl: Duration.seconds(props.cacheTtlSeconds),
    });
  }
}
