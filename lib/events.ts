/**
 * The one way a Tollgate function may put events on a bus: only entries of Tollgate's own
 * source, so a role cannot inject other sources' events, on which other rules would act.
 * `events:source` is multivalued (one value per entry of the PutEvents request, Service
 * Authorization Reference), so a plain StringEquals never matches it: every entry must
 * carry our source, and the key must be present ({@link onlyValues}). AWS's own managed
 * policies guard it the same way; the IAM evaluation test (test/infra/iam-evaluation.test.ts)
 * proves the statement allows our events and refuses others.
 */
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { HygieneEvent } from '../common/names';
import { onlyValues } from './conditions';

export function putOwnEventsStatement(eventBusArn: string): PolicyStatement {
  return new PolicyStatement({
    actions: ['events:PutEvents'],
    resources: [eventBusArn],
    conditions: onlyValues('events:source', [HygieneEvent.source]),
  });
}
