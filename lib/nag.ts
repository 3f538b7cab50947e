/**
 * cdk-nag acknowledgements name a finding by the resource as cdk-nag renders it: a value
 * synth knows is written as it is (`us-east-1`, `aws`), one it does not as the pseudo
 * parameter (`<AWS::Region>`). The CDK CLI sets the region (and, with credentials, the
 * account) of the stacks, so an acknowledgement must be built from the stack's own values.
 */
import { Token, type Stack } from 'aws-cdk-lib';

/** How cdk-nag writes one of the stack's environment values in a finding id. */
function rendered(value: string, pseudo: 'AWS::Partition' | 'AWS::Region' | 'AWS::AccountId'): string {
  return Token.isUnresolved(value) ? `<${pseudo}>` : value;
}

/**
 * The finding id of an ARN with this stack's partition and, for each of `region` and
 * `account` that is true, its region and account: `arn:{p}:{service}:{r}:{a}:{resource}`.
 */
export function findingArn(
  stack: Stack,
  arn: { readonly service: string; readonly region: boolean; readonly account: boolean; readonly resource: string },
): string {
  const region = arn.region ? rendered(stack.region, 'AWS::Region') : '';
  const account = arn.account ? rendered(stack.account, 'AWS::AccountId') : '';
  return `arn:${rendered(stack.partition, 'AWS::Partition')}:${arn.service}:${region}:${account}:${arn.resource}`;
}
