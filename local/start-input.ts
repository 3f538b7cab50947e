/**
 * What `npm start` is given (command line, config file, environment), checked before it
 * starts or writes anything: a refusal is a {@link StartInputError}, which `start.ts`
 * prints as one `tollgate: …` line with exit code 2.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { authorizerCacheTtlProblem, checkedJson, keysUrlProblem } from '../common/setting-checks';
import * as Setting from '../common/settings';
import { choicesText, SETTING_DESCRIPTORS, type LocalPlainSettingName, type PlainSettings, type SettingDescriptor } from '../common/settings';
import type { RouteRule } from '../common/gateway-contract';
import { ConfigurationError } from '../common/errors';
import { nearMiss } from '../common/near-miss';
import { rootRouteRulesProblem, servicesProblem, type ServiceDefinition } from '../common/services';
import { apiKeyPrefixProblem } from '../common/tokens';
import { anomalySettingsFrom, usageRetentionFrom, usageRetentionProblem, type AnomalySettings, type UsageRetention } from '../common/usage';
import type { ConfiguredRoutes } from './banner';
import type { HandlerCode } from './handler-code';
import { DEFAULT_LOCAL_PORT, LocalEnv } from './state';

/**
 * What a config file (`tollgate.config.json`, or `--config FILE`) may set: the settings whose
 * descriptor (`common/settings.ts`) is `local`, as in cdk.json. The plain ones are typed and
 * checked from their descriptor; the ones below have checks of their own.
 */
export interface FileConfig extends Partial<Pick<PlainSettings, LocalPlainSettingName>> {
  readonly routes?: RouteRule[];
  /** Several upstream services (docs/services.md); each without an upstreamUrl gets an echo service. */
  readonly services?: ServiceDefinition[];
  /** The prefix of new API keys (`TOLLGATE_API_KEY_PREFIX` wins). */
  readonly apiKeyPrefix?: string;
  /** GitHub's secret-scanning key list (`TOLLGATE_SECRET_SCANNING_KEYS_URL` wins). */
  readonly secretScanningKeysUrl?: string;
  /** Anomaly detection's thresholds, overriding the defaults (docs/usage.md). */
  readonly anomalyDetection?: Partial<AnomalySettings>;
}

const LOCAL_SETTINGS = (SETTING_DESCRIPTORS as readonly SettingDescriptor[]).filter((setting) => setting.local);
const FILE_CONFIG_KEYS: readonly string[] = LOCAL_SETTINGS.map((setting) => setting.name);
/** Checked against the token lifetime below, with a message that says so, instead of against its descriptor's bounds. */
const CHECKED_BY_RULE: readonly string[] = ['revocationViewMaxStaleSeconds'];

/** Read from the working directory when no `--config` names another file. */
export const DEFAULT_CONFIG_FILE = 'tollgate.config.json';

export const USAGE = 'usage: npm start [-- [--fresh] [--config FILE] [--no-authorizer-cache] [--bundled] [--help]]';

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
  /** `--bundled`: run the functions' bundles as deployed, not their sources (`handler-code.ts`). */
  readonly bundled: boolean;
  /** `--config FILE`; absent: {@link DEFAULT_CONFIG_FILE} if it exists. */
  readonly configFile?: string;
}

/** Everything `npm start` was given, checked. */
export interface StartInput {
  readonly fresh: boolean;
  readonly handlerCode: HandlerCode;
  readonly port: number;
  /** Absent: the built-in echo service. */
  readonly upstreamUrl?: string;
  /** Absent: a random token per start. */
  readonly adminToken?: string;
  /** Absent: the default routes. */
  readonly routes?: ConfiguredRoutes;
  readonly services?: ServiceDefinition[];
  /** As in {@link settings}, where the local stack takes them from. */
  readonly apiKeyPrefix?: string;
  readonly secretScanningKeysUrl?: string;
  /** Absent: the defaults. */
  readonly usageRetention?: UsageRetention;
  /** Absent: the defaults. */
  readonly anomalySettings?: AnomalySettings;
  /**
   * Every other setting given, by name: the config file's plain ones, `authorizerCacheTtlSeconds` 0 under
   * `--no-authorizer-cache`, `apiKeyPrefix` and `secretScanningKeysUrl` with their variables' values, which win.
   * Each reaches the functions through its descriptor's variable; the local stack applies those no function reads.
   */
  readonly settings?: StartSettings;
}

/** The settings {@link StartInput.settings} holds. */
export type StartSettings = Partial<Pick<PlainSettings, LocalPlainSettingName>> & Pick<FileConfig, 'apiKeyPrefix' | 'secretScanningKeysUrl'>;

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The command line. Parsed leniently and checked here, not by `parseArgs` in strict mode,
 * whose errors are exceptions with Node's own wording (and a stack trace when uncaught).
 */
export function parseCommandLine(args: readonly string[]): CommandLine {
  const { tokens } = parseArgs({
    args: [...args],
    options: {
      fresh: { type: 'boolean' },
      config: { type: 'string' },
      help: { type: 'boolean' },
      'no-authorizer-cache': { type: 'boolean' },
      bundled: { type: 'boolean' },
    },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  let fresh = false;
  let help = false;
  let noAuthorizerCache = false;
  let bundled = false;
  let configFile: string | undefined;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') throw new StartInputError(`unexpected argument "${token.value}"`, true);
    if (token.name === 'config') {
      // Without `=`, lenient parsing takes the next argument even when it is an option (`--config --fresh`).
      if (!token.value || (!token.inlineValue && token.value.startsWith('-'))) throw new StartInputError('--config needs a file name (--config FILE)', true);
      configFile = token.value;
    } else if (token.name === 'fresh' || token.name === 'help' || token.name === 'no-authorizer-cache' || token.name === 'bundled') {
      if (token.value !== undefined) throw new StartInputError(`${token.rawName} takes no value`, true);
      if (token.name === 'fresh') fresh = true;
      else if (token.name === 'help') help = true;
      else if (token.name === 'bundled') bundled = true;
      else noAuthorizerCache = true;
    } else {
      throw new StartInputError(`unknown option ${token.rawName}`, true);
    }
  }
  return { fresh, help, noAuthorizerCache, bundled, ...(configFile !== undefined ? { configFile } : {}) };
}

/** Checks the command line's config file and the environment, before anything starts. */
export function checkStartInput(commandLine: CommandLine, env: Environment): StartInput {
  const file = readConfigFile(commandLine.configFile);
  const config = file?.config ?? {};
  const fromEnv = routesFromEnv(env[Setting.routes.env]);
  // `TOLLGATE_ROUTES` wins over the config file; absent both: the default routes.
  const routes: ConfiguredRoutes | undefined = fromEnv
    ? { rules: fromEnv, source: Setting.routes.env }
    : config.routes && file
      ? { rules: config.routes, source: file.file }
      : undefined;
  // The variables win over the config file.
  const apiKeyPrefix = envApiKeyPrefix(env[Setting.apiKeyPrefix.env]) ?? config.apiKeyPrefix;
  const secretScanningKeysUrl = envKeysUrl(env[Setting.secretScanningKeysUrl.env]) ?? config.secretScanningKeysUrl;
  return {
    fresh: commandLine.fresh,
    handlerCode: commandLine.bundled ? 'bundled' : 'source',
    port: parsePort(env[LocalEnv.port]),
    ...optional('upstreamUrl', upstreamUrlFrom(env[LocalEnv.upstreamUrl])),
    ...optional('adminToken', adminTokenFrom(env[LocalEnv.adminToken])),
    ...optional('routes', routes),
    ...optional('services', servicesBeside(config.services, routes, env[LocalEnv.upstreamUrl])),
    ...optional('apiKeyPrefix', apiKeyPrefix),
    ...optional('secretScanningKeysUrl', secretScanningKeysUrl),
    ...optional('usageRetention', usageRetentionOf(config)),
    ...optional('anomalySettings', config.anomalyDetection && (anomalySettingsFrom(config.anomalyDetection) as { settings: AnomalySettings }).settings),
    ...optional(
      'settings',
      startSettings({
        ...config,
        ...(commandLine.noAuthorizerCache && { authorizerCacheTtlSeconds: 0 }),
        ...optional('apiKeyPrefix', apiKeyPrefix),
        ...optional('secretScanningKeysUrl', secretScanningKeysUrl),
      }),
    ),
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

  const { routes, tokenTtlSeconds, authorizerCacheTtlSeconds, services, apiKeyPrefix, secretScanningKeysUrl } = raw;
  if (services !== undefined) {
    const servicesProblemText = servicesProblem(services);
    if (servicesProblemText) throw new StartInputError(`${file}: services${servicesProblemText.startsWith('[') ? '' : ' '}${servicesProblemText}`);
    if (routes !== undefined) throw new StartInputError(`${file}: services replaces routes: give each service its own routes (docs/services.md)`);
  }
  if (routes !== undefined) {
    const routesProblem = rootRouteRulesProblem(routes);
    if (routesProblem) throw new StartInputError(`${file}: routes${routesProblem.startsWith('[') ? '' : ' '}${routesProblem}`);
  }
  for (const setting of LOCAL_SETTINGS) {
    if (setting.kind === 'custom' || raw[setting.name] === undefined || CHECKED_BY_RULE.includes(setting.name)) continue;
    const why = plainProblem(setting, raw[setting.name]);
    if (why) throw problem(setting.name as keyof FileConfig, why);
  }
  if (authorizerCacheTtlSeconds !== undefined) {
    const cacheProblem = authorizerCacheTtlProblem(authorizerCacheTtlSeconds as number);
    if (cacheProblem) throw problem('authorizerCacheTtlSeconds', cacheProblem);
  }
  if (apiKeyPrefix !== undefined && apiKeyPrefixProblem(apiKeyPrefix)) throw new StartInputError(`${file}: apiKeyPrefix ${apiKeyPrefixProblem(apiKeyPrefix)}`);
  if (secretScanningKeysUrl !== undefined && keysUrlProblem(secretScanningKeysUrl)) {
    throw problem('secretScanningKeysUrl', keysUrlProblem(secretScanningKeysUrl)!);
  }
  // Bounded by the token lifetime, as `lib/config.ts` bounds it at synth.
  const { revocationViewMaxStaleSeconds: maxStale } = raw;
  const ttl = (tokenTtlSeconds as number | undefined) ?? Setting.tokenTtlSeconds.default;
  if (
    maxStale !== undefined &&
    !(Number.isInteger(maxStale) && (maxStale as number) >= Setting.revocationViewMaxStaleSeconds.min && (maxStale as number) <= ttl)
  ) {
    throw problem(
      'revocationViewMaxStaleSeconds',
      `must be an integer from ${Setting.revocationViewMaxStaleSeconds.min} to tokenTtlSeconds (${ttl}) (seconds: a token revoked during a feed outage must not be accepted for its whole lifetime)`,
    );
  }
  const retention = usageRetentionProblem(usageRetentionFrom(raw));
  if (retention) throw new StartInputError(`${file}: ${retention.setting.name} ${retention.problem}`);
  const anomaly = anomalySettingsFrom(raw[Setting.anomalyDetection.name]);
  if ('problem' in anomaly) throw new StartInputError(`${file}: ${Setting.anomalyDetection.name} ${anomaly.problem}`);
  return raw as FileConfig;
}

/** Why a plain setting's value is refused, from its descriptor, or undefined. Values are JSON's own types: no strings for numbers. */
function plainProblem(setting: Exclude<SettingDescriptor, { kind: 'custom' }>, value: unknown): string | undefined {
  switch (setting.kind) {
    case 'integer':
      if (Number.isInteger(value) && (value as number) >= setting.min && (value as number) <= setting.max) return undefined;
      if (setting.unit) return `must be a whole number of ${setting.unit} from ${setting.min} to ${setting.max}`;
      return `must be an integer from ${setting.min} to ${setting.max}${setting.hint ? ` (${setting.hint})` : ''}`;
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value) && value >= setting.min && value <= setting.max) return undefined;
      return `must be a number from ${setting.min} to ${setting.max}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'choice':
      return setting.values.includes(value as string) ? undefined : `must be ${choicesText(setting)}`;
    case 'text':
      return typeof value === 'string' && setting.pattern.test(value) ? undefined : setting.rule;
  }
}

/** The plain settings, `apiKeyPrefix` and `secretScanningKeysUrl` of `config`; undefined when it has none. */
function startSettings(config: FileConfig): StartSettings | undefined {
  const values = Object.fromEntries(
    LOCAL_SETTINGS.filter((setting) => setting.kind !== 'custom' || setting === Setting.apiKeyPrefix || setting === Setting.secretScanningKeysUrl)
      .map((setting) => [setting.name, (config as Record<string, unknown>)[setting.name]])
      .filter(([, value]) => value !== undefined),
  );
  return Object.keys(values).length ? values : undefined;
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
function usageRetentionOf(config: FileConfig): UsageRetention | undefined {
  const given = [Setting.usageMinuteRetentionDays, Setting.usageHourRetentionDays, Setting.usageDayRetentionDays].some((s) => config[s.name] !== undefined);
  return given ? usageRetentionFrom(config) : undefined;
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
  const checked = checkedJson(raw, Setting.routes.env, rootRouteRulesProblem);
  if ('message' in checked) throw new StartInputError(checked.message);
  return checked.value as RouteRule[];
}

function envApiKeyPrefix(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const problem = apiKeyPrefixProblem(raw);
  if (problem) throw new StartInputError(`${Setting.apiKeyPrefix.env} ${problem}`);
  return raw;
}

function envKeysUrl(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const problem = keysUrlProblem(raw);
  if (problem) throw new StartInputError(`${Setting.secretScanningKeysUrl.env} ${problem}, got ${JSON.stringify(raw)}`);
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
