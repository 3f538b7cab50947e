import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTES } from '../../common/gateway-contract';
import { pendingPublicationSeconds, retiringVerificationSeconds } from '../../common/defaults';
import { ANOMALY_DEFAULTS } from '../../common/usage';
import { functionSettings } from '../../lib/function-settings';
import { minRotationIntervalDays, readConfig } from '../../lib/config';
import type { SettingName } from '../../lib/settings';
import { buildApp, UPSTREAM } from './app';
import * as Setting from '../../common/settings';

const read = (settings: Partial<Record<SettingName, unknown>>) => readConfig((name) => ({ upstreamUrl: UPSTREAM, ...settings })[name]);

const SERVICES = [
  {
    name: 'billing',
    pathPrefix: '/billing',
    upstreamUrl: 'https://billing.internal.example/',
    routes: [{ method: 'GET', path: '/invoices/{id}', scopes: ['billing:read'] }],
  },
  {
    name: 'orders',
    pathPrefix: '/orders',
    upstreamUrl: 'https://orders.internal.example',
    stripPrefix: false,
    routes: [{ method: 'GET', path: '/{id}', scopes: ['orders:read'] }],
  },
];
const readServices = (settings: Partial<Record<SettingName, unknown>>) => readConfig((name) => settings[name]);

describe('readConfig: services', () => {
  it('reads several services (JSON string or value), without upstreamUrl, and gives the functions their JSON without the upstream URLs', () => {
    const config = readServices({ services: JSON.stringify(SERVICES) });
    expect(config).toEqual(readServices({ services: SERVICES }));
    expect(config.servicesConfigured).toBe(true);
    expect(config.services.map((s) => s.upstreamUrl)).toEqual(['https://billing.internal.example', 'https://orders.internal.example']);
    const env = functionSettings(config);
    const forFunctions = JSON.parse(env.authorizer[Setting.services.env]!) as Record<string, unknown>[];
    expect(forFunctions.map((s) => s.name)).toEqual(['billing', 'orders']);
    expect(forFunctions.every((s) => !('upstreamUrl' in s))).toBe(true);
    expect(env.token[Setting.services.env]).toBe(env.authorizer[Setting.services.env]);
    expect(env.authorizer[Setting.routes.env]).toBeUndefined();
  });

  it('sets no TOLLGATE_SERVICES in the single-service form (the functions serve it as before)', () => {
    const env = functionSettings(read({}));
    expect(env.authorizer[Setting.services.env]).toBeUndefined();
    expect(env.token[Setting.services.env]).toBeUndefined();
  });

  it.each([
    ['not JSON', { services: '[{' }, /services is not valid JSON/],
    ['empty', { services: [] }, /services must be a non-empty array/],
    [
      'overlapping prefixes',
      { services: [SERVICES[0], { ...SERVICES[1], pathPrefix: '/billing/v2' }] },
      /\[1\] \(orders\) pathPrefix "\/billing\/v2" overlaps "\/billing"/,
    ],
    ['root prefix beside another', { services: [SERVICES[0], { ...SERVICES[1], pathPrefix: '/' }] }, /may be "\/" only when there is one service/],
    ['a reserved prefix', { services: [{ ...SERVICES[0], pathPrefix: '/oauth' }] }, /overlaps Tollgate's own routes under \/oauth/],
    ['the leak prefix', { services: [{ ...SERVICES[0], pathPrefix: '/leaks' }] }, /overlaps Tollgate's own routes under \/leaks/],
    ['a prefix on a leak route', { services: [{ ...SERVICES[0], pathPrefix: '/leaks/revoke' }] }, /overlaps Tollgate's own routes under \/leaks/],
    [
      'a prefix on the secret-scanning route',
      { services: [{ ...SERVICES[0], pathPrefix: '/secret-scanning/github' }] },
      /overlaps Tollgate's own routes under \/secret-scanning/,
    ],
    [
      "a root service's rule on Tollgate's own route",
      { services: [{ ...SERVICES[0], pathPrefix: '/', routes: [{ method: 'POST', path: '/oauth/token', scopes: ['x'] }] }] },
      /\(billing\) routes\s?\[0\] \(POST \/oauth\/token\): is Tollgate's own route POST \/oauth\/token/,
    ],
    ['duplicate names', { services: [SERVICES[0], { ...SERVICES[1], name: 'billing' }] }, /same name as an earlier service/],
    [
      'duplicate audiences',
      {
        services: [
          { ...SERVICES[0], audience: 'a' },
          { ...SERVICES[1], audience: 'a' },
        ],
      },
      /same audience as an earlier service/,
    ],
    ['a bad name', { services: [{ ...SERVICES[0], name: 'Billing' }] }, /name must be 1–32 lower-case/],
    ['a service without a name, by its index alone', { services: [{ ...SERVICES[0], name: undefined }] }, /services \[0\] name must be 1–32 lower-case/],
    ['an unknown field', { services: [{ ...SERVICES[0], upstream: 'x' }] }, /unknown field "upstream"/],
    ['a bad rule', { services: [{ ...SERVICES[0], routes: [{ method: 'GET', path: 'x', scopes: [] }] }] }, /\(billing\) routes\s?\[0\].*path must start/],
    ['a bad scope', { services: [{ ...SERVICES[0], scopes: ['has space'] }] }, /scopes must be an array of scope tokens/],
    ['no upstream', { services: [{ ...SERVICES[0], upstreamUrl: undefined }] }, /\(billing\) upstreamUrl is required/],
    ['a plain-http upstream', { services: [{ ...SERVICES[0], upstreamUrl: 'http://billing.internal.example' }] }, /\(billing\) upstreamUrl must use https/],
    ['services and upstreamUrl together', { services: SERVICES, upstreamUrl: UPSTREAM }, /services replaces upstreamUrl/],
    ['services and routes together', { services: SERVICES, routes: [] }, /services replaces routes/],
    [
      "too large for the functions' environment",
      {
        services: [
          {
            ...SERVICES[0],
            routes: Array.from({ length: 60 }, (_, i) => ({ method: 'GET', path: `/route-number-${i}/{id}`, scopes: [`billing:scope-${i}`] })),
          },
        ],
      },
      /services takes \d+ bytes in the functions' environment/,
    ],
  ])('refuses %s, naming the setting and the service', (_name, settings, message) => {
    expect(() => readServices(settings as Partial<Record<SettingName, unknown>>)).toThrow(message);
  });
});

describe('readConfig', () => {
  it('fills every unset setting from the shared defaults', () => {
    const config = read({});
    expect(config).toEqual({
      upstreamUrl: UPSTREAM,
      routes: DEFAULT_ROUTES,
      unmatchedRoutes: Setting.unmatchedRoutes.default,
      tokenTtlSeconds: Setting.tokenTtlSeconds.default,
      keySpec: Setting.keySpec.default,
      rotationIntervalDays: Setting.rotationIntervalDays.default,
      keyDeletionWindowDays: Setting.keyDeletionWindowDays.default,
      authorizerCacheTtlSeconds: Setting.authorizerCacheTtlSeconds.default,
      revocationPollMs: Setting.revocationPollMs.default,
      revocationViewMaxStaleSeconds: Setting.revocationViewMaxStaleSeconds.default,
      stageName: Setting.stageName.default,
      audience: Setting.audience.default,
      expiryWarningDays: Setting.expiryWarningDays.default,
      staleKeyDays: Setting.staleKeyDays.default,
      forwardBearerToken: Setting.forwardBearerToken.default,
      upstreamCertificateGeneration: Setting.upstreamCertificateGeneration.default,
      prepareNextUpstreamCertificate: false,
      // The single-service form is one service at the root, with the old audience: tokens already issued stay valid.
      services: [{ name: 'default', pathPrefix: '/', stripPrefix: false, audience: Setting.audience.default, upstreamUrl: UPSTREAM, routes: DEFAULT_ROUTES }],
      servicesConfigured: false,
      apiKeyPrefix: 'tg_',
      secretScanningKeysUrl: 'https://api.github.com/meta/public_keys/secret_scanning',
      usageMinuteRetentionDays: 7,
      usageHourRetentionDays: 90,
      usageDayRetentionDays: 400,
      anomalyDetection: ANOMALY_DEFAULTS,
      allowLogSampleRate: 0.01,
    });
  });

  it('reads anomaly thresholds over the defaults, from cdk.json or -c, and refuses each bad one by name', () => {
    expect(read({ anomalyDetection: { spikeFactor: 20, warmupMinutes: 120 } }).anomalyDetection).toEqual({
      ...ANOMALY_DEFAULTS,
      spikeFactor: 20,
      warmupMinutes: 120,
    });
    expect(read({ anomalyDetection: '{"newNetworks": 3}' }).anomalyDetection.newNetworks).toBe(3);
    expect(() => read({ anomalyDetection: '{nope' })).toThrow(/anomalyDetection is not valid JSON/);
    expect(() => read({ anomalyDetection: [1] })).toThrow('Invalid Tollgate configuration: anomalyDetection must be an object of thresholds');
    expect(() => read({ anomalyDetection: { spikefactor: 20 } })).toThrow('anomalyDetection has an unknown threshold "spikefactor"');
    expect(() => read({ anomalyDetection: { spikeFactor: 1 } })).toThrow('anomalyDetection threshold spikeFactor must be a number from 2 to 1000, got 1');
    expect(() => read({ anomalyDetection: { spikeMinutes: 1.5 } })).toThrow(
      'anomalyDetection threshold spikeMinutes must be a whole number from 1 to 60, got 1.5',
    );
  });

  it('words the refusal of a JSON setting alike from a -c string and from a cdk.json value', () => {
    const rules = [{ method: 'GET', path: 'x', scopes: [] }];
    const message = 'Invalid Tollgate configuration: routes [0] (GET x): path must start with "/"';
    expect(() => read({ routes: rules })).toThrow(message);
    expect(() => read({ routes: JSON.stringify(rules) })).toThrow(message);
    expect(() => read({ routes: '[' })).toThrow(/^Invalid Tollgate configuration: routes is not valid JSON: /);
    expect(read({ routes: JSON.stringify(DEFAULT_ROUTES) }).routes).toEqual(read({ routes: DEFAULT_ROUTES }).routes);
  });

  it('reads the usage retention settings and refuses each bad one by name', () => {
    expect(read({ usageMinuteRetentionDays: '3', usageHourRetentionDays: 30, usageDayRetentionDays: 3650 })).toMatchObject({
      usageMinuteRetentionDays: 3,
      usageHourRetentionDays: 30,
      usageDayRetentionDays: 3650,
    });
    expect(() => read({ usageMinuteRetentionDays: 36 })).toThrow(
      'Invalid Tollgate configuration: usageMinuteRetentionDays must be a whole number of days from 1 to 35, got 36',
    );
    expect(() => read({ usageHourRetentionDays: 'x' })).toThrow('usageHourRetentionDays must be a whole number of days from 1 to 400, got "x"');
    expect(() => read({ usageHourRetentionDays: 5 })).toThrow('usageHourRetentionDays must be at least usageMinuteRetentionDays (7), got 5');
    expect(() => read({ usageDayRetentionDays: 89 })).toThrow('usageDayRetentionDays must be at least usageHourRetentionDays (90), got 89');
    expect(() => readConfig((name) => ({ upstreamUrl: UPSTREAM })[name as string], ['usageMinuteRetentiondays'])).toThrow(
      /usageMinuteRetentionDays is spelled/,
    );
  });

  it('reads `-c name=value` strings and cdk.json values alike', () => {
    const routes = [{ method: 'GET', path: '/things/{id}', scopes: ['things:read'] }];
    const fromCli = read({ tokenTtlSeconds: '600', forwardBearerToken: 'true', routes: JSON.stringify(routes), keySpec: 'RSA_2048' });
    const fromJson = read({ tokenTtlSeconds: 600, forwardBearerToken: true, routes, keySpec: 'RSA_2048' });
    expect(fromCli).toEqual(fromJson);
    expect(fromCli).toMatchObject({ tokenTtlSeconds: 600, forwardBearerToken: true, routes, keySpec: 'RSA_2048' });
  });

  it('bounds revocationViewMaxStaleSeconds by the token lifetime, and hands it to the authorizer', () => {
    expect(read({ tokenTtlSeconds: 300, revocationViewMaxStaleSeconds: 300 }).revocationViewMaxStaleSeconds).toBe(300);
    // A token lifetime shorter than the default bound lowers the default with it.
    expect(read({ tokenTtlSeconds: Setting.tokenTtlSeconds.min }).revocationViewMaxStaleSeconds).toBe(
      Math.min(Setting.revocationViewMaxStaleSeconds.default, Setting.tokenTtlSeconds.min),
    );
    expect(functionSettings(read({ revocationViewMaxStaleSeconds: 120 })).authorizer[Setting.revocationViewMaxStaleSeconds.env]).toBe('120');
  });

  it('drops a trailing slash of the upstream URL (the proxy appends /{proxy})', () => {
    expect(read({ upstreamUrl: 'https://up.example.com/base/' }).upstreamUrl).toBe('https://up.example.com/base');
  });

  it('accepts the bounds themselves', () => {
    const config = read({
      tokenTtlSeconds: Setting.tokenTtlSeconds.max,
      keyDeletionWindowDays: Setting.keyDeletionWindowDays.min,
      revocationPollMs: Setting.revocationPollMs.min,
      authorizerCacheTtlSeconds: 0,
      rotationIntervalDays: minRotationIntervalDays(),
    });
    expect(config.tokenTtlSeconds).toBe(Setting.tokenTtlSeconds.max);
    expect(config.authorizerCacheTtlSeconds).toBe(0);
  });

  it('reads operatorPrincipals as a JSON array (-c), an array (cdk.json) or one plain ARN, and leaves it unset by default', () => {
    const role = 'arn:aws:iam::123456789012:role/tollgate-operator';
    const sso = 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/*AWSReservedSSO_Ops_*';
    expect(read({}).operatorPrincipals).toBeUndefined();
    expect(read({ operatorPrincipals: JSON.stringify([role, sso]) }).operatorPrincipals).toEqual([role, sso]);
    expect(read({ operatorPrincipals: [role, sso] }).operatorPrincipals).toEqual([role, sso]);
    expect(read({ operatorPrincipals: role }).operatorPrincipals).toEqual([role]);
    const others = ['arn:aws:iam::123456789012:user/alice', 'arn:aws:iam::123456789012:root', 'arn:aws-cn:iam::123456789012:role/ops?'];
    expect(read({ operatorPrincipals: others }).operatorPrincipals).toEqual(others);
  });

  it('derives the shortest rotation interval from the overlap windows', () => {
    const overlapDays = (pendingPublicationSeconds() + retiringVerificationSeconds()) / 86_400;
    expect(minRotationIntervalDays()).toBe(Math.max(1, Math.ceil(overlapDays)));
  });
});

describe('invalid configuration fails synth naming the setting', () => {
  const cases: ReadonlyArray<readonly [string, Partial<Record<SettingName, unknown>>, RegExp]> = [
    ['missing upstreamUrl', { upstreamUrl: undefined }, /upstreamUrl is required unless services is given: -c upstreamUrl=https:\/\/… on the CDK command line/],
    ['non-https upstreamUrl', { upstreamUrl: 'http://up.example.com' }, /upstreamUrl must use https/],
    ['malformed upstreamUrl', { upstreamUrl: 'up.example.com/x' }, /upstreamUrl must be an absolute URL/],
    ['upstreamUrl with a query', { upstreamUrl: 'https://up.example.com/?a=1' }, /upstreamUrl must not carry a query/],
    ['token TTL over the maximum', { tokenTtlSeconds: Setting.tokenTtlSeconds.max + 1 }, /tokenTtlSeconds must be a whole number from 60 to 3600/],
    ['token TTL below the minimum', { tokenTtlSeconds: '10' }, /tokenTtlSeconds/],
    ['fractional token TTL', { tokenTtlSeconds: '900.5' }, /tokenTtlSeconds/],
    ['unknown keySpec', { keySpec: 'RSA_4096' }, /keySpec must be one of ECC_NIST_P256, RSA_2048/],
    ['rotation interval shorter than the overlap windows', { rotationIntervalDays: 0 }, /rotationIntervalDays must be at least 1: a new key is published/],
    ["rotation interval past the functions' bound", { rotationIntervalDays: Setting.rotationIntervalDays.max + 1 }, /rotationIntervalDays/],
    ['deletion window below 7', { keyDeletionWindowDays: 6 }, /keyDeletionWindowDays must be a whole number from 7 to 30/],
    ['deletion window above 30', { keyDeletionWindowDays: '31' }, /keyDeletionWindowDays/],
    ["authorizer cache TTL above API Gateway's", { authorizerCacheTtlSeconds: 3601 }, /authorizerCacheTtlSeconds/],
    [
      'authorizer cache TTL that would accept a token more than 300 s after exp',
      { authorizerCacheTtlSeconds: 271 },
      /authorizerCacheTtlSeconds must be at most 270: a decision cached just before a token's exp is reused for the whole TTL.*accepted up to 301 s after it expired/,
    ],
    ['ambiguous literal route segment', { routes: [{ method: 'GET', path: '/a/%2e%2e', scopes: [] }] }, /routes \[0\].*segment "%2e%2e" is ambiguous/],
    [
      "a rule on Tollgate's own token route",
      { routes: [...DEFAULT_ROUTES, { method: 'POST', path: '/oauth/token', scopes: ['x'] }] },
      /routes \[6\] \(POST \/oauth\/token\): is Tollgate's own route POST \/oauth\/token, which never reaches the upstream/,
    ],
    [
      "a rule on Tollgate's own leak route",
      { routes: [{ method: 'POST', path: '/leaks/revoke', scopes: ['x'] }] },
      /routes \[0\] \(POST \/leaks\/revoke\): is Tollgate's own route/,
    ],
    [
      "a rule on Tollgate's own admin route, with a literal for its parameter",
      { routes: [{ method: 'DELETE', path: '/admin/clients/acme', scopes: ['x'] }] },
      /routes \[0\] \(DELETE \/admin\/clients\/acme\): is Tollgate's own route DELETE \/admin\/clients\/\{clientId\}/,
    ],
    ['poll interval too short', { revocationPollMs: Setting.revocationPollMs.min - 1 }, /revocationPollMs must be a whole number from 100 to 1000/],
    ['poll interval too long', { revocationPollMs: 5000 }, /revocationPollMs/],
    ['view staleness below a few polls', { revocationViewMaxStaleSeconds: 4 }, /revocationViewMaxStaleSeconds must be a whole number from 5 to 3600/],
    [
      'view staleness beyond the token lifetime',
      { tokenTtlSeconds: 300, revocationViewMaxStaleSeconds: 301 },
      /revocationViewMaxStaleSeconds must not exceed tokenTtlSeconds \(300\), got 301/,
    ],
    ['view staleness not a number', { revocationViewMaxStaleSeconds: 'soon' }, /revocationViewMaxStaleSeconds/],
    ['routes not JSON', { routes: '[{' }, /routes is not valid JSON/],
    ['routes not an array', { routes: { method: 'GET' } }, /routes must be an array/],
    ['route with a bad method', { routes: [{ method: 'FETCH', path: '/a', scopes: [] }] }, /routes \[0\] \(FETCH \/a\): method must be ANY or one of/],
    ['route path without a leading slash', { routes: [{ method: 'GET', path: 'a', scopes: [] }] }, /routes \[0\].*path must start with "\/"/],
    ['greedy segment not last', { routes: [{ method: 'GET', path: '/{proxy+}/x', scopes: [] }] }, /routes \[0\].*greedy \{name\+\} segment must be the last/],
    ['wildcard in a literal segment', { routes: [{ method: 'GET', path: '/a*', scopes: [] }] }, /routes \[0\].*segment "a\*"/],
    ['scope with a space', { routes: [{ method: 'GET', path: '/a', scopes: ['a b'] }] }, /routes \[0\].*scopes must be an array of scope tokens/],
    ['unknown route field', { routes: [{ method: 'GET', path: '/a', scopes: [], auth: 'none' }] }, /routes \[0\].*unknown field "auth"/],
    [
      'duplicate route',
      {
        routes: [
          { method: 'GET', path: '/a', scopes: [] },
          { method: 'GET', path: '/a', scopes: ['x'] },
        ],
      },
      /routes \[1\] \(GET \/a\) duplicates/,
    ],
    ['unknown unmatchedRoutes', { unmatchedRoutes: 'maybe' }, /unmatchedRoutes must be one of deny, allow/],
    ['bad stage name', { stageName: 'v 1' }, /stageName must be 1–128 letters/],
    ['non-https issuer', { issuer: 'http://issuer.example.com' }, /issuer must use https/],
    ['audience with whitespace', { audience: 'a b' }, /audience must be 1–256 characters without whitespace/],
    ['non-boolean forwardBearerToken', { forwardBearerToken: 'yes' }, /forwardBearerToken must be true or false/],
    ['expiry warning of 0 days', { expiryWarningDays: 0 }, /expiryWarningDays/],
    ['stale key days past the bound', { staleKeyDays: Setting.staleKeyDays.max + 1 }, /staleKeyDays/],
    ['a web ACL ARN that is not one', { wafWebAclArn: 'arn:aws:s3:::bucket' }, /wafWebAclArn must be the ARN of a regional WAFv2 web ACL/],
    ['operatorPrincipals not JSON', { operatorPrincipals: '["arn:aws:iam::123456789012:root"' }, /operatorPrincipals is not valid JSON/],
    ['operatorPrincipals not a list', { operatorPrincipals: { role: 'x' } }, /operatorPrincipals must be a JSON array of IAM principal ARN patterns/],
    ['empty operatorPrincipals (would lock every operator out)', { operatorPrincipals: '[]' }, /operatorPrincipals must name at least one principal/],
    [
      'an operator without an account id',
      { operatorPrincipals: ['arn:aws:iam::*:role/ops'] },
      /operatorPrincipals \[0\] must be the ARN of an IAM role, user or the account root with its 12-digit account id/,
    ],
    ['an operator pattern that is only a wildcard', { operatorPrincipals: ['*'] }, /operatorPrincipals \[0\] must be the ARN/],
    [
      'an operator that is not an IAM principal',
      { operatorPrincipals: ['arn:aws:iam::123456789012:root', 'arn:aws:s3:::ops'] },
      /operatorPrincipals \[1\] must be the ARN/,
    ],
    [
      'an operator given as a role session',
      { operatorPrincipals: ['arn:aws:sts::123456789012:assumed-role/ops/alice'] },
      /operatorPrincipals \[0\] is an STS session ARN.*use the role's ARN, arn:aws:iam::123456789012:role\/ops/,
    ],
    ['certificate generation 0', { upstreamCertificateGeneration: 0 }, /upstreamCertificateGeneration must be a whole number from 1 to 1000/],
    ['fractional certificate generation', { upstreamCertificateGeneration: '2.5' }, /upstreamCertificateGeneration/],
    ['non-boolean prepareNextUpstreamCertificate', { prepareNextUpstreamCertificate: 'soon' }, /prepareNextUpstreamCertificate must be true or false/],
  ];

  it.each(cases)('%s', (_name, settings, message) => {
    expect(() => buildApp({ settings })).toThrow(message);
  });

  it("accepts rules on Tollgate's paths for the methods it does not serve there, which reach the upstream", () => {
    const routes = [
      { method: 'GET', path: '/oauth/token', scopes: ['x'] },
      { method: 'ANY', path: '/leaks/revoke', scopes: ['x'] },
      { method: 'POST', path: '/admin/{proxy+}', scopes: ['x'] },
    ];
    expect(read({ routes }).routes).toEqual(routes);
  });
});

describe('context keys that are near misses of a setting', () => {
  it.each([
    ['tokenTTLSeconds', 'tokenTtlSeconds'],
    ['upstreamURL', 'upstreamUrl'],
    ['revocationPollMS', 'revocationPollMs'],
    ['authorizerCacheTtlSecond', 'authorizerCacheTtlSeconds'],
    ['keyDeletionWindowDay', 'keyDeletionWindowDays'],
    ['operatorPrincipal', 'operatorPrincipals'],
    ['OperatorPrincipals', 'operatorPrincipals'],
    ['upstreamCertificateGenerations', 'upstreamCertificateGeneration'],
    ['prepareNextUpstreamCertificates', 'prepareNextUpstreamCertificate'],
  ])('refuses %s, naming %s', (key, setting) => {
    expect(() => readConfig((name) => ({ upstreamUrl: UPSTREAM })[name as string], ['upstreamUrl', key])).toThrow(
      `Invalid Tollgate configuration: ${setting} is spelled "${key}" in the context`,
    );
  });

  it("leaves CDK's own keys and unrelated names alone", () => {
    const keys = [
      'upstreamUrl',
      '@aws-cdk/core:newStyleStackSynthesis',
      'aws:cdk:bundling-stacks',
      'cli-telemetry',
      'acknowledged-issue-numbers',
      'myTeam',
      'stage',
    ];
    expect(readConfig((name) => ({ upstreamUrl: UPSTREAM })[name as string], keys).upstreamUrl).toBe(UPSTREAM);
  });
});

describe('functionSettings', () => {
  it('hands each function the settings it reads, under the shared variable names', () => {
    const config = read({ tokenTtlSeconds: 600, revocationPollMs: 250, keySpec: 'RSA_2048', audience: 'orders-api' });
    const settings = functionSettings(config);
    expect(settings.authorizer).toEqual({
      [Setting.audience.env]: 'orders-api',
      [Setting.routes.env]: JSON.stringify(DEFAULT_ROUTES),
      [Setting.unmatchedRoutes.env]: 'deny',
      [Setting.revocationPollMs.env]: '250',
      [Setting.revocationViewMaxStaleSeconds.env]: String(Setting.revocationViewMaxStaleSeconds.default),
      TOLLGATE_ALLOW_LOG_SAMPLE_RATE: '0.01',
    });
    // The fan-out times its cache flush by the authorizers' poll: the same value.
    expect(settings.fanout).toEqual({ [Setting.revocationPollMs.env]: '250' });
    expect(settings.token).toEqual({
      [Setting.audience.env]: 'orders-api',
      [Setting.tokenTtlSeconds.env]: '600',
      [Setting.routes.env]: JSON.stringify(DEFAULT_ROUTES),
    });
    expect(settings.rotation).toMatchObject({
      [Setting.keySpec.env]: 'RSA_2048',
      [Setting.rotationIntervalDays.env]: String(Setting.rotationIntervalDays.default),
    });
  });
});
