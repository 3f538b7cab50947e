/**
 * Tollgate's deployment settings (docs/deploy.md#deploy): read once from CDK context by the app,
 * checked here, and handed to the stacks as one typed value (`lib/settings.ts`). Every failure
 * names the setting, so `cdk synth` tells the operator exactly what to fix. Defaults and bounds
 * come from `common/defaults.ts` and `common/setting-checks.ts`, the same values the functions
 * check at cold start; the generic context readers are in `lib/context-readers.ts`, what each
 * function receives from them in `lib/function-settings.ts`.
 */
import { DEFAULT_ROUTES, type RouteRule } from '../common/gateway-contract';
import { authorizerCacheTtlProblem, keysUrlProblem, routeRulesProblem } from '../common/setting-checks';
import {
  Defaults,
  GITHUB_SECRET_SCANNING_KEYS_URL,
  Limits,
  pendingPublicationSeconds,
  retiringVerificationSeconds,
  SECONDS_PER_DAY,
  SettingBounds,
} from '../common/defaults';
import { DEFAULT_API_KEY_PREFIX, KEY_SPECS, apiKeyPrefixProblem, isKeySpec, type KeySpec } from '../common/tokens';
import { servicesEnvironment, servicesProblem, singleService, type ServiceDefinition } from '../common/services';
import {
  anomalySettingsFrom,
  RETENTION_KEYS,
  UsageRetentionDefaults,
  UsageRetentionSetting,
  usageRetentionProblem,
  type AnomalySettings,
} from '../common/usage';
import { boolean, httpsUrl, integer, jsonSetting, oneOf, present, type Read, settingMeantBy, text } from './context-readers';
import { ConfigError, type TollgateConfig } from './settings';

/** API Gateway stage names: letters, digits, `-` and `_`, at most 128 characters. */
const STAGE_NAME = /^[A-Za-z0-9_-]{1,128}$/;
const WEB_ACL_ARN = /^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/[^/]+\/[^/]+$/;
/**
 * What `aws:PrincipalArn` holds for a signed caller: an IAM role (also for its sessions),
 * a user, or the account root, always with the account id. `*` and `?` (ArnLike wildcards)
 * only after the account, so a pattern cannot admit another account by accident.
 */
const OPERATOR_PRINCIPAL = /^arn:aws[a-z-]*:iam::\d{12}:(root|(role|user)\/[A-Za-z0-9+=,.@_/*?-]+)$/;
/** An STS session ARN, which `aws:PrincipalArn` never holds (it carries the session's role). */
const STS_SESSION = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\//;
const OPERATOR_PRINCIPALS_MAX = 50;

/**
 * The shortest rotation interval the ring's overlap windows allow: a new key is published
 * (pending) before it signs, and the key it replaces keeps verifying until the longest
 * token it signed has expired (plus skew); a rotation more frequent than both together
 * would retire a key that may still verify live tokens. The functions read whole days.
 */
export function minRotationIntervalDays(): number {
  const overlapSeconds = pendingPublicationSeconds() + retiringVerificationSeconds();
  return Math.max(1, Math.ceil(overlapSeconds / SECONDS_PER_DAY));
}

/**
 * Reads and checks every setting; throws {@link ConfigError} naming the first bad one.
 * `contextKeys`, every context key given (cdk.json and `-c`), lets it refuse a near miss of
 * a setting's name (`tokenTTLSeconds`), which would otherwise be ignored silently.
 */
export function readConfig(read: Read, contextKeys: Iterable<string> = []): TollgateConfig {
  for (const key of contextKeys) {
    const meant = settingMeantBy(key);
    if (meant) throw new ConfigError(meant, `is spelled "${key}" in the context; setting names are case-sensitive`);
  }
  const configuredServices = services(read);
  const upstreamUrl = httpsUrl(read, 'upstreamUrl', configuredServices === undefined);
  const issuer = httpsUrl(read, 'issuer', false);
  const wafWebAclArn = text(read, 'wafWebAclArn', undefined, WEB_ACL_ARN, 'must be the ARN of a regional WAFv2 web ACL');
  const operatorPrincipals = readOperatorPrincipals(read);
  const authorizerCacheTtlSeconds = integer(read, 'authorizerCacheTtlSeconds', Defaults.authorizerCacheTtlSeconds, 0, Limits.authorizerCacheTtlSecondsMax);
  const cacheProblem = authorizerCacheTtlProblem(authorizerCacheTtlSeconds);
  if (cacheProblem) throw new ConfigError('authorizerCacheTtlSeconds', `${cacheProblem}, got ${authorizerCacheTtlSeconds}`);
  const routeRules = routes(read);
  const audience = text(read, 'audience', Defaults.audience, /^\S{1,256}$/, 'must be 1–256 characters without whitespace')!;
  const trimmedUpstream = upstreamUrl?.replace(/\/+$/, '');
  const tokenTtlSeconds = integer(read, 'tokenTtlSeconds', Defaults.tokenTtlSeconds, Limits.tokenTtlSecondsMin, Limits.tokenTtlSecondsMax);
  return {
    ...(trimmedUpstream && { upstreamUrl: trimmedUpstream }),
    routes: routeRules,
    services: configuredServices ?? [singleService({ upstreamUrl: trimmedUpstream!, routes: routeRules, audience })],
    servicesConfigured: configuredServices !== undefined,
    unmatchedRoutes: oneOf(read, 'unmatchedRoutes', ['deny', 'allow'] as const, Defaults.unmatchedRoutes),
    tokenTtlSeconds,
    keySpec: keySpec(read),
    rotationIntervalDays: rotationIntervalDays(read),
    keyDeletionWindowDays: integer(
      read,
      'keyDeletionWindowDays',
      Defaults.keyDeletionWindowDays,
      Limits.keyDeletionWindowDaysMin,
      Limits.keyDeletionWindowDaysMax,
    ),
    authorizerCacheTtlSeconds,
    revocationPollMs: integer(read, 'revocationPollMs', Defaults.revocationPollMs, Limits.revocationPollMsMin, Limits.revocationPollMsMax),
    revocationViewMaxStaleSeconds: revocationViewMaxStaleSeconds(read, tokenTtlSeconds),
    stageName: text(read, 'stageName', Defaults.stageName, STAGE_NAME, 'must be 1–128 letters, digits, "-" or "_"')!,
    ...(issuer && { issuer }),
    audience,
    expiryWarningDays: integer(read, 'expiryWarningDays', Defaults.expiryWarningDays, 1, SettingBounds.hygieneDaysMax),
    staleKeyDays: integer(read, 'staleKeyDays', Defaults.staleKeyDays, 1, SettingBounds.hygieneDaysMax),
    forwardBearerToken: boolean(read, 'forwardBearerToken', Defaults.forwardBearerToken),
    ...(wafWebAclArn && { wafWebAclArn }),
    ...(operatorPrincipals && { operatorPrincipals }),
    upstreamCertificateGeneration: integer(
      read,
      'upstreamCertificateGeneration',
      Defaults.upstreamCertificateGeneration,
      1,
      SettingBounds.upstreamCertificateGenerationMax,
    ),
    prepareNextUpstreamCertificate: boolean(read, 'prepareNextUpstreamCertificate', false),
    apiKeyPrefix: apiKeyPrefix(read),
    secretScanningKeysUrl: secretScanningKeysUrl(read),
    ...leakRevokeRateLimit(read, wafWebAclArn),
    ...usageRetention(read),
    anomalyDetection: anomalyDetection(read),
  };
}

/** `anomalyDetection`: an object of thresholds (from `-c` as a JSON string), each checked against its bounds. */
function anomalyDetection(read: Read): AnomalySettings {
  let raw = present(read, 'anomalyDetection');
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (error) {
      throw new ConfigError('anomalyDetection', `is not valid JSON: ${(error as Error).message}`);
    }
  }
  const result = anomalySettingsFrom(raw);
  if ('problem' in result) throw new ConfigError('anomalyDetection', result.problem);
  return result.settings;
}

/** The usage table's retention: each a whole number of days, coarser kept at least as long as finer. */
function usageRetention(read: Read): Pick<TollgateConfig, (typeof UsageRetentionSetting)[keyof typeof UsageRetentionSetting]> {
  const raw = Object.fromEntries(
    RETENTION_KEYS.map((key) => {
      const value = present(read, UsageRetentionSetting[key]);
      return [key, typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value];
    }),
  );
  const problem = usageRetentionProblem(raw);
  if (problem) throw new ConfigError(UsageRetentionSetting[problem.key], problem.problem);
  const days = (key: (typeof RETENTION_KEYS)[number]) => (raw[key] as number | undefined) ?? UsageRetentionDefaults[key];
  return { usageMinuteRetentionDays: days('minuteDays'), usageHourRetentionDays: days('hourDays'), usageDayRetentionDays: days('dayDays') };
}

/** Bounded above by the token lifetime: a view older than that could let a revoked token live out its life. */
function revocationViewMaxStaleSeconds(read: Read, tokenTtlSeconds: number): number {
  const value = integer(
    read,
    'revocationViewMaxStaleSeconds',
    Math.min(Defaults.revocationMaxStalenessS, tokenTtlSeconds),
    Limits.revocationViewMaxStaleSecondsMin,
    Limits.tokenTtlSecondsMax,
  );
  if (value > tokenTtlSeconds) {
    throw new ConfigError(
      'revocationViewMaxStaleSeconds',
      `must not exceed tokenTtlSeconds (${tokenTtlSeconds}), got ${value}: a token revoked during a feed outage would be accepted for up to its whole lifetime`,
    );
  }
  return value;
}

function keySpec(read: Read): KeySpec {
  const raw = present(read, 'keySpec');
  if (raw === undefined) return Defaults.keySpec;
  if (!isKeySpec(raw)) throw new ConfigError('keySpec', `must be one of ${KEY_SPECS.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw;
}

function secretScanningKeysUrl(read: Read): string {
  const raw = present(read, 'secretScanningKeysUrl');
  if (raw === undefined) return GITHUB_SECRET_SCANNING_KEYS_URL;
  // In AWS the list decides which signatures are GitHub's: it must come over TLS.
  const problem = keysUrlProblem(raw, true);
  if (problem) throw new ConfigError('secretScanningKeysUrl', `${problem}, got ${JSON.stringify(raw)}`);
  return raw as string;
}

/** AWS WAF's bounds for a rate-based rule's limit (requests per evaluation window, per IP). */
export const WAF_RATE_LIMIT_MIN = 10;
export const WAF_RATE_LIMIT_MAX = 2_000_000_000;

function leakRevokeRateLimit(read: Read, wafWebAclArn: string | undefined): { leakRevokeRateLimitPerIp?: number } {
  if (present(read, 'leakRevokeRateLimitPerIp') === undefined) return {};
  const limit = integer(read, 'leakRevokeRateLimitPerIp', 0, WAF_RATE_LIMIT_MIN, WAF_RATE_LIMIT_MAX);
  if (wafWebAclArn) {
    // A stage has one web ACL: the operator's own wins, and the rule belongs in it (docs/deploy.md gives it).
    throw new ConfigError(
      'leakRevokeRateLimitPerIp',
      'cannot be combined with wafWebAclArn (a stage has one web ACL): add the rate-based rule of docs/deploy.md, "Leak response", to that web ACL instead',
    );
  }
  return { leakRevokeRateLimitPerIp: limit };
}

function apiKeyPrefix(read: Read): string {
  const raw = present(read, 'apiKeyPrefix');
  if (raw === undefined) return DEFAULT_API_KEY_PREFIX;
  const problem = apiKeyPrefixProblem(raw);
  if (problem) throw new ConfigError('apiKeyPrefix', problem);
  return raw as string;
}

function rotationIntervalDays(read: Read): number {
  const days = integer(read, 'rotationIntervalDays', Defaults.rotationIntervalDays, 0, SettingBounds.rotationIntervalDaysMax);
  const min = minRotationIntervalDays();
  if (days < min) {
    throw new ConfigError(
      'rotationIntervalDays',
      `must be at least ${min}: a new key is published for ${pendingPublicationSeconds()} s before it signs and ` +
        `the old one verifies for ${retiringVerificationSeconds()} s after (maximum token lifetime plus skew), got ${days}`,
    );
  }
  return days;
}

/**
 * `operatorPrincipals`: a JSON array of patterns (from `-c` as a string, from cdk.json as an
 * array), or one pattern as a plain string. An empty list would lock every operator out.
 */
function readOperatorPrincipals(read: Read): readonly string[] | undefined {
  const raw = present(read, 'operatorPrincipals');
  if (raw === undefined) return undefined;
  let value: unknown = raw;
  if (typeof raw === 'string') {
    if (raw.trim().startsWith('[')) {
      try {
        value = JSON.parse(raw);
      } catch (error) {
        throw new ConfigError('operatorPrincipals', `is not valid JSON: ${(error as Error).message}`);
      }
    } else {
      value = [raw.trim()];
    }
  }
  if (!Array.isArray(value)) throw new ConfigError('operatorPrincipals', `must be a JSON array of IAM principal ARN patterns, got ${JSON.stringify(raw)}`);
  if (value.length === 0) {
    throw new ConfigError(
      'operatorPrincipals',
      'must name at least one principal (an empty list locks every operator out); leave it unset to admit any principal allowed execute-api:Invoke',
    );
  }
  if (value.length > OPERATOR_PRINCIPALS_MAX)
    throw new ConfigError('operatorPrincipals', `has ${value.length} patterns; at most ${OPERATOR_PRINCIPALS_MAX} are allowed`);
  for (const [i, pattern] of value.entries()) {
    const session = typeof pattern === 'string' ? STS_SESSION.exec(pattern) : null;
    if (session) {
      throw new ConfigError(
        'operatorPrincipals',
        `[${i}] is an STS session ARN, which aws:PrincipalArn never holds: use the role's ARN, arn:aws:iam::${session[1]}:role/${session[2]} (with its path, if it has one), got ${JSON.stringify(pattern)}`,
      );
    }
    if (typeof pattern !== 'string' || !OPERATOR_PRINCIPAL.test(pattern)) {
      throw new ConfigError(
        'operatorPrincipals',
        `[${i}] must be the ARN of an IAM role, user or the account root with its 12-digit account id (wildcards * and ? only after the account), got ${JSON.stringify(pattern)}`,
      );
    }
  }
  return value as string[];
}

/**
 * Lambda allows 4 KB of environment per function in all; the services' JSON (without the
 * upstream URLs, which only the stack needs) must leave room for the rest.
 */
const SERVICES_ENVIRONMENT_MAX_BYTES = 3000;

/** The `services` setting, checked; undefined when it is not given. */
function services(read: Read): readonly ServiceDefinition[] | undefined {
  const list = jsonSetting<ServiceDefinition[]>(read, 'services', servicesProblem);
  if (list === undefined) return undefined;
  for (const [i, service] of list.entries()) {
    if (service.upstreamUrl === undefined) throw new ConfigError('services', `[${i}] (${service.name}) upstreamUrl is required in a deployment`);
    if (!service.upstreamUrl.startsWith('https://'))
      throw new ConfigError('services', `[${i}] (${service.name}) upstreamUrl must use https (the upstream receives the caller's identity headers)`);
  }
  for (const single of ['upstreamUrl', 'routes'] as const) {
    if (present(read, single) !== undefined) throw new ConfigError('services', `replaces ${single}: give each service its own (docs/services.md), not both`);
  }
  const bytes = Buffer.byteLength(servicesEnvironment(list));
  if (bytes > SERVICES_ENVIRONMENT_MAX_BYTES) {
    throw new ConfigError(
      'services',
      `takes ${bytes} bytes in the functions' environment, over ${SERVICES_ENVIRONMENT_MAX_BYTES} (Lambda allows 4 KB in all): use {proxy+} rules or fewer, broader rules`,
    );
  }
  return list.map((service) => ({ ...service, upstreamUrl: service.upstreamUrl!.replace(/\/+$/, '') }));
}

function routes(read: Read): readonly RouteRule[] {
  return jsonSetting<RouteRule[]>(read, 'routes', routeRulesProblem) ?? DEFAULT_ROUTES;
}
