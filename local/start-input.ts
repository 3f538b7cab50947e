/**
 * What `npm start` is given (command line, config file, environment), checked before it
 * starts or writes anything: a refusal is a {@link StartInputError}, which `start.ts`
 * prints as one `tollgate: …` line with exit code 2.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { authorizerCacheTtlProblem, checkedJson, keysUrlProblem, routeRulesProblem } from '../common/setting-checks';
import { Defaults, Limits } from '../common/defaults';
import { Env } from '../common/names';
import type { RouteRule, UnmatchedRoutes } from '../common/gateway-contract';
import { ConfigurationError } from '../common/errors';
import { nearMiss } from '../common/near-miss';
import { servicesProblem, type ServiceDefinition } from '../common/services';
import { apiKeyPrefixProblem, isKeySpec, KEY_SPECS, type KeySpec } from '../common/tokens';
import {
  ANOMALY_SETTING,
  anomalySettingsFrom,
  RETENTION_KEYS,
  UsageRetentionDefaults,
  UsageRetentionSetting,
  usageRetentionProblem,
  type AnomalySettings,
  type UsageRetention,
} from '../common/usage';
import type { ConfiguredRoutes } from './banner';
import { DEFAULT_LOCAL_PORT, LocalEnv } from './state';

/** What a config file (`tollgate.config.json`, or `--config FILE`) may set. */
export interface FileConfig {
  readonly routes?: RouteRule[];
  readonly unmatchedRoutes?: UnmatchedRoutes;
  readonly tokenTtlSeconds?: number;
  readonly keySpec?: KeySpec;
  /** API Gateway's authorizer result cache, emulated; 0 turns it off. */
  readonly authorizerCacheTtlSeconds?: number;
  /** Several upstream services (docs/services.md); each without an upstreamUrl gets an echo service. */
  readonly services?: ServiceDefinition[];
  /** The prefix of new API keys (`TOLLGATE_API_KEY_PREFIX` wins). */
  readonly apiKeyPrefix?: string;
  /** GitHub's secret-scanning key list (`TOLLGATE_SECRET_SCANNING_KEYS_URL` wins). */
  readonly secretScanningKeysUrl?: string;
  /** How long authorizers decide on their last revocation view while the feed cannot be read (as the CDK setting). */
  readonly revocationViewMaxStaleSeconds?: number;
  /** How long usage rows of each granularity are kept, days (docs/usage.md). */
  readonly usageMinuteRetentionDays?: number;
  readonly usageHourRetentionDays?: number;
  readonly usageDayRetentionDays?: number;
  /** Anomaly detection's thresholds, overriding the defaults (docs/usage.md). */
  readonly anomalyDetection?: Partial<AnomalySettings>;
}

const FILE_CONFIG_KEYS: readonly (keyof FileConfig)[] = [
  'routes',
  'unmatchedRoutes',
  'tokenTtlSeconds',
  'keySpec',
  'authorizerCacheTtlSeconds',
  'services',
  'apiKeyPrefix',
  'secretScanningKeysUrl',
  'revocationViewMaxStaleSeconds',
  ...RETENTION_KEYS.map((key) => UsageRetentionSetting[key]),
  ANOMALY_SETTING,
];
/** Read from the working directory when no `--config` names another file. */
export const DEFAULT_CONFIG_FILE = 'tollgate.config.json';

export const USAGE = 'usage: npm start [-- [--fresh] [--config FILE] [--no-authorizer-cache] [--help]]';

/** Input `npm start` refuses before it starts anything (exit 2); `usage` for command-line mistakes. */
export class StartInputError extends ConfigurationError {
  override readonly name = 'StartInputError';
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}

export interface CommandLine {
  readonly fresh: boolean;
  readonly help: boolean;
  /** `--no-authorizer-cache`: run without the emulated authorizer cache (the stack always caches unless its TTL is 0). */
  readonly noAuthorizerCache: boolean;
  /** `--config FILE`; absent: {@link DEFAULT_CONFIG_FILE} if it exists. */
  readonly configFile?: string;
}

/** Everything `npm start` was given, checked. */
export interface StartInput {
  readonly fresh: boolean;
  readonly port: number;
  /** Absent: the built-in echo service. */
  readonly upstreamUrl?: string;
  /** Absent: a random token per start. */
  readonly adminToken?: string;
  /** Absent: the default routes. */
  readonly routes?: ConfiguredRoutes;
  readonly unmatchedRoutes?: UnmatchedRoutes;
  readonly tokenTtlSeconds?: number;
  readonly keySpec?: KeySpec;
  /** Absent: the stack's default TTL. */
  readonly authorizerCacheTtlSeconds?: number;
  readonly services?: ServiceDefinition[];
  readonly apiKeyPrefix?: string;
  readonly secretScanningKeysUrl?: string;
  readonly revocationViewMaxStaleSeconds?: number;
  /** Absent: the defaults. */
  readonly usageRetention?: UsageRetention;
  /** Absent: the defaults. */
  readonly anomalySettings?: AnomalySettings;
}

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The command line. Parsed leniently and checked here, not by `parseArgs` in strict mode,
 * whose errors are exceptions with Node's own wording (and a stack trace when uncaught).
 */
export function parseCommandLine(args: readonly string[]): CommandLine {
  const { tokens } = parseArgs({
    args: [...args],
    options: { fresh: { type: 'boolean' }, config: { type: 'string' }, help: { type: 'boolean' }, 'no-authorizer-cache': { type: 'boolean' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  let fresh = false;
  let help = false;
  let noAuthorizerCache = false;
  let configFile: string | undefined;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') throw new StartInputError(`unexpected argument "${token.value}"`, true);
    if (token.name === 'config') {
      // Without `=`, lenient parsing takes the next argument even when it is an option (`--config --fresh`).
      if (!token.value || (!token.inlineValue && token.value.startsWith('-'))) throw new StartInputError('--config needs a file name (--config FILE)', true);
      configFile = token.value;
    } else if (token.name === 'fresh' || token.name === 'help' || token.name === 'no-authorizer-cache') {
      if (token.value !== undefined) throw new StartInputError(`${token.rawName} takes no value`, true);
      if (token.name === 'fresh') fresh = true;
      else if (token.name === 'help') help = true;
      else noAuthorizerCache = true;
    } else {
      throw new StartInputError(`unknown option ${token.rawName}`, true);
    }
  }
  return { fresh, help, noAuthorizerCache, ...(configFile !== undefined ? { configFile } : {}) };
}

/** Checks the command line's config file and the environment, before anything starts. */
export function checkStartInput(commandLine: CommandLine, env: Environment): StartInput {
  const file = readConfigFile(commandLine.configFile);
  const config = file?.config ?? {};
  const fromEnv = routesFromEnv(env[Env.routes]);
  // `TOLLGATE_ROUTES` wins over the config file; absent both: the default routes.
  const routes: ConfiguredRoutes | undefined = fromEnv
    ? { rules: fromEnv, source: Env.routes }
    : config.routes && file
      ? { rules: config.routes, source: file.file }
      : undefined;
  return {
    fresh: commandLine.fresh,
    port: parsePort(env[LocalEnv.port]),
    ...optional('upstreamUrl', upstreamUrlFrom(env[LocalEnv.upstreamUrl])),
    ...optional('adminToken', adminTokenFrom(env[LocalEnv.adminToken])),
    ...optional('routes', routes),
    ...optional('unmatchedRoutes', config.unmatchedRoutes),
    ...optional('tokenTtlSeconds', config.tokenTtlSeconds),
    ...optional('keySpec', config.keySpec),
    ...optional('authorizerCacheTtlSeconds', commandLine.noAuthorizerCache ? 0 : config.authorizerCacheTtlSeconds),
    ...optional('services', servicesBeside(config.services, routes, env[LocalEnv.upstreamUrl])),
    ...optional('apiKeyPrefix', envApiKeyPrefix(env[Env.apiKeyPrefix]) ?? config.apiKeyPrefix),
    ...optional('secretScanningKeysUrl', envKeysUrl(env[Env.secretScanningKeysUrl]) ?? config.secretScanningKeysUrl),
    ...optional('revocationViewMaxStaleSeconds', config.revocationViewMaxStaleSeconds),
    ...optional('usageRetention', usageRetentionFrom(config)),
    ...optional('anomalySettings', config.anomalyDetection && (anomalySettingsFrom(config.anomalyDetection) as { settings: AnomalySettings }).settings),
  };
}

/** The named config file, else {@link DEFAULT_CONFIG_FILE} if there is one, checked; undefined: none. */
export function readConfigFile(path: string | undefined): { readonly file: string; readonly config: FileConfig } | undefined {
  const file = path ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new StartInputError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  return { file, config: parseConfigFile(text, file) };
}

/** A config file's text, checked key by key; every error names the file and the key. */
export function parseConfigFile(text: string, file: string): FileConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StartInputError(`config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StartInputError(`${file}: must be a JSON object {${FILE_CONFIG_KEYS.join(', ')}}, got ${jsonOf(value)}`);
  }
  const raw = value as Record<string, unknown>;
  const unknownKeys = Object.keys(raw).filter((key) => !(FILE_CONFIG_KEYS as readonly string[]).includes(key));
  if (unknownKeys.length) throw new StartInputError(`${file}: ${unknownKeysProblem(unknownKeys)}`);
  const problem = (key: keyof FileConfig, what: string) => new StartInputError(`${file}: ${key} ${what}, got ${jsonOf(raw[key])}`);

  const { routes, unmatchedRoutes, tokenTtlSeconds, keySpec, authorizerCacheTtlSeconds, services, apiKeyPrefix, secretScanningKeysUrl } = raw;
  if (services !== undefined) {
    const servicesProblemText = servicesProblem(services);
    if (servicesProblemText) throw new StartInputError(`${file}: services${servicesProblemText.startsWith('[') ? '' : ' '}${servicesProblemText}`);
    if (routes !== undefined) throw new StartInputError(`${file}: services replaces routes: give each service its own routes (docs/services.md)`);
  }
  if (routes !== undefined) {
    const routesProblem = routeRulesProblem(routes);
    if (routesProblem) throw new StartInputError(`${file}: routes${routesProblem.startsWith('[') ? '' : ' '}${routesProblem}`);
  }
  if (unmatchedRoutes !== undefined && unmatchedRoutes !== 'deny' && unmatchedRoutes !== 'allow') throw problem('unmatchedRoutes', 'must be "deny" or "allow"');
  if (
    tokenTtlSeconds !== undefined &&
    !(Number.isInteger(tokenTtlSeconds) && (tokenTtlSeconds as number) >= Limits.tokenTtlSecondsMin && (tokenTtlSeconds as number) <= Limits.tokenTtlSecondsMax)
  ) {
    throw problem('tokenTtlSeconds', `must be an integer from ${Limits.tokenTtlSecondsMin} to ${Limits.tokenTtlSecondsMax} (seconds)`);
  }
  if (keySpec !== undefined && !isKeySpec(keySpec)) throw problem('keySpec', `must be one of ${KEY_SPECS.join(', ')}`);
  if (authorizerCacheTtlSeconds !== undefined) {
    if (
      !Number.isInteger(authorizerCacheTtlSeconds) ||
      (authorizerCacheTtlSeconds as number) < 0 ||
      (authorizerCacheTtlSeconds as number) > Limits.authorizerCacheTtlSecondsMax
    ) {
      throw problem('authorizerCacheTtlSeconds', `must be an integer from 0 to ${Limits.authorizerCacheTtlSecondsMax} (seconds; 0 turns the cache off)`);
    }
    const cacheProblem = authorizerCacheTtlProblem(authorizerCacheTtlSeconds as number);
    if (cacheProblem) throw problem('authorizerCacheTtlSeconds', cacheProblem);
  }
  if (apiKeyPrefix !== undefined && apiKeyPrefixProblem(apiKeyPrefix)) throw new StartInputError(`${file}: apiKeyPrefix ${apiKeyPrefixProblem(apiKeyPrefix)}`);
  if (secretScanningKeysUrl !== undefined && keysUrlProblem(secretScanningKeysUrl)) {
    throw problem('secretScanningKeysUrl', keysUrlProblem(secretScanningKeysUrl)!);
  }
  // Bounded by the token lifetime, as `lib/config.ts` bounds it at synth.
  const { revocationViewMaxStaleSeconds: maxStale } = raw;
  const ttl = (tokenTtlSeconds as number | undefined) ?? Defaults.tokenTtlSeconds;
  if (
    maxStale !== undefined &&
    !(Number.isInteger(maxStale) && (maxStale as number) >= Limits.revocationViewMaxStaleSecondsMin && (maxStale as number) <= ttl)
  ) {
    throw problem(
      'revocationViewMaxStaleSeconds',
      `must be an integer from ${Limits.revocationViewMaxStaleSecondsMin} to tokenTtlSeconds (${ttl}) (seconds: a token revoked during a feed outage must not be accepted for its whole lifetime)`,
    );
  }
  const retention = usageRetentionProblem(Object.fromEntries(RETENTION_KEYS.map((key) => [key, raw[UsageRetentionSetting[key]]])));
  if (retention) throw problem(UsageRetentionSetting[retention.key], retention.problem.replace(/, got .*$/, ''));
  const anomaly = anomalySettingsFrom(raw[ANOMALY_SETTING]);
  if ('problem' in anomaly) throw new StartInputError(`${file}: ${ANOMALY_SETTING} ${anomaly.problem}`);
  return raw as FileConfig;
}

/** Services cannot be combined with the single-service settings, which they replace. */
function servicesBeside(
  services: ServiceDefinition[] | undefined,
  routes: ConfiguredRoutes | undefined,
  upstreamUrl: string | undefined,
): ServiceDefinition[] | undefined {
  if (services === undefined) return undefined;
  if (routes !== undefined) throw new StartInputError(`services replace the routes of ${routes.source}: give each service its own routes (docs/services.md)`);
  if (upstreamUrl) throw new StartInputError(`services replace ${LocalEnv.upstreamUrl}: give each service its own upstreamUrl, or none for an echo service`);
  return services;
}

/** The retention the config file sets, defaults for the rest; undefined when it sets none. */
function usageRetentionFrom(config: FileConfig): UsageRetention | undefined {
  if (RETENTION_KEYS.every((key) => config[UsageRetentionSetting[key]] === undefined)) return undefined;
  const { minuteDays, hourDays, dayDays } = {
    minuteDays: config.usageMinuteRetentionDays,
    hourDays: config.usageHourRetentionDays,
    dayDays: config.usageDayRetentionDays,
  };
  return {
    ...UsageRetentionDefaults,
    ...(minuteDays !== undefined && { minuteDays }),
    ...(hourDays !== undefined && { hourDays }),
    ...(dayDays !== undefined && { dayDays }),
  };
}

/** Names every unknown key; a near miss gets its correction, otherwise the known keys follow. */
function unknownKeysProblem(keys: readonly string[]): string {
  const named = keys.map((key) => {
    const meant = keyMeantBy(key);
    return meant ? `"${key}" (did you mean "${meant}"?)` : `"${key}"`;
  });
  const list = `unknown key${keys.length > 1 ? 's' : ''} ${named.join(', ')}`;
  return keys.length === 1 && keyMeantBy(keys[0]!) ? list : `${list}; the known keys are ${FILE_CONFIG_KEYS.join(', ')}`;
}

/** The known key an unknown one is a near miss of (another case, or one or two typos). */
function keyMeantBy(key: string): string | undefined {
  return nearMiss(key, FILE_CONFIG_KEYS, 6);
}

/** `TOLLGATE_ROUTES`, checked as the authorizer would check it at cold start (`parseRouteRules`). */
function routesFromEnv(raw: string | undefined): RouteRule[] | undefined {
  if (!raw) return undefined;
  const checked = checkedJson(raw, Env.routes, routeRulesProblem);
  if ('message' in checked) throw new StartInputError(checked.message);
  return checked.value as RouteRule[];
}

function envApiKeyPrefix(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const problem = apiKeyPrefixProblem(raw);
  if (problem) throw new StartInputError(`${Env.apiKeyPrefix} ${problem}`);
  return raw;
}

function envKeysUrl(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const problem = keysUrlProblem(raw);
  if (problem) throw new StartInputError(`${Env.secretScanningKeysUrl} ${problem}, got ${JSON.stringify(raw)}`);
  return raw;
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_LOCAL_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new StartInputError(`${LocalEnv.port} must be an integer from 0 to 65535, got "${raw}"`);
  return port;
}

/**
 * The gateway resolves each request's path and query against it, so it must be an absolute
 * http(s) URL; as in the deployed stack (`lib/config.ts`), no query, fragment or credentials
 * (which would sit in the banner and in every proxied request's logs). A refusal never
 * repeats a URL that has credentials in it.
 */
function upstreamUrlFrom(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const setting = LocalEnv.upstreamUrl;
  if (!URL.canParse(raw)) throw new StartInputError(`${setting} must be an absolute http:// or https:// URL, got ${JSON.stringify(raw)}`);
  const url = new URL(raw);
  if (url.username || url.password) throw new StartInputError(`${setting} must not contain credentials (user:password@)`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new StartInputError(`${setting} must be an http:// or https:// URL, got one with ${url.protocol}`);
  if (url.search || url.hash) throw new StartInputError(`${setting} must not have a query or fragment, got ${JSON.stringify(raw)}`);
  return raw;
}

/** Sent as `Authorization: Bearer <token>`, which the gateway reads as one run of visible characters. */
function adminTokenFrom(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  if (!/^[\x21-\x7e]+$/.test(raw)) throw new StartInputError(`${LocalEnv.adminToken} must be printable ASCII without spaces (it is sent as a bearer token)`);
  return raw;
}

function jsonOf(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  return JSON.stringify(value) ?? String(value);
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
