import { Fn, Lazy, Token } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { ResponseType, type ThrottleSettings } from 'aws-cdk-lib/aws-apigateway';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_LOG_CLIENT_TEXT, ACCESS_LOG_FIELDS, accessLogFormat } from '../../common/access-log';
import { API_ROUTES } from '../../common/api-routes';
import { Defaults } from '../../common/defaults';
import { ConfigurationError } from '../../common/errors';
import { Env } from '../../common/names';
import { HTTP_METHODS, UpstreamHeader } from '../../common/gateway-contract';
import { StackOutput } from '../../common/stack-outputs';
import {
  AUTHORIZER_FAILURE,
  EXPIRED_CREDENTIALS,
  GATEWAY_FAILURE,
  GATEWAY_REJECTED,
  INSUFFICIENT_SCOPE,
  INTEGRATION_TIMEOUT_SECONDS,
  INVALID_REQUEST_BODY,
  INVALID_TOKEN,
  INVALID_USAGE_KEY,
  NO_ROUTE,
  NO_STORE_HEADERS,
  QUOTA_EXCEEDED,
  THROTTLED,
} from '../../common/gateway-responses';
import { GATEWAY_REFUSALS, gatewayResponse, JSON_BODY_ROUTES, staticValue } from '../../lib/gateway';
import { ConfigError } from '../../lib/settings';
import { actionsOf, buildApp, referenceCycle, resourcesOf, roleStatements, template, UPSTREAM, type BuiltApp, type Statement } from './app';
import * as Setting from '../../common/settings';
import { LocalGateway } from '../../local/gateway';
import { stageThrottlesFor } from '../../local/usage-limiter';
import { closedPortUrl } from '../support/http-stub';

let built: BuiltApp;
beforeAll(() => {
  built = buildApp();
});

const logicalId = (construct: { node: { defaultChild?: unknown } }) => built.api.getLogicalId(construct.node.defaultChild as never);
const resources = (type: string) => template(built.api).findResources(type);

/** The full path of an API Gateway resource, rebuilt from PathPart and ParentId. */
function resourcePaths(): Map<string, string> {
  const all = resources('AWS::ApiGateway::Resource');
  const paths = new Map<string, string>();
  const pathOf = (id: string): string => {
    const known = paths.get(id);
    if (known) return known;
    const resource = all[id]!.Properties;
    const parent = resource.ParentId.Ref as string | undefined;
    const path = `${parent ? pathOf(parent) : ''}/${resource.PathPart}`;
    paths.set(id, path);
    return path;
  };
  for (const id of Object.keys(all)) pathOf(id);
  return paths;
}

function methodsByRoute(): Map<string, Record<string, any>> {
  const paths = resourcePaths();
  const methods = new Map<string, Record<string, any>>();
  for (const method of Object.values(resources('AWS::ApiGateway::Method'))) {
    const p = method.Properties;
    const path = p.ResourceId.Ref ? paths.get(p.ResourceId.Ref)! : '/';
    methods.set(`${p.HttpMethod} ${path}`, p);
  }
  return methods;
}

describe('the authorizer', () => {
  it('is a REQUEST authorizer keyed on the Authorization header, method and path, caching for authorizerCacheTtlSeconds', () => {
    // With method and path in the cache key, a cached policy (which names one method ARN) serves only its own request.
    template(built.api).hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization,context.httpMethod,context.path',
      AuthorizerResultTtlInSeconds: Setting.authorizerCacheTtlSeconds.default,
      AuthorizerUri: Match.anyValue(),
    });
    const custom = buildApp({ settings: { authorizerCacheTtlSeconds: 5 } });
    template(custom.api).hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 5 });
  });
});

describe('routes', () => {
  it('serves exactly the Tollgate routes plus ANY / and ANY /{proxy+}', () => {
    const expected = [...API_ROUTES.map((r) => `${r.method} ${r.resource}`), 'ANY /', 'ANY /{proxy+}'].sort();
    expect([...methodsByRoute().keys()].sort()).toEqual(expected);
  });

  it.each(API_ROUTES.map((r) => [`${r.method} ${r.resource}`, r] as const))("%s: Lambda proxy to its function with the route's auth", (key, route) => {
    const method = methodsByRoute().get(key)!;
    const fn = built.api.functions[route.fn].fn;
    expect(method.AuthorizationType).toBe(route.auth === 'operator' ? 'AWS_IAM' : 'NONE');
    expect(method.AuthorizerId).toBeUndefined();
    expect(method.Integration.Type).toBe('AWS_PROXY');
    expect(JSON.stringify(method.Integration.Uri)).toContain(logicalId(fn));
  });

  it('validates the JSON body of the admin routes that require one', () => {
    const validatorId = Object.keys(resources('AWS::ApiGateway::RequestValidator'))[0];
    template(built.api).hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
    template(built.api).hasResourceProperties('AWS::ApiGateway::Model', { ContentType: 'application/json', Schema: Match.objectLike({ type: 'object' }) });
    expect(JSON_BODY_ROUTES.size).toBeGreaterThan(0);
    for (const [key, method] of methodsByRoute()) {
      if (JSON_BODY_ROUTES.has(key)) {
        expect(method.RequestValidatorId, key).toEqual({ Ref: validatorId });
        expect(Object.keys(method.RequestModels), key).toEqual(['application/json']);
      } else {
        expect(method.RequestValidatorId, key).toBeUndefined();
      }
    }
  });
});

describe('the upstream proxy', () => {
  const upstreamMethods = (app: BuiltApp) => {
    const all = template(app.api).findResources('AWS::ApiGateway::Method');
    return Object.values(all)
      .filter((m) => m.Properties.Integration?.Type === 'HTTP_PROXY')
      .map((m) => m.Properties);
  };

  it('puts every other path behind the authorizer and proxies it to upstreamUrl', () => {
    const methods = upstreamMethods(built);
    expect(methods).toHaveLength(2);
    const authorizerId = built.api.getLogicalId(
      built.api.node.findAll().find((c) => c.node.id === 'Request' && c.node.path.includes('Authorizer'))!.node.defaultChild as never,
    );
    for (const method of methods) {
      expect(method.AuthorizationType).toBe('CUSTOM');
      expect(method.AuthorizerId).toEqual({ Ref: authorizerId });
      expect(method.Integration.IntegrationHttpMethod).toBe('ANY');
    }
    expect(methods.map((m) => m.Integration.Uri).sort()).toEqual([`${UPSTREAM}/`, `${UPSTREAM}/{proxy}`]);
    const proxy = methods.find((m) => m.Integration.Uri.endsWith('{proxy}'))!;
    expect(proxy.RequestParameters).toEqual({ 'method.request.path.proxy': true });
    expect(proxy.Integration.RequestParameters['integration.request.path.proxy']).toBe('method.request.path.proxy');
  });

  it("forwards the caller's identity from the authorizer context, replacing any client-sent copy", () => {
    for (const method of upstreamMethods(built)) {
      expect(method.Integration.RequestParameters).toMatchObject({
        [`integration.request.header.${UpstreamHeader.clientId}`]: 'context.authorizer.clientId',
        [`integration.request.header.${UpstreamHeader.scopes}`]: 'context.authorizer.scopes',
        [`integration.request.header.${UpstreamHeader.tokenId}`]: 'context.authorizer.jti',
      });
    }
  });

  it('strips the bearer token by overriding Authorization with an empty static value', () => {
    for (const method of upstreamMethods(built)) {
      expect(method.Integration.RequestParameters['integration.request.header.Authorization']).toBe("''");
    }
  });

  it('keeps the bearer token when forwardBearerToken is set', () => {
    for (const method of upstreamMethods(buildApp({ settings: { forwardBearerToken: true } }))) {
      expect(method.Integration.RequestParameters).not.toHaveProperty('integration.request.header.Authorization');
      expect(method.Integration.RequestParameters).toHaveProperty(`integration.request.header.${UpstreamHeader.clientId}`);
    }
  });
});

describe('usage plans', () => {
  it('takes the usage identifier from the authorizer and has a default per-client plan on the stage', () => {
    template(built.api).hasResourceProperties('AWS::ApiGateway::RestApi', { ApiKeySourceType: 'AUTHORIZER', EndpointConfiguration: { Types: ['REGIONAL'] } });
    const stageId = logicalId(built.api.gateway.api.deploymentStage);
    template(built.api).hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: Defaults.rateLimit, BurstLimit: Defaults.burstLimit },
      ApiStages: [Match.objectLike({ ApiId: { Ref: logicalId(built.api.gateway.api) }, Stage: { Ref: stageId } })],
    });
  });
});

describe('gateway responses', () => {
  const byType = () => new Map(Object.values(resources('AWS::ApiGateway::GatewayResponse')).map((r) => [r.Properties.ResponseType, r.Properties]));

  it.each([
    ['UNAUTHORIZED', INVALID_TOKEN],
    ['ACCESS_DENIED', INSUFFICIENT_SCOPE],
  ] as const)('%s answers with the shared refusal and its RFC 6750 header, single-quoted as a static value', (type, refusal) => {
    const response = byType().get(type)!;
    expect(response.StatusCode).toBe(String(refusal.statusCode));
    // ACCESS_DENIED also renders a suspended client's body (test/infra/usage-metering.test.ts): the scope refusal is its #else branch.
    const template = String(response.ResponseTemplates['application/json']).replace(/^#if.*#else(.*)#end$/, '$1');
    expect(JSON.parse(template)).toEqual(refusal.body);
    expect(response.ResponseParameters['gatewayresponse.header.WWW-Authenticate']).toBe(`'${refusal.headers['WWW-Authenticate']}'`);
  });

  it('renders the 401 header exactly as RFC 6750 §3 spells it', () => {
    expect(byType().get('UNAUTHORIZED')!.ResponseParameters['gatewayresponse.header.WWW-Authenticate']).toBe(`'Bearer error="invalid_token"'`);
  });

  it.each([
    ['AUTHORIZER_FAILURE', AUTHORIZER_FAILURE],
    ['AUTHORIZER_CONFIGURATION_ERROR', AUTHORIZER_FAILURE],
    ['MISSING_AUTHENTICATION_TOKEN', NO_ROUTE],
    ['THROTTLED', THROTTLED],
    ['QUOTA_EXCEEDED', QUOTA_EXCEEDED],
    ['INVALID_API_KEY', INVALID_USAGE_KEY],
    ['BAD_REQUEST_BODY', INVALID_REQUEST_BODY],
  ] as const)('%s answers with a JSON error body', (type, refusal) => {
    const response = byType().get(type)!;
    expect(response.StatusCode).toBe(String(refusal.statusCode));
    expect(JSON.parse(response.ResponseTemplates['application/json'])).toEqual(refusal.body);
    const headers = { ...('headers' in refusal ? (refusal.headers as Record<string, string>) : {}), ...NO_STORE_HEADERS };
    expect(response.ResponseParameters ?? {}).toEqual(
      Object.fromEntries(Object.entries(headers).map(([name, value]) => [`gatewayresponse.header.${name}`, `'${value}'`])),
    );
  });

  it('marks every gateway response no-store, as every error must be (docs/api.md), next to its own headers', () => {
    const responses = [...byType()];
    expect(responses).toHaveLength(GATEWAY_REFUSALS.length);
    for (const [type, response] of responses) {
      expect(response.ResponseParameters?.['gatewayresponse.header.Cache-Control'], type).toBe("'no-store'");
      expect(response.ResponseParameters?.['gatewayresponse.header.Pragma'], type).toBe("'no-cache'");
    }
    expect(byType().get('UNAUTHORIZED')!.ResponseParameters['gatewayresponse.header.WWW-Authenticate']).toBe(`'Bearer error="invalid_token"'`);
    expect(byType().get('THROTTLED')!.ResponseParameters['gatewayresponse.header.Retry-After']).toBe("'1'");
  });

  it('waits for the upstream as long as the local gateway does (the integration timeout)', () => {
    const upstream = Object.values(resources('AWS::ApiGateway::Method')).filter((m) => m.Properties.Integration?.Type === 'HTTP_PROXY');
    expect(upstream).toHaveLength(2);
    for (const method of upstream) expect(method.Properties.Integration.TimeoutInMillis).toBe(INTEGRATION_TIMEOUT_SECONDS * 1000);
  });

  it('answers expired AWS credentials (SigV4 admin calls only) without a Bearer challenge', () => {
    const response = byType().get('EXPIRED_TOKEN')!;
    expect(response.StatusCode).toBe('403');
    expect(JSON.parse(response.ResponseTemplates['application/json'])).toEqual(EXPIRED_CREDENTIALS.body);
    expect(response.ResponseParameters).not.toHaveProperty('gatewayresponse.header.WWW-Authenticate');
  });

  it.each([
    ['DEFAULT_4XX', GATEWAY_REJECTED, 'invalid_request'],
    ['DEFAULT_5XX', GATEWAY_FAILURE, 'server_error'],
  ] as const)("%s gives every other gateway error a JSON body, keeping API Gateway's status", (type, refusal, code) => {
    const response = byType().get(type)!;
    expect(response, type).toBeDefined();
    expect(JSON.parse(response.ResponseTemplates['application/json'])).toEqual(refusal.body);
    expect(refusal.body.error).toBe(code);
    // A status here would turn a 413, 415 or 504 into one fixed code.
    expect(response.StatusCode).toBeUndefined();
  });

  it('tells a throttled client when to retry', () => {
    expect(byType().get('THROTTLED')!.ResponseParameters['gatewayresponse.header.Retry-After']).toBe("'1'");
    expect(byType().get('QUOTA_EXCEEDED')!.ResponseParameters['gatewayresponse.header.Retry-After']).toBe("'3600'");
  });

  it('covers every refusal of the table and nothing else', () => {
    expect([...byType().keys()].sort()).toEqual(GATEWAY_REFUSALS.map(([type]) => type.responseType).sort());
  });

  it('refuses values API Gateway would misread', () => {
    expect(() => staticValue("it's")).toThrow(/single quote/);
    expect(() => gatewayResponse(ResponseType.DEFAULT_4XX, { statusCode: 400, body: { error: 'x', error_description: 'costs $5' } })).toThrow(/VTL/);
  });
});

describe('the upstream client certificate', () => {
  const certificatesOf = (app: BuiltApp) => Object.keys(template(app.api).findResources('AWS::ApiGateway::ClientCertificate')).sort();
  const presentedBy = (app: BuiltApp) => {
    const [stage] = Object.values(template(app.api).findResources('AWS::ApiGateway::Stage'));
    return (stage!.Properties.ClientCertificateId as { Ref: string }).Ref;
  };
  const rotationEnvironment = (app: BuiltApp) => {
    const fn = template(app.api).toJSON().Resources[app.api.getLogicalId(app.api.functions.rotation.fn.node.defaultChild as never)];
    return fn.Properties.Environment.Variables as Record<string, unknown>;
  };
  const certificateReads = (app: BuiltApp) =>
    roleStatements(app, 'rotation')
      .filter((statement) => actionsOf(statement).includes('apigateway:GET'))
      .flatMap(resourcesOf);
  /** `arn:{partition}:apigateway:{region}::/clientcertificates/{id}`, as the template writes it. */
  const certificateArn = (id: string) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, '::/clientcertificates/', { Ref: id }]],
  });
  const outputs = (app: BuiltApp) => template(app.api).toJSON().Outputs as Record<string, { Value: unknown }>;

  it('is presented by the stage, its id is an output, and the rotation function watches it and may read only it', () => {
    const certificates = certificatesOf(built);
    expect(certificates).toHaveLength(1);
    // Generation 1 keeps the logical id stacks deployed before generations existed gave it
    // (CloudFormation would otherwise replace the certificate the upstream trusts).
    expect(certificates[0]).toBe('GatewayUpstreamCertificateD8A285CC');
    expect(presentedBy(built)).toBe(certificates[0]);
    expect(outputs(built)[StackOutput.upstreamClientCertificateId]!.Value).toEqual({ Ref: certificates[0] });
    expect(outputs(built)).not.toHaveProperty(StackOutput.nextUpstreamClientCertificateId);
    expect(rotationEnvironment(built)[Env.upstreamCertificateId]).toEqual({ Ref: certificates[0] });
    expect(rotationEnvironment(built)).not.toHaveProperty(Env.nextUpstreamCertificateId);
    expect(certificateReads(built)).toEqual([certificateArn(certificates[0]!)]);
  });

  it('is renewed in two deployments: the next one is made (not presented) first, then the stage switches to that same resource and the old one is kept', () => {
    const prepared = buildApp({ settings: { prepareNextUpstreamCertificate: true } });
    const [current] = certificatesOf(built);
    const both = certificatesOf(prepared);
    expect(both).toHaveLength(2);
    const next = both.find((id) => id !== current)!;
    expect(both).toContain(current);
    expect(next).toMatch(/^GatewayUpstreamCertificateGen2[0-9A-F]{8}$/);
    // Step 1: the stage still presents the current certificate; the next one's id is an output, and both are watched.
    expect(presentedBy(prepared)).toBe(current);
    expect(outputs(prepared)[StackOutput.nextUpstreamClientCertificateId]!.Value).toEqual({ Ref: next });
    expect(rotationEnvironment(prepared)).toMatchObject({ [Env.upstreamCertificateId]: { Ref: current }, [Env.nextUpstreamCertificateId]: { Ref: next } });
    expect(certificateReads(prepared)).toEqual([certificateArn(current!), certificateArn(next)]);

    // Step 2: generation 2 is the resource step 1 made (same logical id), so CloudFormation keeps
    // the certificate the upstream was told to trust, presents it, and deletes generation 1.
    const switched = buildApp({ settings: { upstreamCertificateGeneration: 2 } });
    expect(certificatesOf(switched)).toEqual([next]);
    // Generation 1 leaves the template but is retained: the operator deletes it after checking the switch.
    for (const app of [built, prepared, switched]) {
      for (const resource of Object.values(template(app.api).findResources('AWS::ApiGateway::ClientCertificate'))) {
        expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      }
    }
    expect(presentedBy(switched)).toBe(next);
    expect(outputs(switched)[StackOutput.upstreamClientCertificateId]!.Value).toEqual({ Ref: next });
    expect(rotationEnvironment(switched)[Env.upstreamCertificateId]).toEqual({ Ref: next });
  });

  it('prepares generation n + 1 from any generation n', () => {
    const ids = certificatesOf(buildApp({ settings: { upstreamCertificateGeneration: '7', prepareNextUpstreamCertificate: 'true' } }));
    expect(ids.map((id) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(['GatewayUpstreamCertificateGen7', 'GatewayUpstreamCertificateGen8']);
  });
});

describe('throttling of the unauthenticated Tollgate routes', () => {
  const methodSettings = (app: BuiltApp) => {
    const [stage] = Object.values(template(app.api).findResources('AWS::ApiGateway::Stage'));
    return stage!.Properties.MethodSettings as Record<string, unknown>[];
  };
  const throttleOf = (app: BuiltApp, resourcePath: string, httpMethod: string) =>
    methodSettings(app).find((m) => m.ResourcePath === resourcePath && m.HttpMethod === httpMethod);

  it('limits POST /oauth/token a little under the KMS Sign quota of the key spec', () => {
    expect(throttleOf(built, '/~1oauth~1token', 'POST')).toMatchObject({ ThrottlingRateLimit: 250, ThrottlingBurstLimit: 500 });
    const rsa = buildApp({ settings: { keySpec: 'RSA_2048' } });
    expect(throttleOf(rsa, '/~1oauth~1token', 'POST')).toMatchObject({ ThrottlingRateLimit: 450, ThrottlingBurstLimit: 900 });
    // KMS "Request quotas": asymmetric ECC 300/s, RSA 500/s per account and Region.
    expect(Defaults.tokenRouteThrottle.ECC_NIST_P256.rateLimit).toBeLessThan(300);
    expect(Defaults.tokenRouteThrottle.RSA_2048.rateLimit).toBeLessThan(500);
  });

  it('keeps the default of each field a partial tokenRouteThrottle leaves out', () => {
    const token = (throttle: ThrottleSettings, keySpec?: string) =>
      throttleOf(buildApp({ tokenRouteThrottle: throttle, ...(keySpec && { settings: { keySpec } }) }), '/~1oauth~1token', 'POST');
    expect(token({ rateLimit: 100 })).toMatchObject({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 500 });
    expect(token({ burstLimit: 40 }, 'RSA_2048')).toMatchObject({ ThrottlingRateLimit: 450, ThrottlingBurstLimit: 40 });
    expect(token({})).toMatchObject({ ThrottlingRateLimit: 250, ThrottlingBurstLimit: 500 });
    expect(token({ rateLimit: 0, burstLimit: 0 })).toMatchObject({ ThrottlingRateLimit: 0, ThrottlingBurstLimit: 0 });
  });

  it.each([
    [{ rateLimit: -5, burstLimit: -1 }, /tokenRouteThrottle rateLimit must be a number of requests per second, 0 or more, got -5/],
    [{ rateLimit: 0.5, burstLimit: 1.5 }, /tokenRouteThrottle burstLimit must be a whole number of requests, 0 or more, got 1.5/],
    [{ burstLimit: -1 }, /tokenRouteThrottle burstLimit .* got -1/],
    [{ rateLimit: Number.NaN }, /tokenRouteThrottle rateLimit .* got NaN/],
  ])('refuses tokenRouteThrottle %j at synth, naming it', (throttle, message) => {
    const build = () => buildApp({ tokenRouteThrottle: throttle });
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(message);
  });

  it('checks a Lazy tokenRouteThrottle when synth resolves it: refused naming it, kept when valid, a CloudFormation expression left to deploy', () => {
    const lazy = (value: number) => Lazy.number({ produce: () => value });
    const invalid = buildApp({ tokenRouteThrottle: { rateLimit: lazy(Number.NaN), burstLimit: lazy(-5) } });
    const synth = () => template(invalid.api);
    expect(synth).toThrow(/tokenRouteThrottle rateLimit must be a number of requests per second, 0 or more, got NaN/);
    expect(synth).toThrow(/tokenRouteThrottle burstLimit must be a whole number of requests, 0 or more, got -5/);
    const valid = buildApp({ tokenRouteThrottle: { rateLimit: lazy(120), burstLimit: lazy(60) } });
    expect(throttleOf(valid, '/~1oauth~1token', 'POST')).toMatchObject({ ThrottlingRateLimit: 120, ThrottlingBurstLimit: 60 });
    const imported = buildApp({ tokenRouteThrottle: { rateLimit: Token.asNumber(Fn.importValue('TokenRate')) } });
    expect(throttleOf(imported, '/~1oauth~1token', 'POST')).toMatchObject({
      ThrottlingRateLimit: { 'Fn::ImportValue': 'TokenRate' },
      ThrottlingBurstLimit: 500,
    });
  });

  it.each([
    ['/~1oauth~1revoke', 'POST'],
    ['/~1.well-known~1jwks.json', 'GET'],
    ['/~1.well-known~1oauth-authorization-server', 'GET'],
    ['/~1.well-known~1oauth-protected-resource', 'GET'],
    ['/~1.well-known~1oauth-protected-resource~1{service}', 'GET'],
  ])('limits %s %s', (resourcePath, httpMethod) => {
    expect(throttleOf(built, resourcePath, httpMethod)).toMatchObject({
      ThrottlingRateLimit: Defaults.publicRouteThrottle.rateLimit,
      ThrottlingBurstLimit: Defaults.publicRouteThrottle.burstLimit,
    });
  });

  it.each(['ECC_NIST_P256', 'RSA_2048'] as const)(
    "the local gateway throttles each public route as the %s stack's method settings do (differential)",
    async (keySpec) => {
      const throttled = methodSettings(buildApp({ settings: { keySpec } })).filter((m) => m.ThrottlingBurstLimit !== undefined);
      expect(throttled).toHaveLength(API_ROUTES.filter((route) => route.auth === 'public').length);
      let nowMs = 1_800_000_000_000;
      const ok = async () => ({ statusCode: 200, body: '{}' });
      const gateway = new LocalGateway({
        handlers: { token: ok, admin: ok, leaks: ok, authorizer: async () => Promise.reject(new Error('Unauthorized')) },
        adminToken: 'tga_test',
        upstreamUrl: await closedPortUrl(),
        authorizerCacheTtlSeconds: 0,
        writeAccessLog: () => undefined,
        stageThrottles: stageThrottlesFor({ keySpec }),
        now: () => nowMs,
      });
      const url = `http://127.0.0.1:${await gateway.listen(0)}`;
      try {
        for (const setting of throttled) {
          // ResourcePath: a leading slash, then the resource path with each `/` written `~1`.
          const path = String(setting.ResourcePath).slice(1).replaceAll('~1', '/').replace('{service}', 'orders');
          const call = async () =>
            (await fetch(`${url}${path}`, { method: String(setting.HttpMethod), ...(setting.HttpMethod === 'POST' && { body: '{}' }) })).status;
          // The clock stands still: the whole burst, then THROTTLED; a second later, the rate's worth more.
          const burst = [];
          for (let i = 0; i <= Number(setting.ThrottlingBurstLimit); i += 1) burst.push(await call());
          expect(
            burst.filter((status) => status === 200),
            path,
          ).toHaveLength(Number(setting.ThrottlingBurstLimit));
          expect(burst.at(-1), path).toBe(429);
          const refused = await fetch(`${url}${path}`, { method: String(setting.HttpMethod) });
          expect(await refused.json(), path).toEqual(THROTTLED.body);
          expect(refused.headers.get('retry-after'), path).toBe(THROTTLED.headers['Retry-After']);
          nowMs += 1000;
          const refill = [];
          for (let i = 0; i <= Number(setting.ThrottlingRateLimit); i += 1) refill.push(await call());
          expect(
            refill.filter((status) => status === 200),
            path,
          ).toHaveLength(Math.min(Number(setting.ThrottlingRateLimit), Number(setting.ThrottlingBurstLimit)));
        }
      } finally {
        await gateway.close();
      }
    },
    60_000,
  );

  it("keeps the stage's metrics and logging settings on the throttled methods, and throttles nothing else", () => {
    const settings = methodSettings(built);
    expect(settings.map((m) => `${m.HttpMethod} ${m.ResourcePath}`).sort()).toEqual([
      '* /*',
      'GET /~1.well-known~1jwks.json',
      'GET /~1.well-known~1oauth-authorization-server',
      'GET /~1.well-known~1oauth-protected-resource',
      'GET /~1.well-known~1oauth-protected-resource~1{service}',
      'POST /~1leaks~1revoke',
      'POST /~1oauth~1revoke',
      'POST /~1oauth~1token',
      'POST /~1secret-scanning~1github',
    ]);
    for (const setting of settings) expect(setting).toMatchObject({ MetricsEnabled: true, DataTraceEnabled: false, LoggingLevel: 'OFF' });
    expect(settings.find((m) => m.ResourcePath === '/*')).not.toHaveProperty('ThrottlingRateLimit');
  });
});

describe('operatorPrincipals: the resource policy of the admin routes', () => {
  const OPERATOR = 'arn:aws:iam::123456789012:role/tollgate-operator';
  const OPERATORS = [OPERATOR, 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_Ops_*'];
  const withOperators = () => buildApp({ settings: { operatorPrincipals: OPERATORS } });
  const restApi = (app: BuiltApp) => Object.values(template(app.api).findResources('AWS::ApiGateway::RestApi'))[0]!.Properties;
  const deploymentId = (app: BuiltApp) => Object.keys(template(app.api).findResources('AWS::ApiGateway::Deployment'))[0];

  /** IAM's ArnLike / StringLike: `*` any run of characters (`/` included), `?` one. */
  const like = (pattern: string, value: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    ).test(value);

  /** The resource policy's verdict on one request (explicit Deny wins; otherwise an Allow must match). */
  function decide(statements: Statement[], request: { method: string; path: string; principalArn?: string }): 'allow' | 'deny' | 'implicit-deny' {
    const arn = `execute-api:/v1/${request.method}${request.path}`;
    const applies = (s: Statement) => {
      if (![s.Resource].flat().some((r) => like(String(r), arn))) return false;
      const notLike = s.Condition?.ArnNotLike?.['aws:PrincipalArn'] as string[] | undefined;
      // A negated operator on an absent key matches.
      return !notLike || request.principalArn === undefined || !notLike.some((p) => like(p, request.principalArn!));
    };
    if (statements.some((s) => s.Effect === 'Deny' && applies(s))) return 'deny';
    return statements.some((s) => s.Effect === 'Allow' && applies(s)) ? 'allow' : 'implicit-deny';
  }

  it('is absent without the setting: any principal allowed execute-api:Invoke is an operator, as before', () => {
    expect(restApi(built)).not.toHaveProperty('Policy');
  });

  it('denies the admin routes to every principal that matches no pattern, and nothing else to anyone', () => {
    const statements = restApi(withOperators()).Policy.Statement as Statement[];
    const other = 'arn:aws:iam::123456789012:role/ci-deployer';
    const sso = 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Ops_0123abcd';
    for (const route of API_ROUTES) {
      const path = route.resource.replace(/\{[^}]+\}/g, 'x');
      if (route.auth === 'operator') {
        expect(decide(statements, { method: route.method, path, principalArn: OPERATOR }), path).toBe('allow');
        expect(decide(statements, { method: route.method, path, principalArn: sso }), path).toBe('allow');
        expect(decide(statements, { method: route.method, path, principalArn: other }), path).toBe('deny');
        expect(decide(statements, { method: route.method, path }), path).toBe('deny');
      } else {
        // Token, revocation and JWKS routes are not IAM-authorized: anonymous callers must pass.
        expect(decide(statements, { method: route.method, path }), path).toBe('allow');
      }
    }
    // Upstream paths, anonymous at the resource policy (the authorizer decides), even with "admin" deeper in them.
    for (const path of ['/', '/orders/42', '/orders/admin/x', '/v1/admin/x']) {
      for (const method of ['GET', 'POST', 'DELETE']) expect(decide(statements, { method, path }), `${method} ${path}`).toBe('allow');
    }
    // Every method under /admin/ is an operator's, also one that reaches the upstream proxy.
    expect(decide(statements, { method: 'PATCH', path: '/admin/anything', principalArn: other })).toBe('deny');
    expect(decide(statements, { method: 'HEAD', path: '/admin/signing-keys' })).toBe('deny');
    // The admin prefix itself, with and without a trailing slash.
    for (const path of ['/admin', '/admin/']) {
      for (const method of HTTP_METHODS) expect(decide(statements, { method, path, principalArn: other }), `${method} ${path}`).toBe('deny');
    }
  });

  it("refers to no resource of the stack (the API's own ARN would be a cycle) and redeploys the stage when it changes", () => {
    const app = withOperators();
    expect(JSON.stringify(restApi(app).Policy)).not.toMatch(/"Ref"|Fn::GetAtt/);
    expect(referenceCycle(template(app.api).toJSON().Resources)).toBeUndefined();
    // API Gateway applies a changed resource policy only with a new deployment; CDK hashes the
    // RestApi's properties, policy included, into the deployment's logical id.
    const ids = new Set([deploymentId(built), deploymentId(app), deploymentId(buildApp({ settings: { operatorPrincipals: [OPERATOR] } }))]);
    expect(ids.size).toBe(3);
  });

  it('pins the admin Deny to the configured stage', () => {
    const statements = restApi(buildApp({ settings: { operatorPrincipals: [OPERATOR], stageName: 'prod' } })).Policy.Statement as Statement[];
    const deny = statements.find((s) => s.Effect === 'Deny')!;
    for (const resource of [deny.Resource].flat()) expect(String(resource)).toMatch(/^execute-api:\/prod\/[A-Z]+\/admin(\/\*)?$/);
  });
});

describe('access logs', () => {
  it('writes the shared JSON line to a log group kept for a year', () => {
    const logGroupId = logicalId(built.api.gateway.accessLogs);
    template(built.api).hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: Setting.stageName.default,
      AccessLogSetting: { DestinationArn: { 'Fn::GetAtt': [logGroupId, 'Arn'] }, Format: accessLogFormat() },
      MethodSettings: Match.arrayWith([Match.objectLike({ ResourcePath: '/*', HttpMethod: '*', DataTraceEnabled: false, MetricsEnabled: true })]),
    });
    template(built.api).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  it('is one JSON object naming every field once, with the attribution variables the issue asks for', () => {
    const sample = accessLogFormat().replace(/\$context\.[A-Za-z.]+/g, (variable) =>
      variable.endsWith('Epoch') || variable === '$context.status' || variable === '$context.responseLatency' ? '1' : 'x',
    );
    const line = JSON.parse(sample) as Record<string, unknown>;
    expect(Object.keys(line)).toEqual(Object.keys(ACCESS_LOG_FIELDS));
    const expressions = Object.values(ACCESS_LOG_FIELDS).map((f) => f.expression);
    for (const variable of [
      '$context.extendedRequestId',
      '$context.requestTime',
      '$context.httpMethod',
      '$context.path',
      '$context.resourcePath',
      '$context.status',
      '$context.responseLatency',
      '$context.authorizer.principalId',
      '$context.authorizer.clientId',
      '$context.authorizer.jti',
      '$context.authorizer.scopes',
      '$context.authorizer.keyId',
      '$context.authorizer.error',
      '$context.identity.sourceIp',
      '$context.identity.caller',
    ]) {
      expect(expressions).toContain(variable);
    }
    // API Gateway does not escape what it substitutes: a User-Agent could write keys into the line,
    // and so could an IAM user's path (IAM allows `"` and `\` in it), which its ARN holds.
    expect(expressions).not.toContain('$context.identity.userAgent');
    expect(expressions).not.toContain('$context.identity.userArn');
  });

  it('takes no text a client sets in any field before the path, the one client-chosen field, which comes last', () => {
    // Each reviewed: written by API Gateway itself, by the authorizer from a verified token, or by IAM.
    // `$context.requestId` is not here: it is the x-amzn-RequestId header, which a client may set;
    // nor `$context.identity.userArn`: an IAM user's ARN holds its path, which may hold `"` and `\`.
    const notClientText = new Set([
      '$context.extendedRequestId',
      '$context.apiId',
      '$context.requestTime',
      '$context.requestTimeEpoch',
      '$context.httpMethod',
      '$context.resourcePath',
      '$context.status',
      '$context.responseLatency',
      '$context.error.responseType',
      '$context.authorizer.principalId',
      '$context.authorizer.clientId',
      '$context.authorizer.jti',
      '$context.authorizer.scopes',
      '$context.authorizer.keyId',
      '$context.authorizer.kid',
      '$context.authorizer.error',
      '$context.authorizer.refusal',
      '$context.authorizer.latency',
      '$context.integration.status',
      '$context.identity.sourceIp',
      '$context.identity.accountId',
      '$context.identity.caller',
    ]);
    const fields = Object.entries(ACCESS_LOG_FIELDS);
    expect(fields.at(-1)![0]).toBe(ACCESS_LOG_CLIENT_TEXT);
    for (const [name, field] of fields.slice(0, -1)) expect(notClientText, `${name}: ${field.expression}`).toContain(field.expression);
  });
});

describe('WAF', () => {
  it('associates the configured web ACL with the stage, and none otherwise', () => {
    expect(Object.keys(resources('AWS::WAFv2::WebACLAssociation'))).toHaveLength(0);
    const arn = 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/tollgate/0123abcd-0000-1111-2222-333344445555';
    const withWaf = buildApp({ settings: { wafWebAclArn: arn } });
    const stageId = withWaf.api.getLogicalId(withWaf.api.gateway.api.deploymentStage.node.defaultChild as never);
    const apiId = withWaf.api.getLogicalId(withWaf.api.gateway.api.node.defaultChild as never);
    template(withWaf.api).hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      WebACLArn: arn,
      ResourceArn: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ Ref: apiId }, '/stages/', { Ref: stageId }])] }),
    });
  });

  it("refuses at synth a web ACL of another Region than the stack's, when the stack's Region is known", () => {
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:regional/webacl/tollgate/0123abcd-0000-1111-2222-333344445555';
    const inRegion = (region: string) => () => buildApp({ settings: { wafWebAclArn: arn }, env: { account: '123456789012', region } });
    expect(inRegion('eu-west-1')).toThrow(ConfigError);
    expect(inRegion('eu-west-1')).toThrow(
      /Invalid Tollgate configuration: wafWebAclArn must be a web ACL in the stack's Region eu-west-1 .*got one in us-east-1/,
    );
    expect(() => template(inRegion('us-east-1')().api).resourceCountIs('AWS::WAFv2::WebACLAssociation', 1)).not.toThrow();
  });

  it('refuses a web ACL ARN that is a token (an import), naming wafWebAclArn: settings are known at synth', () => {
    const build = () => buildApp({ settings: { wafWebAclArn: Fn.importValue('SharedWebAclArn') } });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(/Invalid Tollgate configuration: wafWebAclArn must be the ARN of a regional WAFv2 web ACL/);
  });
});
