/**
 * Contributor Insights rules over the stage's JSON access log (`common/access-log.ts`): the
 * observability's top throttled clients and usage metering's top clients.
 */
import { Stack } from 'aws-cdk-lib';
import { CfnInsightRule } from 'aws-cdk-lib/aws-cloudwatch';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { ACCESS_LOG_FIELDS } from '../common/access-log';
import { NameLimit, tollgateName } from './physical-names';

/** A field of the access log's JSON line, by its name in `ACCESS_LOG_FIELDS`. */
export function fieldName(name: keyof typeof ACCESS_LOG_FIELDS): string {
  return name;
}

/**
 * A Contributor Insights rule that counts the access log's lines by `contribution` (its keys
 * and filters, fields as `$.<name>`), named for the Tollgate `<prefix>-<suffix>`.
 */
export function accessLogInsightRule(
  scope: Construct,
  id: string,
  suffix: string,
  logGroup: ILogGroup,
  contribution: { readonly Keys: readonly string[]; readonly Filters: readonly Readonly<Record<string, unknown>>[] },
): CfnInsightRule {
  const body = {
    Schema: { Name: 'CloudWatchLogRule', Version: 1 },
    LogGroupNames: [logGroup.logGroupName],
    LogFormat: 'JSON',
    Contribution: contribution,
    AggregateOn: 'Count',
  };
  return new CfnInsightRule(scope, id, {
    ruleName: tollgateName(scope, suffix, NameLimit.insightRule),
    ruleState: 'ENABLED',
    ruleBody: Stack.of(scope).toJsonString(body),
  });
}
