/**
 * Per-client throttling, the stack's side (docs/throttling.md): the fallback usage key's
 * value, and the admin function's permission to register clients' usage keys — exactly the
 * API Gateway calls `lambda/adapters/usage-plans.ts` makes, and nothing else.
 *
 * API keys and custom plans are made at run time, so IAM cannot name them: the admin
 * function may create them only with the Tollgate application tag and its own deployment's
 * `tollgate:deployment` tag, and change or delete only what carries both (ABAC; API Gateway
 * developer guide, "Using tags to control access"). The application tag alone is shared by
 * every Tollgate of the account and Region; the deployment tag keeps one Tollgate's admin
 * function, working as written, off another's default plan, fallback key, client plans and
 * client keys.
 * A usage plan's keys inherit the plan's tags for access control ("API Gateway resources
 * that can be tagged"), which is how binding into the stack's own default plan is allowed.
 *
 * Tags are no boundary on their own: tagging at creation needs `apigateway:PUT` on
 * `/tags/*`, and API Gateway offers no condition that tells a tag passed to a create from a
 * TagResource on an existing resource, so the role can put our tags on any taggable
 * resource of the Region that carries no deployment tag. One that carries another
 * deployment's is refused only if API Gateway gives IAM the tagged resource's tags for
 * `/tags/…`, for which the Service Authorization Reference documents no condition keys, so
 * that refusal is read as failing open (docs/throttling.md). The stack's own default plan
 * and fallback key are therefore protected by explicit Denies on their concrete ids
 * ({@link guardStackUsageResources}); other teams' plans and keys, and those of Tollgate
 * versions before the deployment tag, only by an SCP or permissions boundary, if the
 * account has one.
 */
import { createHash } from 'node:crypto';
import { Stack, Token, Validations } from 'aws-cdk-lib';
import type { IApiKey, IUsagePlan } from 'aws-cdk-lib/aws-apigateway';
import { Effect, Policy, PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import type { Construct, IConstruct } from 'constructs';
import { UsageNaming } from '../common/names';
import { KMS_TAG_APPLICATION_VALUE, USAGE_KEY_VALUE_PATTERN } from '../common/tokens';
import { onlyValues } from './conditions';
import { findingArn } from './nag';

/** Fallback usage keys start with this; clients' own keys start with `tgu` (`common/tokens.ts`). */
export const FALLBACK_USAGE_KEY_PREFIX = 'tgf';

/**
 * The fallback usage key's value: `tgf` + 40 hex digits of SHA-256 over the stack name and
 * the key's construct path. API Gateway has no `Fn::GetAtt` for a key's value, and the
 * authorizer needs it in its environment, so it must be known at synth: deterministic, the
 * same on every deploy (a changed value would replace the key), and distinct per stack,
 * since two keys of one account and Region cannot share a value. Not a secret: with
 * `apiKeySource: AUTHORIZER`, API Gateway ignores any key a caller sends (`x-api-key`).
 */
export function fallbackUsageKeyValue(stackName: string, constructPath: string): string {
  if (Token.isUnresolved(stackName) || Token.isUnresolved(constructPath)) {
    throw new Error('the fallback usage key needs a stack name known at synth');
  }
  const digest = createHash('sha256').update(`tollgate-fallback-usage-key\n${stackName}\n${constructPath}`).digest('hex');
  const value = `${FALLBACK_USAGE_KEY_PREFIX}${digest.slice(0, 40)}`;
  if (!USAGE_KEY_VALUE_PATTERN.test(value)) throw new Error(`not an API Gateway API key value: ${value}`);
  return value;
}

/** `arn:{partition}:apigateway:{region}::{path}`: API Gateway's control-plane resources are region-wide, without an account. */
export function apigatewayArn(stack: Stack, path: string): string {
  return `arn:${stack.partition}:apigateway:${stack.region}::${path}`;
}

/** The paths that need a wildcard (ids made at run time), each acknowledged below. */
const WILDCARD_PATHS = {
  tags: '/tags/*',
  apiKey: '/apikeys/*',
  plan: '/usageplans/*',
  planKeys: '/usageplans/*/keys',
  planKey: '/usageplans/*/keys/*',
} as const;

/**
 * The admin function's API Gateway statements, one per need:
 * - GetApiKeys (by name, without values) and GetUsagePlans (also `?keyId=`) read the two
 *   collections; GetApiKey (one key, with its value) only on keys a registration tagged;
 * - CreateApiKey and CreateUsagePlan, with our tags only (application, deployment, client),
 *   plus `apigateway:PUT` on `/tags/…`, which API Gateway checks for tags passed to a create (Service Authorization
 *   Reference: CreateApiKey and CreateUsagePlan map to `apigateway:POST` and `apigateway:PUT`);
 * - CreateUsagePlanKey and DeleteUsagePlanKey in plans tagged with this deployment (its
 *   default plan and its custom ones);
 * - UpdateUsagePlan and DeleteUsagePlan, DeleteApiKey only on what carries this deployment's
 *   tags and the client tag, which registration puts on what it makes (the stack's default plan and fallback key are
 *   kept out by {@link guardStackUsageResources}, not by lacking that tag).
 *
 * `deployment` is the value of this deployment's `tollgate:deployment` tag
 * (`usageDeploymentTagValue`), which every condition below requires.
 */
export function usageRegistrationStatements(stack: Stack, deployment: string): PolicyStatement[] {
  const arn = (path: string) => apigatewayArn(stack, path);
  const ours = (prefix: 'aws:RequestTag' | 'aws:ResourceTag') => ({
    [`${prefix}/${UsageNaming.applicationTag}`]: KMS_TAG_APPLICATION_VALUE,
    [`${prefix}/${UsageNaming.deploymentTag}`]: deployment,
  });
  const ourRequestTags = {
    StringEquals: ours('aws:RequestTag'),
    ...onlyValues('aws:TagKeys', [UsageNaming.applicationTag, UsageNaming.deploymentTag, UsageNaming.clientTag]),
  };
  const tollgateTagged = { StringEquals: ours('aws:ResourceTag') };
  const clientTagged = { ...tollgateTagged, Null: { [`aws:ResourceTag/${UsageNaming.clientTag}`]: 'false' } };
  // Tagging may not move a resource of another deployment (its deployment tag set) into this
  // one, where IAM sees that tag; a resource without it (a create, or something no Tollgate
  // tagged) and one whose tags IAM is not given are the limit described above.
  const notAnotherDeployments = { StringEqualsIfExists: { [`aws:ResourceTag/${UsageNaming.deploymentTag}`]: deployment } };
  return [
    new PolicyStatement({ sid: 'ReadApiKeysAndUsagePlans', actions: ['apigateway:GET'], resources: [arn('/apikeys'), arn('/usageplans')] }),
    new PolicyStatement({ sid: 'ReadClientApiKeys', actions: ['apigateway:GET'], resources: [arn(WILDCARD_PATHS.apiKey)], conditions: clientTagged }),
    new PolicyStatement({
      sid: 'CreateTaggedApiKeysAndPlans',
      actions: ['apigateway:POST'],
      resources: [arn('/apikeys'), arn('/usageplans')],
      conditions: ourRequestTags,
    }),
    new PolicyStatement({
      sid: 'TagAtCreation',
      actions: ['apigateway:PUT'],
      resources: [arn(WILDCARD_PATHS.tags)],
      conditions: { ...ourRequestTags, ...notAnotherDeployments },
    }),
    new PolicyStatement({
      sid: 'BindKeysInTollgatePlans',
      actions: ['apigateway:POST', 'apigateway:DELETE'],
      resources: [arn(WILDCARD_PATHS.planKeys), arn(WILDCARD_PATHS.planKey)],
      conditions: tollgateTagged,
    }),
    new PolicyStatement({
      sid: 'ManageClientPlans',
      actions: ['apigateway:PATCH', 'apigateway:DELETE'],
      resources: [arn(WILDCARD_PATHS.plan)],
      conditions: clientTagged,
    }),
    new PolicyStatement({ sid: 'DeleteClientApiKeys', actions: ['apigateway:DELETE'], resources: [arn(WILDCARD_PATHS.apiKey)], conditions: clientTagged }),
  ];
}

/** The stack's resources the admin function must never change: they are made by CloudFormation, not by a registration. */
export interface StackUsageResources {
  /** The default usage plan (tagged as Tollgate's, so the admin function can bind client keys into it). */
  readonly plan: IUsagePlan;
  /** The fallback usage key, bound into the default plan. */
  readonly fallbackKey: IApiKey;
}

/**
 * Explicit Denies on the concrete ids of the stack's default plan and fallback key, which
 * win over every Allow of {@link usageRegistrationStatements}: no tagging (which would
 * satisfy the client-tag conditions), no update or delete of the plan, no delete or
 * unbinding of the fallback key (unbinding it turns every client without its own key into
 * 403 `INVALID_API_KEY`).
 *
 * A separate policy, not the role's default policy: the plan depends on the stage, the stage
 * on its methods, the methods on the admin function, and the function on its role's default
 * policy, so a default-policy statement naming the plan would close a dependency cycle.
 * Nothing depends on this policy; the admin function may run for a moment after a deploy
 * before it is attached, and is then only as limited as the Allows alone.
 *
 * The `/tags/…` resources cover the tagged resource's ARN in any spelling (URL-encoded as
 * TagResource's path carries it, with either hex case, or not encoded): IAM is not
 * documented to decode it. The id ends the pattern; a wildcard before it matches the ARN's
 * prefix whatever its encoding.
 */
export function guardStackUsageResources(scope: Construct, role: IRole, resources: StackUsageResources): Policy {
  const stack = Stack.of(scope);
  const arn = (path: string) => apigatewayArn(stack, path);
  const planId = resources.plan.usagePlanId;
  const keyId = resources.fallbackKey.keyId;
  return new Policy(scope, 'StackUsageResourcesGuard', {
    roles: [role],
    statements: [
      new PolicyStatement({
        sid: 'NeverTagStackUsageResources',
        effect: Effect.DENY,
        actions: ['apigateway:PUT', 'apigateway:DELETE'],
        resources: [arn(`/tags/*usageplans*${planId}`), arn(`/tags/*apikeys*${keyId}`)],
      }),
      new PolicyStatement({
        sid: 'NeverChangeDefaultPlan',
        effect: Effect.DENY,
        actions: ['apigateway:PATCH', 'apigateway:DELETE'],
        resources: [arn(`/usageplans/${planId}`)],
      }),
      new PolicyStatement({
        sid: 'NeverRemoveFallbackKey',
        effect: Effect.DENY,
        actions: ['apigateway:PATCH', 'apigateway:DELETE'],
        resources: [arn(`/apikeys/${keyId}`), arn(`/usageplans/*/keys/${keyId}`)],
      }),
    ],
  });
}

/** The cdk-nag acknowledgements the wildcards of {@link usageRegistrationStatements} need, each with its reason. */
export function acknowledgeUsageRegistrationWildcards(scope: IConstruct): void {
  const reasons: Record<keyof typeof WILDCARD_PATHS, string> = {
    tags: 'Tags passed to CreateApiKey and CreateUsagePlan are authorized as a TagResource whose resource id is made at run time; only the Tollgate application, deployment and client tag keys, with our application and deployment values, may be set, and not on a resource carrying another deployment tag where IAM is given the resource tags (not documented for tags resources). API Gateway cannot tell that from tagging an existing resource: the stack default plan and fallback key are protected by explicit Denies, other teams and other deployments resources only by an SCP, a permissions boundary or separate accounts.',
    apiKey:
      'Client API keys are created at run time, so IAM cannot name them; GetApiKey and DeleteApiKey need the Tollgate application, this deployment and client tags on the key. The fallback key is protected by an explicit Deny; a foreign key the role tagged itself would match, so other teams keys rely on an SCP or permissions boundary.',
    plan: 'Custom client plans are created at run time; UpdateUsagePlan and DeleteUsagePlan need the Tollgate application, this deployment and client tags. The stack default plan is protected by an explicit Deny; a foreign plan the role tagged itself would match, so other teams plans rely on an SCP or permissions boundary.',
    planKeys:
      'Binding a client key needs the plan id, known only at run time (the default plan is found by name); the plan must carry the Tollgate application tag and this deployment tag. A foreign plan the role tagged itself would match, which only an SCP or permissions boundary prevents.',
    planKey:
      'Unbinding a client key names the plan and key ids, both made at run time; the plan must carry the Tollgate application tag and this deployment tag, which its keys inherit for access control. Unbinding the fallback key is explicitly denied; foreign plans rely on an SCP or permissions boundary.',
  };
  for (const [name, path] of Object.entries(WILDCARD_PATHS) as [keyof typeof WILDCARD_PATHS, string][]) {
    // How cdk-nag names {@link apigatewayArn} of the path.
    const finding = findingArn(Stack.of(scope), { service: 'apigateway', region: true, account: false, resource: path });
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${finding}]`, reason: reasons[name] });
  }
}
