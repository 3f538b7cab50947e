/**
 * Per-client throttling in the stack: usage keys required on upstream methods, the fallback
 * usage key, the admin function's registration settings and its API Gateway permissions.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Env, UsageNaming } from '../../common/names';
import { KMS_TAG_APPLICATION_VALUE, USAGE_KEY_VALUE_PATTERN } from '../../common/tokens';
import { PROJECT_ROOT } from '../../lib/function';
import { fallbackUsageKeyValue } from '../../lib/usage-plans';
import { actionsOf, buildApp, referenceCycle, resourcesOf, roleStatements, template, type BuiltApp, type Statement } from './app';

let built: BuiltApp;
beforeAll(() => {
  built = buildApp();
});

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string | string[] };
const resourcesOfType = (app: BuiltApp, type: string) =>
  Object.values(template(app.api).toJSON().Resources as Record<string, Resource>).filter((r) => r.Type === type);
const logicalId = (app: BuiltApp, construct: { node: { defaultChild?: unknown } }) => app.api.getLogicalId(construct.node.defaultChild as never);
const environment = (app: BuiltApp, fn: keyof BuiltApp['api']['functions']) =>
  template(app.api).toJSON().Resources[logicalId(app, app.api.functions[fn].fn)].Properties.Environment.Variables as Record<string, unknown>;

describe('usage keys on methods', () => {
  const methods = (app: BuiltApp) => resourcesOfType(app, 'AWS::ApiGateway::Method').map((m) => m.Properties);

  it('takes the usage key from the authorizer', () => {
    template(built.api).hasResourceProperties('AWS::ApiGateway::RestApi', { ApiKeySourceType: 'AUTHORIZER' });
  });

  it("requires it on the upstream methods and on none of Tollgate's own routes", () => {
    const upstream = methods(built).filter((m) => m.Integration.Type === 'HTTP_PROXY');
    const own = methods(built).filter((m) => m.Integration.Type !== 'HTTP_PROXY');
    expect(upstream).toHaveLength(2);
    expect(own.length).toBeGreaterThan(0);
    for (const method of upstream) expect(method.ApiKeyRequired).toBe(true);
    // The token and admin routes are not behind the authorizer: no usage key could be named.
    for (const method of own) expect(method.ApiKeyRequired ?? false).toBe(false);
  });

  it('can be turned off by the operator', () => {
    const off = buildApp({ requireUsageKey: false });
    for (const method of methods(off)) expect(method.ApiKeyRequired ?? false).toBe(false);
  });
});

describe('the fallback usage key', () => {
  const fallback = (app: BuiltApp) => {
    const keys = resourcesOfType(app, 'AWS::ApiGateway::ApiKey');
    expect(keys).toHaveLength(1);
    return keys[0]!.Properties;
  };

  it('is an enabled API Gateway API key whose value is a valid usage key', () => {
    const key = fallback(built);
    expect(key.Enabled).toBe(true);
    expect(key.Value).toMatch(/^[A-Za-z0-9]{20,128}$/);
    expect(key.Value).toMatch(USAGE_KEY_VALUE_PATTERN);
    expect(key.Value).toBe(built.api.gateway.fallbackUsageKeyValue);
  });

  it('is in the default usage plan', () => {
    const keyId = logicalId(built, built.api.gateway.fallbackUsageKey);
    const planId = logicalId(built, built.api.gateway.usagePlan);
    const bindings = resourcesOfType(built, 'AWS::ApiGateway::UsagePlanKey').map((r) => r.Properties);
    expect(bindings).toEqual([{ KeyId: { Ref: keyId }, KeyType: 'API_KEY', UsagePlanId: { Ref: planId } }]);
  });

  it('is what the authorizer returns for tokens without their own key, and only the authorizer knows it', () => {
    expect(environment(built, 'authorizer')[Env.fallbackUsageKey]).toBe(fallback(built).Value);
    for (const fn of ['token', 'admin', 'fanout', 'rotation'] as const) expect(environment(built, fn), fn).not.toHaveProperty(Env.fallbackUsageKey);
  });

  it('is the same on every synth and different for another stack', () => {
    expect(fallback(buildApp()).Value).toBe(fallback(built).Value);
    const other = buildApp({ apiStackId: 'TollgateStaging' });
    expect(fallback(other).Value).not.toBe(fallback(built).Value);
    expect(environment(other, 'authorizer')[Env.fallbackUsageKey]).toBe(fallback(other).Value);
    expect(fallbackUsageKeyValue('Tollgate', 'Tollgate/Gateway/FallbackUsageKey')).not.toBe(
      fallbackUsageKeyValue('Tollgate', 'Tollgate/Other/FallbackUsageKey'),
    );
  });

  it('does not carry the Tollgate application tag, so the admin function cannot delete or move it; it carries the deployment tag', () => {
    expect(JSON.stringify(fallback(built).Tags ?? [])).not.toContain(UsageNaming.applicationTag);
    expect(fallback(built).Tags).toEqual([{ Key: UsageNaming.deploymentTag, Value: DEPLOYMENT }]);
  });
});

describe('the default usage plan', () => {
  it("carries the Tollgate application and deployment tags (its keys inherit them: the admin function binds there) but no client tag; the deployment tag's value is the plan's name", () => {
    const [plan] = resourcesOfType(built, 'AWS::ApiGateway::UsagePlan');
    expect(plan!.Properties.Tags).toEqual([
      { Key: UsageNaming.applicationTag, Value: KMS_TAG_APPLICATION_VALUE },
      { Key: UsageNaming.deploymentTag, Value: DEPLOYMENT },
    ]);
    expect(plan!.Properties.UsagePlanName).toBe(DEPLOYMENT);
  });
});

describe("the admin function's usage registration settings", () => {
  it('names the default plan, the REST API and the stage', () => {
    const env = environment(built, 'admin');
    const [plan] = resourcesOfType(built, 'AWS::ApiGateway::UsagePlan');
    const [stage] = resourcesOfType(built, 'AWS::ApiGateway::Stage');
    expect(env[Env.defaultUsagePlanName]).toBe(plan!.Properties.UsagePlanName);
    expect(env[Env.defaultUsagePlanName]).toBe('Tollgate-clients');
    expect(env[Env.restApiId]).toEqual({ Ref: logicalId(built, built.api.gateway.api) });
    expect(env[Env.stageName]).toBe(stage!.Properties.StageName);
  });

  it('follows a configured stage name', () => {
    expect(environment(buildApp({ settings: { stageName: 'prod' } }), 'admin')[Env.stageName]).toBe('prod');
  });

  it('are given to the admin function only', () => {
    for (const fn of ['authorizer', 'token', 'fanout', 'rotation'] as const) {
      for (const name of [Env.defaultUsagePlanName, Env.restApiId, Env.stageName]) expect(environment(built, fn), `${fn} ${name}`).not.toHaveProperty(name);
    }
  });

  it('leave the stack free of reference cycles', () => {
    expect(referenceCycle(template(built.api).toJSON().Resources)).toBeUndefined();
  });

  it('(the cycle check finds a cycle when there is one)', () => {
    const cyclic = {
      Plan: { Properties: { Stage: { Ref: 'Stage' } } },
      Stage: { Properties: {}, DependsOn: ['Method'] },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation substitution, not a JavaScript template.
      Method: { Properties: { Uri: { 'Fn::Sub': 'arn:${Fn.Arn}/invocations' } } },
      Fn: { Properties: { Environment: { PLAN: { Ref: 'Plan' } } } },
    };
    expect(referenceCycle(cyclic)).toEqual(['Plan', 'Stage', 'Method', 'Fn', 'Plan']);
    expect(referenceCycle({ ...cyclic, Fn: { Properties: {} } })).toBeUndefined();
  });
});

// ── The admin function's API Gateway permissions ──────────────────────────────────────────

/** The HTTP call behind each API Gateway operation `lambda/adapters/usage-plans.ts` makes (API Gateway API reference). */
const ADAPTER_CALLS: Record<string, { readonly method: string; readonly path: string; readonly tagsOnCreate?: true }> = {
  GetApiKeyCommand: { method: 'GET', path: '/apikeys/k123' },
  GetApiKeysCommand: { method: 'GET', path: '/apikeys' },
  CreateApiKeyCommand: { method: 'POST', path: '/apikeys', tagsOnCreate: true },
  DeleteApiKeyCommand: { method: 'DELETE', path: '/apikeys/k123' },
  GetUsagePlansCommand: { method: 'GET', path: '/usageplans' },
  CreateUsagePlanCommand: { method: 'POST', path: '/usageplans', tagsOnCreate: true },
  UpdateUsagePlanCommand: { method: 'PATCH', path: '/usageplans/p123' },
  DeleteUsagePlanCommand: { method: 'DELETE', path: '/usageplans/p123' },
  CreateUsagePlanKeyCommand: { method: 'POST', path: '/usageplans/p123/keys' },
  DeleteUsagePlanKeyCommand: { method: 'DELETE', path: '/usageplans/p123/keys/k123' },
};

/** The deployment tag's value: the default plan's name in the `Tollgate` stack. */
const DEPLOYMENT = 'Tollgate-clients';
const DEFAULT_PLAN_TAGS = { [UsageNaming.applicationTag]: KMS_TAG_APPLICATION_VALUE, [UsageNaming.deploymentTag]: DEPLOYMENT };
const OUR_TAGS = { ...DEFAULT_PLAN_TAGS, [UsageNaming.clientTag]: 'acme' };
/** Another Tollgate's in the same account and Region: the same application tag, its own deployment. */
const THEIR_TAGS = { ...OUR_TAGS, [UsageNaming.deploymentTag]: 'Staging-clients' };
const { [UsageNaming.deploymentTag]: _, ...LEGACY_TAGS } = OUR_TAGS;

interface Request {
  readonly action: string;
  readonly path: string;
  readonly requestTags?: Readonly<Record<string, string>>;
  readonly resourceTags?: Readonly<Record<string, string>>;
}

/** Deploy-time ids standing in for `Ref`s of the template's resources (others render as their JSON). */
const deployedIds = new Map<string, string>();

/** The path part of a statement's resource as the template renders it (`arn:${Partition}:apigateway:${Region}::/…`). */
function apigatewayPath(resource: unknown): string | undefined {
  const parts = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join']?.[1];
  if (!parts) return undefined;
  const render = (p: unknown) => (typeof p === 'string' ? p : (deployedIds.get((p as { Ref?: string }).Ref ?? '') ?? JSON.stringify(p)));
  const text = parts.map(render).join('');
  return text.match(/^arn:\{"Ref":"AWS::Partition"\}:apigateway:\{"Ref":"AWS::Region"\}::(\/.*)$/)?.[1];
}

const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** IAM's evaluation of the operators these statements use (IAM User Guide, "Condition operators"). */
function conditionsHold(statement: Statement, request: Request): boolean {
  const context: Record<string, string | string[] | undefined> = {};
  for (const [key, value] of Object.entries(request.requestTags ?? {})) context[`aws:RequestTag/${key}`] = value;
  for (const [key, value] of Object.entries(request.resourceTags ?? {})) context[`aws:ResourceTag/${key}`] = value;
  if (request.requestTags) context['aws:TagKeys'] = Object.keys(request.requestTags);
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => {
      const actual = context[key];
      const allowed = [expected].flat().map(String);
      if (operator === 'StringEquals') return typeof actual === 'string' && allowed.includes(actual);
      if (operator === 'StringEqualsIfExists') return actual === undefined || (typeof actual === 'string' && allowed.includes(actual));
      if (operator === 'Null') return (actual === undefined) === (allowed[0] === 'true');
      if (operator === 'ForAllValues:StringEquals') return [actual ?? []].flat().every((v) => allowed.includes(v));
      throw new Error(`the test does not evaluate ${operator}`);
    }),
  );
}

/** IAM's decision within one account: allowed when some Allow matches and no Deny does (an explicit Deny wins). */
function allowed(statements: readonly Statement[], request: Request): boolean {
  const matches = (s: Statement) =>
    actionsOf(s).includes(request.action) && resourcesOf(s).some((r) => glob(apigatewayPath(r) ?? '\0').test(request.path)) && conditionsHold(s, request);
  return statements.some((s) => s.Effect === 'Allow' && matches(s)) && !statements.some((s) => s.Effect === 'Deny' && matches(s));
}

describe("the admin function's API Gateway permissions", () => {
  const apigateway = () => roleStatements(built, 'admin').filter((s) => actionsOf(s).some((a) => a.startsWith('apigateway:')));

  it('cover exactly the calls the usage-plans adapter makes (every SDK command it imports has an entry here)', () => {
    const source = fs.readFileSync(path.join(PROJECT_ROOT, 'lambda', 'adapters', 'usage-plans.ts'), 'utf8');
    const commands = [...new Set([...source.matchAll(/\b([A-Z][A-Za-z]+Command)\b/g)].map((m) => m[1]!))].sort();
    expect(commands).toEqual(Object.keys(ADAPTER_CALLS).sort());
  });

  it.each(Object.entries(ADAPTER_CALLS))('allow %s as registration makes it', (_command, call) => {
    // Creates carry our tags (usage-registration's tagsOf); everything else acts on what a registration tagged.
    const onExisting = !call.tagsOnCreate;
    const request: Request = {
      action: `apigateway:${call.method}`,
      path: call.path,
      ...(call.tagsOnCreate && { requestTags: OUR_TAGS }),
      ...(onExisting && { resourceTags: OUR_TAGS }),
    };
    expect(allowed(apigateway(), request)).toBe(true);
    if (call.tagsOnCreate) {
      // API Gateway authorizes tags passed to a create as a TagResource (PUT /tags/{arn}) on the new resource.
      expect(
        allowed(apigateway(), { action: 'apigateway:PUT', path: '/tags/arn%3Aaws%3Aapigateway%3Aeu-west-1%3A%3A%2Fapikeys%2Fk123', requestTags: OUR_TAGS }),
      ).toBe(true);
    }
  });

  it("allow binding and unbinding in the stack's default plan (tagged, keys inherit it)", () => {
    expect(allowed(apigateway(), { action: 'apigateway:POST', path: '/usageplans/pdefault/keys', resourceTags: DEFAULT_PLAN_TAGS })).toBe(true);
    expect(allowed(apigateway(), { action: 'apigateway:DELETE', path: '/usageplans/pdefault/keys/k1', resourceTags: DEFAULT_PLAN_TAGS })).toBe(true);
  });

  it.each<[string, Request]>([
    ['creating an untagged key', { action: 'apigateway:POST', path: '/apikeys' }],
    [
      'creating a plan with a foreign application tag',
      { action: 'apigateway:POST', path: '/usageplans', requestTags: { [UsageNaming.applicationTag]: 'other' } },
    ],
    ['creating a key with an extra tag key', { action: 'apigateway:POST', path: '/apikeys', requestTags: { ...OUR_TAGS, owner: 'x' } }],
    ['tagging an existing resource with a foreign tag', { action: 'apigateway:PUT', path: '/tags/x', requestTags: { team: 'x' } }],
    ['deleting the default plan', { action: 'apigateway:DELETE', path: '/usageplans/pdefault', resourceTags: DEFAULT_PLAN_TAGS }],
    ["changing the default plan's limits", { action: 'apigateway:PATCH', path: '/usageplans/pdefault', resourceTags: DEFAULT_PLAN_TAGS }],
    ['deleting the fallback key (untagged)', { action: 'apigateway:DELETE', path: '/apikeys/kfallback' }],
    ['deleting a foreign plan', { action: 'apigateway:DELETE', path: '/usageplans/pforeign', resourceTags: { team: 'x' } }],
    ['binding into a foreign plan', { action: 'apigateway:POST', path: '/usageplans/pforeign/keys' }],
    ['touching a REST API', { action: 'apigateway:PATCH', path: '/restapis/abc', resourceTags: OUR_TAGS }],
    ['reading a key (and its value) a registration did not tag', { action: 'apigateway:GET', path: '/apikeys/kforeign', resourceTags: { team: 'x' } }],
    ['reading a key with only the application tag', { action: 'apigateway:GET', path: '/apikeys/k1', resourceTags: DEFAULT_PLAN_TAGS }],
    ['creating a key without the deployment tag', { action: 'apigateway:POST', path: '/apikeys', requestTags: LEGACY_TAGS }],
    ["creating a plan with another deployment's tag", { action: 'apigateway:POST', path: '/usageplans', requestTags: THEIR_TAGS }],
    ["binding into another deployment's plan", { action: 'apigateway:POST', path: '/usageplans/ptheirs/keys', resourceTags: THEIR_TAGS }],
    ["unbinding a key from another deployment's plan", { action: 'apigateway:DELETE', path: '/usageplans/ptheirs/keys/k1', resourceTags: THEIR_TAGS }],
    ["changing another deployment's client plan", { action: 'apigateway:PATCH', path: '/usageplans/ptheirs', resourceTags: THEIR_TAGS }],
    ["deleting another deployment's client key", { action: 'apigateway:DELETE', path: '/apikeys/ktheirs', resourceTags: THEIR_TAGS }],
    ["reading another deployment's client key", { action: 'apigateway:GET', path: '/apikeys/ktheirs', resourceTags: THEIR_TAGS }],
    [
      "re-tagging another deployment's resource as ours",
      { action: 'apigateway:PUT', path: '/tags/arn%3Aaws%3Aapigateway%3Aeu-west-1%3A%3A%2Fapikeys%2Fktheirs', requestTags: OUR_TAGS, resourceTags: THEIR_TAGS },
    ],
    ['deleting a client key of an earlier version (no deployment tag)', { action: 'apigateway:DELETE', path: '/apikeys/kold', resourceTags: LEGACY_TAGS }],
  ])('refuse %s', (_what, request) => {
    expect(allowed(apigateway(), request)).toBe(false);
  });

  it('are the HTTP verbs of the API Gateway control plane only, never apigateway:*, on apikeys, usageplans and tags only', () => {
    const statements = apigateway();
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      for (const action of actionsOf(statement))
        expect(['apigateway:GET', 'apigateway:POST', 'apigateway:PUT', 'apigateway:PATCH', 'apigateway:DELETE']).toContain(action);
      for (const resource of resourcesOf(statement)) expect(apigatewayPath(resource), JSON.stringify(resource)).toMatch(/^\/(apikeys|usageplans|tags)(\/|$)/);
      // Every wildcard resource of an Allow is conditioned on tags.
      if (statement.Effect === 'Allow' && resourcesOf(statement).some((r) => apigatewayPath(r)!.includes('*')))
        expect(statement.Condition, statement.Sid).toBeDefined();
    }
  });

  it("are given to the admin function only (rotation reads the stage's client certificates, nothing else: iam.test.ts)", () => {
    for (const fn of ['authorizer', 'token'] as const) {
      expect(
        roleStatements(built, fn)
          .flatMap(actionsOf)
          .filter((a) => a.startsWith('apigateway:')),
        fn,
      ).toEqual([]);
    }
    const rotation = roleStatements(built, 'rotation').filter((statement) => actionsOf(statement).some((a) => a.startsWith('apigateway:')));
    expect(rotation.flatMap(actionsOf)).toEqual(['apigateway:GET']);
    expect(rotation.flatMap(resourcesOf).map((resource) => apigatewayPath(resource))).toEqual([expect.stringMatching(/^\/clientcertificates\/[^*]+$/)]);
  });
});

describe("the stack's default plan and fallback key, against a compromised admin function", () => {
  const apigateway = () => roleStatements(built, 'admin').filter((s) => actionsOf(s).some((a) => a.startsWith('apigateway:')));
  // What the plan's and key's `Ref`s resolve to once deployed: API Gateway ids.
  const plan = () => 'pdflt12345';
  const fallback = () => 'kfallback1';
  beforeAll(() => {
    deployedIds.set(logicalId(built, built.api.gateway.usagePlan), plan());
    deployedIds.set(logicalId(built, built.api.gateway.fallbackUsageKey), fallback());
  });
  afterAll(() => deployedIds.clear());
  const arnOf = (path: string) => `arn:aws:apigateway:eu-west-1::${path}`;
  /** TagResource's path carries the tagged resource's ARN URL-encoded; IAM may see it encoded (either hex case) or decoded. */
  const tagPaths = (path: string) => [
    `/tags/${encodeURIComponent(arnOf(path))}`,
    `/tags/${encodeURIComponent(arnOf(path)).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())}`,
    `/tags/${arnOf(path)}`,
  ];
  const CLIENT_TAGS = { [UsageNaming.clientTag]: 'mallory' };

  it.each<[string, () => Request[]]>([
    [
      'tagging the default plan (its tags would then satisfy the client-tag Allows)',
      () => tagPaths(`/usageplans/${plan()}`).map((path) => ({ action: 'apigateway:PUT', path, requestTags: { ...OUR_TAGS, ...CLIENT_TAGS } })),
    ],
    ['tagging the fallback key', () => tagPaths(`/apikeys/${fallback()}`).map((path) => ({ action: 'apigateway:PUT', path, requestTags: OUR_TAGS }))],
    [
      "changing the default plan's limits, even once tagged as a client's",
      () => [{ action: 'apigateway:PATCH', path: `/usageplans/${plan()}`, resourceTags: OUR_TAGS }],
    ],
    [
      "deleting the default plan, even once tagged as a client's",
      () => [{ action: 'apigateway:DELETE', path: `/usageplans/${plan()}`, resourceTags: OUR_TAGS }],
    ],
    [
      "deleting the fallback key, even once tagged as a client's",
      () => [{ action: 'apigateway:DELETE', path: `/apikeys/${fallback()}`, resourceTags: OUR_TAGS }],
    ],
    [
      'unbinding the fallback key from the default plan (whose keys inherit its application tag)',
      () => [{ action: 'apigateway:DELETE', path: `/usageplans/${plan()}/keys/${fallback()}`, resourceTags: DEFAULT_PLAN_TAGS }],
    ],
  ])('refuse %s', (_what, requests) => {
    for (const request of requests()) expect(allowed(apigateway(), request), request.path).toBe(false);
  });

  it('still allow what registration does in the default plan: binding and unbinding client keys', () => {
    expect(allowed(apigateway(), { action: 'apigateway:POST', path: `/usageplans/${plan()}/keys`, resourceTags: DEFAULT_PLAN_TAGS })).toBe(true);
    expect(allowed(apigateway(), { action: 'apigateway:DELETE', path: `/usageplans/${plan()}/keys/kclient1234`, resourceTags: DEFAULT_PLAN_TAGS })).toBe(true);
    expect(allowed(apigateway(), { action: 'apigateway:PUT', path: `/tags/${encodeURIComponent(arnOf('/apikeys/knew1234567'))}`, requestTags: OUR_TAGS })).toBe(
      true,
    );
  });

  it('are denied in a policy of their own, attached to the admin role only, which no function depends on', () => {
    const policies = Object.values(template(built.api).findResources('AWS::IAM::Policy')) as Resource[];
    const guards = policies.filter((p) =>
      (p.Properties.PolicyDocument.Statement as Statement[]).some((s) => s.Effect === 'Deny' && actionsOf(s).some((a) => a.startsWith('apigateway:'))),
    );
    expect(guards).toHaveLength(1);
    const adminRole = built.api.getLogicalId(built.api.functions.admin.role.node.defaultChild as never);
    expect(guards[0]!.Properties.Roles).toEqual([{ Ref: adminRole }]);
    expect(JSON.stringify(guards[0]!.Properties.PolicyDocument)).not.toContain('DefaultPolicy');
    expect(referenceCycle(template(built.api).toJSON().Resources)).toBeUndefined();
  });
});
