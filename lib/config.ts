/**
 * Tollgate's deployment settings (docs/deploy.md#deploy): read once from CDK context by the app,
 * checked here, and handed to the stacks as one typed value (`lib/settings.ts`). Every failure
 * names the setting, so `cdk synth` tells the operator exactly what to fix. Each setting is
 * declared in `common/settings.ts`: the plain ones are read from their descriptor alone
 * (`plainSetting`, `lib/context-readers.ts`), the custom ones by {@link CUSTOM_READERS} below,
 * and the rules that relate settings ({@link SETTING_RULES}) run as soon as their settings are read. What each
 * function receives from them is in `lib/function-settings.ts`.
 */
import { DEFAULT_ROUTES, type RouteRule } from '../common/gateway-contract';
import { ConfigurationError } from '../common/errors';
import { authorizerCacheTtlProblem, keysUrlProblem } from '../common/setting-checks';
import { GITHUB_SECRET_SCANNING_KEYS_URL, pendingPublicationSeconds, retiringVerificationSeconds, SECONDS_PER_DAY } from '../common/defaults';
import { DEFAULT_API_KEY_PREFIX, apiKeyPrefixProblem } from '../common/tokens';
import { rootRouteRulesProblem, servicesProblem, singleService, type ServiceDefinition } from '../common/services';
import {
  functionEnvironments,
  SETTING_DESCRIPTORS,
  revocationViewMaxStaleSeconds as maxStaleSetting,
  services as servicesSetting,
  type SettingDescriptor,
} from '../common/settings';
import { anomalySettingsFrom, usageRetentionFrom, usageRetentionProblem, type AnomalySettings } from '../common/usage';
import { httpsUrl, jsonSetting, plainSetting, present, type Read, settingMeantBy } from './context-readers';
import { ConfigError, SETTINGS, type SettingName, type TollgateConfig } from './settings';

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

type Config = { -readonly [K in keyof TollgateConfig]: TollgateConfig[K] };
type CustomName = Extract<SettingDescriptor, { kind: 'custom' }>['name'];

/** The readers of the custom settings, each returning the part of the configuration it fills. */
const CUSTOM_READERS: { readonly [N in CustomName]?: (read: Read, config: Partial<Config>) => Partial<Config> } = {
  services: (read) => {
    const list = services(read);
    return { servicesConfigured: list !== undefined, ...(list && { services: list }) };
  },
  upstreamUrl: (read, config) => {
    const url = httpsUrl(read, 'upstreamUrl', !config.servicesConfigured)?.replace(/\/+$/, '');
    return url ? { upstreamUrl: url } : {};
  },
  routes: (read) => ({ routes: jsonSetting<RouteRule[]>(read, 'routes', rootRouteRulesProblem) ?? DEFAULT_ROUTES }),
  issuer: (read) => {
    const url = httpsUrl(read, 'issuer', false);
    return url ? { issuer: url } : {};
  },
  operatorPrincipals: (read) => {
    const patterns = readOperatorPrincipals(read);
    return patterns ? { operatorPrincipals: patterns } : {};
  },
  apiKeyPrefix: (read) => ({ apiKeyPrefix: apiKeyPrefix(read) }),
  secretScanningKeysUrl: (read) => ({ secretScanningKeysUrl: secretScanningKeysUrl(read) }),
  anomalyDetection: (read) => ({ anomalyDetection: anomalyDetection(read) }),
};

/**
 * Checks that relate settings to each other, each run as soon as the last of its `settings`
 * is read (in table order); each may refuse (naming its setting) or settle a value that
 * depends on another.
 */
export const SETTING_RULES: readonly { readonly settings: readonly SettingName[]; readonly apply: (config: Config, read: Read) => void }[] = [
  {
    // A decision cached just before `exp` is reused for the whole TTL: the TTL and the skew together bound acceptance after expiry.
    settings: ['authorizerCacheTtlSeconds'],
    apply: (config) => {
      const problem = authorizerCacheTtlProblem(config.authorizerCacheTtlSeconds);
      if (problem) throw new ConfigError('authorizerCacheTtlSeconds', `${problem}, got ${config.authorizerCacheTtlSeconds}`);
    },
  },
  {
    settings: ['rotationIntervalDays'],
    apply: (config) => {
      const min = minRotationIntervalDays();
      if (config.rotationIntervalDays >= min) return;
      throw new ConfigError(
        'rotationIntervalDays',
        `must be at least ${min}: a new key is published for ${pendingPublicationSeconds()} s before it signs and ` +
          `the old one verifies for ${retiringVerificationSeconds()} s after (maximum token lifetime plus skew), got ${config.rotationIntervalDays}`,
      );
    },
  },
  {
    // Bounded above by the token lifetime: a view older than that could let a revoked token live out its life.
    settings: ['revocationViewMaxStaleSeconds', 'tokenTtlSeconds'],
    apply: (config, read) => {
      const ttl = config.tokenTtlSeconds;
      if (present(read, 'revocationViewMaxStaleSeconds') === undefined) config.revocationViewMaxStaleSeconds = Math.min(maxStaleSetting.default, ttl);
      if (config.revocationViewMaxStaleSeconds <= ttl) return;
      throw new ConfigError(
        'revocationViewMaxStaleSeconds',
        `must not exceed tokenTtlSeconds (${ttl}), got ${config.revocationViewMaxStaleSeconds}: a token revoked during a feed outage would be accepted for up to its whole lifetime`,
      );
    },
  },
  {
    // A stage has one web ACL: the operator's own wins, and the rule belongs in it (docs/deploy.md gives it).
    settings: ['leakRevokeRateLimitPerIp', 'wafWebAclArn'],
    apply: (config) => {
      if (config.leakRevokeRateLimitPerIp === undefined || !config.wafWebAclArn) return;
      throw new ConfigError(
        'leakRevokeRateLimitPerIp',
        'cannot be combined with wafWebAclArn (a stage has one web ACL): add the rate-based rule of docs/deploy.md, "Leak response", to that web ACL instead',
      );
    },
  },
  {
    // A coarser granularity is kept at least as long as a finer one.
    settings: ['usageMinuteRetentionDays', 'usageHourRetentionDays', 'usageDayRetentionDays'],
    apply: (config) => {
      const problem = usageRetentionProblem(usageRetentionFrom(config));
      if (problem) throw new ConfigError(problem.setting.name, problem.problem);
    },
  },
  {
    // The single-service form is one service made of `upstreamUrl`, `routes` and `audience`.
    settings: ['services', 'upstreamUrl', 'routes', 'audience'],
    apply: (config) => {
      if (!config.servicesConfigured) config.services = [singleService({ upstreamUrl: config.upstreamUrl!, routes: config.routes, audience: config.audience })];
    },
  },
];

/**
 * Reads and checks every setting; throws {@link ConfigError} naming the first bad one.
 * `keys`, every key given, lets it refuse a near miss of a setting's name (`tokenTTLSeconds`),
 * which would otherwise be ignored silently. They are `in` CDK context (cdk.json and `-c`),
 * which holds other keys too, or in a `Tollgate` construct's settings, which hold nothing else.
 */
export function readConfig(read: Read, keys: Iterable<string> = [], keysIn: 'context' | 'settings' = 'context'): TollgateConfig {
  refuseKeys([...keys], keysIn);
  const config: Partial<Config> = {};
  // `services` first: whether it is given decides whether `upstreamUrl` is required.
  const ordered = [servicesSetting, ...SETTING_DESCRIPTORS.filter((setting) => setting !== servicesSetting)] as readonly SettingDescriptor[];
  const readSoFar = new Set<SettingName>();
  let pending = SETTING_RULES;
  for (const setting of ordered) {
    if (setting.kind === 'custom') {
      Object.assign(config, CUSTOM_READERS[setting.name as CustomName]?.(read, config));
    } else {
      const value = plainSetting(read, setting);
      if (value !== undefined) Object.assign(config, { [setting.name]: value });
    }
    readSoFar.add(setting.name as SettingName);
    // A rule runs as soon as its last setting is read, so the setting named is the first bad one in table order.
    const ready = pending.filter((rule) => rule.settings.every((name) => readSoFar.has(name)));
    for (const rule of ready) rule.apply(config as Config, read);
    pending = pending.filter((rule) => !ready.includes(rule));
  }
  return config as TollgateConfig;
}

/**
 * The refusal of keys, before any setting is read: a near miss names the setting meant; in a
 * construct's settings any other key that is no setting is named with where they are listed.
 */
function refuseKeys(keys: readonly string[], keysIn: 'context' | 'settings'): void {
  const unknown = keys.filter((key) => !(SETTINGS as readonly string[]).includes(key));
  for (const key of unknown) {
    const meant = settingMeantBy(key);
    if (meant) throw new ConfigError(meant, `is spelled "${key}" in the ${keysIn}; setting names are case-sensitive`);
  }
  if (keysIn === 'context' || unknown.length === 0) return;
  const named = unknown.map((key) => JSON.stringify(key)).join(', ');
  throw new ConfigurationError(
    `Invalid Tollgate configuration: ${named} ${unknown.length > 1 ? 'are not settings' : 'is not a setting'} (docs/deploy.md#deploy lists them)`,
    unknown.length > 1 ? undefined : unknown[0],
  );
}

/** `anomalyDetection`: an object of thresholds (from `-c` as a JSON string), each checked against its bounds. */
function anomalyDetection(read: Read): AnomalySettings {
  const result = anomalySettingsFrom(jsonSetting(read, 'anomalyDetection'));
  if ('problem' in result) throw new ConfigError('anomalyDetection', result.problem);
  return result.settings;
}

function secretScanningKeysUrl(read: Read): string {
  const raw = present(read, 'secretScanningKeysUrl');
  if (raw === undefined) return GITHUB_SECRET_SCANNING_KEYS_URL;
  // In AWS the list decides which signatures are GitHub's: it must come over TLS.
  const problem = keysUrlProblem(raw, true);
  if (problem) throw new ConfigError('secretScanningKeysUrl', `${problem}, got ${JSON.stringify(raw)}`);
  return raw as string;
}

function apiKeyPrefix(read: Read): string {
  const raw = present(read, 'apiKeyPrefix');
  if (raw === undefined) return DEFAULT_API_KEY_PREFIX;
  const problem = apiKeyPrefixProblem(raw);
  if (problem) throw new ConfigError('apiKeyPrefix', problem);
  return raw as string;
}

/**
 * `operatorPrincipals`: a JSON array of patterns (from `-c` as a string, from cdk.json as an
 * array), or one pattern as a plain string. An empty list would lock every operator out.
 */
function readOperatorPrincipals(read: Read): readonly string[] | undefined {
  const raw = present(read, 'operatorPrincipals');
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && !raw.trim().startsWith('[') ? [raw.trim()] : jsonSetting(read, 'operatorPrincipals');
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
  // Measured as the functions get it (every reader gets the same value).
  const [encoded = ''] = Object.values(functionEnvironments({ services: list })).map((env) => env[servicesSetting.env] ?? '');
  const bytes = Buffer.byteLength(encoded);
  if (bytes > SERVICES_ENVIRONMENT_MAX_BYTES) {
    throw new ConfigError(
      'services',
      `takes ${bytes} bytes in the functions' environment, over ${SERVICES_ENVIRONMENT_MAX_BYTES} (Lambda allows 4 KB in all): use {proxy+} rules or fewer, broader rules`,
    );
  }
  return list.map((service) => ({ ...service, upstreamUrl: service.upstreamUrl!.replace(/\/+$/, '') }));
}
