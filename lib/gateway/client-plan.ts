/**
 * The default per-client usage plan: clients' usage keys (the authorizer's
 * `usageIdentifierKey`) are registered with it by the admin function, and the fallback usage
 * key in it serves every client without its own. What the admin function may do with plans
 * and keys is in `lib/usage-plans.ts`.
 */
import { Stack, Tags } from 'aws-cdk-lib';
import { ApiKey, type RestApi, type ThrottleSettings, type UsagePlan } from 'aws-cdk-lib/aws-apigateway';
import type { Construct } from 'constructs';
import { UsageNaming } from '../../common/names';
import { KMS_TAG_APPLICATION_VALUE } from '../../common/tokens';
import { NameLimit, tollgateName } from '../physical-names';
import { fallbackUsageKeyValue } from '../usage-plans';

export interface ClientPlan {
  readonly plan: UsagePlan;
  readonly fallbackKey: ApiKey;
  /** The fallback key's value, known at synth (see `fallbackUsageKeyValue`). */
  readonly fallbackKeyValue: string;
}

/**
 * The default plan's name, by which the admin function finds it (its id would be a dependency
 * cycle); `gateway` is the construct the plan is made in, and the one value serves both.
 */
export function clientPlanName(gateway: Construct): string {
  return tollgateName(gateway, 'clients', NameLimit.usagePlan);
}

/**
 * The value of the deployment's `tollgate:deployment` tag (`UsageNaming.deploymentTag`): the
 * default plan's name, the per-deployment identity of its physical names that the admin
 * function already reads (`TOLLGATE_DEFAULT_USAGE_PLAN_NAME`) and that no other Tollgate of
 * the account and Region shares. One source, so the tags the function sends and the values
 * its role requires cannot drift apart.
 */
export const usageDeploymentTagValue = clientPlanName;

/** The plan on the API's stage, and the fallback key (a child of `scope`) in it. */
export function addClientPlan(scope: Construct, api: RestApi, throttle: ThrottleSettings): ClientPlan {
  const plan = api.addUsagePlan('ClientPlan', {
    name: clientPlanName(scope),
    description: 'Tollgate: default per-client throttle; client usage keys are registered here',
    throttle,
    apiStages: [{ api, stage: api.deploymentStage }],
  });
  // The admin function may bind and unbind keys only in plans of its own deployment (lib/usage-plans.ts).
  Tags.of(plan).add(UsageNaming.applicationTag, KMS_TAG_APPLICATION_VALUE);
  const deployment = usageDeploymentTagValue(scope);
  Tags.of(plan).add(UsageNaming.deploymentTag, deployment);
  const fallbackKeyId = 'FallbackUsageKey';
  const fallbackKeyValue = fallbackUsageKeyValue(Stack.of(scope).stackName, `${scope.node.path}/${fallbackKeyId}`);
  // Not tagged as Tollgate's; the admin function's explicit Denies (guardStackUsageResources) keep it from deleting or unbinding it.
  const fallbackKey = new ApiKey(scope, fallbackKeyId, {
    apiKeyName: tollgateName(scope, 'fallback-usage-key', NameLimit.apiKey),
    description: 'Tollgate: usage key of clients without their own (registration failed or pending); they share its bucket',
    value: fallbackKeyValue,
    enabled: true,
  });
  // The deployment tag says whose key it is; without the application and client tags it stays out of every Allow.
  Tags.of(fallbackKey).add(UsageNaming.deploymentTag, deployment);
  plan.addApiKey(fallbackKey);
  return { plan, fallbackKey, fallbackKeyValue };
}
