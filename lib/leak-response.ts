/**
 * Leak response: the function behind `POST /secret-scanning/github` and `POST /leaks/revoke`
 * (docs/leaks.md), with a role of its own that can read an API key by id, write the
 * revocation (or the `notify` marker) and nothing else of the key, read a client's
 * `leakResponse`, and put Tollgate's events on the bus; and, when `leakRevokeRateLimitPerIp`
 * is set, a regional web ACL whose rate-based rule limits each source IP on the public
 * revocation endpoint.
 */
import { Duration } from 'aws-cdk-lib';
import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { putOwnEventsStatement } from './events';
import { Env } from '../common/names';
import { LeakPath } from '../common/leaks';
import type { TollgateTables } from './data';
import { TollgateFunction } from './function';

export interface LeakResponseProps {
  readonly tables: TollgateTables;
  /** Settings the function reads (`functionSettings(config).leaks`). */
  readonly environment: Readonly<Record<string, string>>;
  /** Where `KeyLeaked` events go: the bus the rotation function's hygiene events use. */
  readonly eventBus: IEventBus;
}

export class LeakResponse extends Construct {
  readonly function: TollgateFunction;

  constructor(scope: Construct, id: string, props: LeakResponseProps) {
    super(scope, id);
    this.function = new TollgateFunction(this, 'Leaks', {
      name: 'leaks',
      tables: props.tables,
      environment: { ...props.environment, [Env.eventBusName]: props.eventBus.eventBusName },
      // A GitHub report may hold many matches, each a read and a write (16 at a time), plus one
      // key-list fetch bounded at 3 s; API Gateway gives up after 29 s anyway.
      timeout: Duration.seconds(29),
    });
    // Only events of Tollgate's own source, as the rotation function's hygiene events.
    this.function.role.addToPolicy(putOwnEventsStatement(props.eventBus.eventBusArn));
  }
}

export interface LeakRateLimitProps {
  /** The stage to protect (a stage has at most one web ACL: the deployment's own `wafWebAclArn` excludes this). */
  readonly stage: Stage;
  /** Requests per source IP per evaluation window that AWS WAF lets through to `POST /leaks/revoke`. */
  readonly limit: number;
  /** @default 300 seconds (WAF's rate-based rules evaluate 60, 120, 300 or 600 s windows) */
  readonly windowSeconds?: 60 | 120 | 300 | 600;
}

/**
 * A regional web ACL that allows everything except a source IP over `limit` requests to the
 * public revocation endpoint in the window (AWS WAF rate-based rule, aggregated by IP and
 * scoped down to the path), associated with the stage.
 */
/** The URI paths the per-IP rule counts: `/leaks/revoke` at the end, with any trailing slashes. */
export const LEAK_REVOKE_PATH_PATTERN = `${LeakPath.revoke}/*$`;

export class LeakRateLimit extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: LeakRateLimitProps) {
    super(scope, id);
    const metric = (name: string) => ({ cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: name });
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: 'Tollgate: per-source-IP rate limit of POST /leaks/revoke',
      defaultAction: { allow: {} },
      visibilityConfig: metric('tollgate-web-acl'),
      rules: [
        {
          name: 'LeakRevokePerSourceIp',
          priority: 0,
          action: { block: {} },
          visibilityConfig: metric('tollgate-leak-revoke-per-ip'),
          statement: {
            rateBasedStatement: {
              limit: props.limit,
              aggregateKeyType: 'IP',
              evaluationWindowSec: props.windowSeconds ?? 300,
              // The path API Gateway receives includes the stage (/{stage}/leaks/revoke), and
              // a REST API routes a trailing slash to the same resource: the rule must count
              // /leaks/revoke/ too, and a percent-encoded spelling of the same path.
              scopeDownStatement: {
                regexMatchStatement: {
                  fieldToMatch: { uriPath: {} },
                  regexString: LEAK_REVOKE_PATH_PATTERN,
                  textTransformations: [{ priority: 0, type: 'URL_DECODE' }],
                },
              },
            },
          },
        },
      ],
    });
    new CfnWebACLAssociation(this, 'Association', { resourceArn: props.stage.stageArn, webAclArn: this.webAcl.attrArn });
  }
}
