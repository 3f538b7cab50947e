/**
 * The Lambda authorizer in front of every upstream route: a REQUEST authorizer whose
 * identity sources are the Authorization header, the method and the path
 * (`AUTHORIZER_IDENTITY_SOURCES`). API Gateway answers a request without the header with
 * 401 itself (no invocation), and caches each decision for `authorizerCacheTtlSeconds`
 * under all three values, so a cached policy is only reused for the request it was made
 * for (the fan-out flushes that cache on every revocation).
 */
import { Duration } from 'aws-cdk-lib';
import { IdentitySource, RequestAuthorizer } from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';
import { AUTHORIZER_IDENTITY_SOURCES } from '../common/gateway-contract';
import type { TollgateTables } from './data';
import { TollgateFunction } from './function';

export interface TokenAuthorizerProps {
  readonly tables: TollgateTables;
  readonly environment: Readonly<Record<string, string>>;
  /** 0 disables API Gateway's result cache. */
  readonly cacheTtlSeconds: number;
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
    });
    this.authorizer = new RequestAuthorizer(this, 'Request', {
      handler: this.function.fn,
      identitySources: AUTHORIZER_IDENTITY_SOURCES.map((source) =>
        source.kind === 'header' ? IdentitySource.header(source.name) : IdentitySource.context(source.name),
      ),
      resultsCacheTtl: Duration.seconds(props.cacheTtlSeconds),
    });
  }
}
