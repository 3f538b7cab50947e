/**
 * What `npm start` refuses before it starts anything: the command line, the config file and
 * the environment, each checked up front and named in a one-line message.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ROUTES } from '../../../common/gateway-contract';
import { checkStartInput, parseCommandLine, parseConfigFile, readConfigFile, StartInputError } from '../../../local/start-input';
import { Env } from '../../../common/names';
import * as Setting from '../../../common/settings';
import { Tables } from '../../../common/tables';
import { authorizerConfigFrom } from '../../../lambda/authorizer/config';
import { issuerConfigFrom } from '../../../lambda/token/config';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function configFile(content: unknown, name = 'my.config.json'): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-start-input-'));
  dirs.push(dir);
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** The StartInputError `fn` throws; fails the test if it throws nothing or something else. */
function refusal(fn: () => unknown): StartInputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StartInputError);
    expect((error as Error).message).not.toContain('\n');
    return error as StartInputError;
  }
  throw new Error('expected a StartInputError, nothing was thrown');
}

const tables = Object.fromEntries(Object.values(Tables).map((table) => [table.envVar, 'table']));
const parse = (value: unknown) => parseConfigFile(JSON.stringify(value), 'my.config.json');
const check = (env: Record<string, string>, args: string[] = []) => checkStartInput(parseCommandLine(args), env);

describe('parseCommandLine', () => {
  it('reads --fresh, --config FILE, --config=FILE, --bundled and --help', () => {
    expect(parseCommandLine([])).toEqual({ fresh: false, help: false, noAuthorizerCache: false, bundled: false });
    expect(parseCommandLine(['--fresh', '--config', 'a.json'])).toEqual({
      fresh: true,
      help: false,
      noAuthorizerCache: false,
      bundled: false,
      configFile: 'a.json',
    });
    expect(parseCommandLine(['--config=-odd.json'])).toEqual({ fresh: false, help: false, noAuthorizerCache: false, bundled: false, configFile: '-odd.json' });
    expect(parseCommandLine(['--help']).help).toBe(true);
    expect(parseCommandLine(['--no-authorizer-cache']).noAuthorizerCache).toBe(true);
    expect(parseCommandLine(['--bundled']).bundled).toBe(true);
  });

  it('runs the sources unless --bundled asks for the deployed bundles', () => {
    expect(check(tables).handlerCode).toBe('source');
    expect(check(tables, ['--bundled']).handlerCode).toBe('bundled');
  });

  it.each([
    [['--bogus'], 'unknown option --bogus'],
    [['-x'], 'unknown option -x'],
    [['--config'], '--config needs a file name (--config FILE)'],
    [['--config='], '--config needs a file name (--config FILE)'],
    [['--config', '--fresh'], '--config needs a file name (--config FILE)'],
    [['--fresh=yes'], '--fresh takes no value'],
    [['--no-authorizer-cache=1'], '--no-authorizer-cache takes no value'],
    [['--bundled=yes'], '--bundled takes no value'],
    [['extra'], 'unexpected argument "extra"'],
  ])('refuses %j with a usage line: %s', (args, message) => {
    const error = refusal(() => parseCommandLine(args));
    expect(error.message).toBe(message);
    expect(error.usage).toBe(true);
  });
});

describe('parseConfigFile', () => {
  it('returns every known key when each is valid', () => {
    const config = { routes: [{ method: 'GET', path: '/x', scopes: ['x:read'] }], unmatchedRoutes: 'allow', tokenTtlSeconds: 120, keySpec: 'RSA_2048' };
    expect(parse(config)).toEqual(config);
    expect(parse({})).toEqual({});
  });

  it('refuses a misspelled key, naming it and the key it is a near miss of', () => {
    const error = refusal(() => parse({ tokenTTLSeconds: 120 }));
    expect(error.message).toBe('my.config.json: unknown key "tokenTTLSeconds" (did you mean "tokenTtlSeconds"?)');
    expect(error.usage).toBe(false);
    expect(refusal(() => parse({ rotues: [] })).message).toContain('"rotues" (did you mean "routes"?)');
  });

  it('refuses an unknown key, naming it and the known keys', () => {
    expect(refusal(() => parse({ upstreamUrl: 'https://x.example', keySpec: 'RSA_2048' })).message).toBe(
      'my.config.json: unknown key "upstreamUrl"; the known keys are routes, unmatchedRoutes, tokenTtlSeconds, keySpec, authorizerCacheTtlSeconds, services, audience, forwardBearerToken, apiKeyPrefix, secretScanningKeysUrl, revocationViewMaxStaleSeconds, usageMinuteRetentionDays, usageHourRetentionDays, usageDayRetentionDays, anomalyDetection, allowLogSampleRate',
    );
    expect(refusal(() => parse({ a: 1, keyspec: 'RSA_2048' })).message).toBe(
      'my.config.json: unknown keys "a", "keyspec" (did you mean "keySpec"?); the known keys are routes, unmatchedRoutes, tokenTtlSeconds, keySpec, authorizerCacheTtlSeconds, services, audience, forwardBearerToken, apiKeyPrefix, secretScanningKeysUrl, revocationViewMaxStaleSeconds, usageMinuteRetentionDays, usageHourRetentionDays, usageDayRetentionDays, anomalyDetection, allowLogSampleRate',
    );
  });

  it('reads authorizerCacheTtlSeconds, and --no-authorizer-cache turns the emulated cache off', () => {
    expect(parse({ authorizerCacheTtlSeconds: 30 })).toEqual({ authorizerCacheTtlSeconds: 30 });
    expect(check({}, []).settings?.authorizerCacheTtlSeconds).toBeUndefined();
    expect(check({}, ['--no-authorizer-cache']).settings?.authorizerCacheTtlSeconds).toBe(0);
  });

  it.each([
    [-1, 'must be an integer from 0 to 3600 (seconds; 0 turns the cache off), got -1'],
    [1.5, 'must be an integer from 0 to 3600 (seconds; 0 turns the cache off), got 1.5'],
    ['60', 'must be an integer from 0 to 3600 (seconds; 0 turns the cache off), got "60"'],
    [
      271,
      "must be at most 270: a decision cached just before a token's exp is reused for the whole TTL, so with the 30 s clock skew a token would be accepted up to 301 s after it expired (at most 300 s is allowed), got 271",
    ],
    [3600, 'must be at most 270'],
  ])('refuses authorizerCacheTtlSeconds %j: a token must never be accepted more than 300 s after exp', (value, message) => {
    expect(refusal(() => parse({ authorizerCacheTtlSeconds: value })).message).toContain(`my.config.json: authorizerCacheTtlSeconds ${message}`);
  });

  it('reads services, and refuses them beside routes or UPSTREAM_URL, or when they are invalid', () => {
    const services = [{ name: 'billing', pathPrefix: '/billing', routes: [] }];
    expect(parse({ services })).toEqual({ services });
    expect(refusal(() => parse({ services, routes: [] })).message).toBe(
      'my.config.json: services replaces routes: give each service its own routes (docs/services.md)',
    );
    expect(refusal(() => parse({ services: [{ name: 'Bad', pathPrefix: '/b' }] })).message).toMatch(/^my\.config\.json: services\[0\] \(Bad\) name must be/);
    const file = configFile({ services });
    expect(checkStartInput(parseCommandLine(['--config', file]), {}).services).toEqual(services);
    expect(refusal(() => checkStartInput(parseCommandLine(['--config', file]), { UPSTREAM_URL: 'http://127.0.0.1:9' })).message).toMatch(
      /services replace UPSTREAM_URL/,
    );
    expect(refusal(() => checkStartInput(parseCommandLine(['--config', file]), { TOLLGATE_ROUTES: '[]' })).message).toMatch(
      /services replace the routes of TOLLGATE_ROUTES/,
    );
  });

  it.each([99_999, Setting.tokenTtlSeconds.min - 1, Setting.tokenTtlSeconds.max + 1, 0, 120.5, '120', null])(
    'refuses tokenTtlSeconds %j, naming the file and the key (not an environment variable)',
    (value) => {
      const { message } = refusal(() => parse({ tokenTtlSeconds: value }));
      expect(message).toBe(`my.config.json: tokenTtlSeconds must be an integer from 60 to 3600 (seconds), got ${JSON.stringify(value)}`);
    },
  );

  it.each([
    [{ revocationViewMaxStaleSeconds: 4 }, Setting.tokenTtlSeconds.default],
    [{ revocationViewMaxStaleSeconds: Setting.tokenTtlSeconds.default + 1 }, Setting.tokenTtlSeconds.default],
    [{ tokenTtlSeconds: 120, revocationViewMaxStaleSeconds: 121 }, 120],
    [{ revocationViewMaxStaleSeconds: '30' }, Setting.tokenTtlSeconds.default],
  ])('refuses revocationViewMaxStaleSeconds in %j, bounded by the token lifetime (%i)', (config, ttl) => {
    const { message } = refusal(() => parse(config));
    expect(message).toBe(
      `my.config.json: revocationViewMaxStaleSeconds must be an integer from 5 to tokenTtlSeconds (${ttl}) (seconds: a token revoked during a feed outage must not be accepted for its whole lifetime), got ${JSON.stringify(config.revocationViewMaxStaleSeconds)}`,
    );
  });

  it('accepts revocationViewMaxStaleSeconds up to the token lifetime', () => {
    expect(parse({ tokenTtlSeconds: 120, revocationViewMaxStaleSeconds: 120 }).revocationViewMaxStaleSeconds).toBe(120);
    expect(parse({ revocationViewMaxStaleSeconds: 5 }).revocationViewMaxStaleSeconds).toBe(5);
  });

  it('reads the usage retention settings, the rest from the defaults', () => {
    expect(parse({ usageMinuteRetentionDays: 3, usageDayRetentionDays: 800 })).toEqual({ usageMinuteRetentionDays: 3, usageDayRetentionDays: 800 });
    expect(check({}, ['--config', configFile({ usageHourRetentionDays: 30 })]).usageRetention).toEqual({ minuteDays: 7, hourDays: 30, dayDays: 400 });
    expect(check({}, ['--config', configFile({})]).usageRetention).toBeUndefined();
  });

  it.each([
    [{ usageMinuteRetentionDays: 0 }, 'usageMinuteRetentionDays must be a whole number of days from 1 to 35, got 0'],
    [{ usageMinuteRetentionDays: '7' }, 'usageMinuteRetentionDays must be a whole number of days from 1 to 35, got "7"'],
    [{ usageHourRetentionDays: 401 }, 'usageHourRetentionDays must be a whole number of days from 1 to 400, got 401'],
    [{ usageMinuteRetentionDays: 30, usageHourRetentionDays: 20 }, 'usageHourRetentionDays must be at least usageMinuteRetentionDays (30), got 20'],
    [{ usageDayRetentionDays: 60 }, 'usageDayRetentionDays must be at least usageHourRetentionDays (90), got 60'],
  ])('refuses usage retention %j, naming the key', (value, message) => {
    expect(refusal(() => parse(value)).message).toBe(`my.config.json: ${message}`);
  });

  it('reads anomaly thresholds over the defaults and refuses a bad one, naming the file, the key and the threshold', () => {
    expect(check({}, ['--config', configFile({ anomalyDetection: { spikeFactor: 4 } })]).anomalySettings).toMatchObject({ spikeFactor: 4, newNetworks: 5 });
    expect(refusal(() => parse({ anomalyDetection: { idleDays: 0 } })).message).toBe(
      'my.config.json: anomalyDetection threshold idleDays must be a whole number from 1 to 3650, got 0',
    );
    expect(refusal(() => parse({ anomalyDetection: { rate: 2 } })).message).toMatch(/^my\.config\.json: anomalyDetection has an unknown threshold "rate"/);
    expect(check({}, ['--config', configFile({ anomalyDetection: { spreadNetworks: 3, spreadMinutes: 10 } })]).anomalySettings).toMatchObject({
      spreadNetworks: 3,
      spreadMinutes: 10,
    });
    expect(refusal(() => parse({ anomalyDetection: { spreadNetworks: 1 } })).message).toBe(
      'my.config.json: anomalyDetection threshold spreadNetworks must be a whole number from 2 to 100, got 1',
    );
    expect(refusal(() => parse({ anomalyDetection: { spreadMinutes: 61 } })).message).toBe(
      'my.config.json: anomalyDetection threshold spreadMinutes must be a whole number from 1 to 60, got 61',
    );
  });

  it('accepts tokenTtlSeconds at both limits', () => {
    expect(parse({ tokenTtlSeconds: Setting.tokenTtlSeconds.min }).tokenTtlSeconds).toBe(Setting.tokenTtlSeconds.min);
    expect(parse({ tokenTtlSeconds: Setting.tokenTtlSeconds.max }).tokenTtlSeconds).toBe(Setting.tokenTtlSeconds.max);
  });

  it('refuses a keySpec or unmatchedRoutes that is not one of its values', () => {
    expect(refusal(() => parse({ keySpec: 'ECC_NIST_P384' })).message).toBe(
      'my.config.json: keySpec must be one of ECC_NIST_P256, RSA_2048, got "ECC_NIST_P384"',
    );
    expect(refusal(() => parse({ unmatchedRoutes: 'block' })).message).toBe('my.config.json: unmatchedRoutes must be "deny" or "allow", got "block"');
  });

  it('reads forwardBearerToken and audience, refusing a value that is not a switch or not an audience the functions accept', () => {
    expect(parse({ forwardBearerToken: true, audience: 'orders-api' })).toEqual({ forwardBearerToken: true, audience: 'orders-api' });
    expect(refusal(() => parse({ forwardBearerToken: 'yes' })).message).toBe('my.config.json: forwardBearerToken must be true or false, got "yes"');
    expect(refusal(() => parse({ audience: 'orders api' })).message).toBe(
      'my.config.json: audience must be 1–256 characters without whitespace, got "orders api"',
    );
    expect(refusal(() => parse({ audience: 7 })).message).toBe('my.config.json: audience must be 1–256 characters without whitespace, got 7');
  });

  it('refuses routes the authorizer would refuse, naming the rule', () => {
    expect(refusal(() => parse({ routes: { a: 1 } })).message).toBe('my.config.json: routes must be an array of {method, path, scopes} rules');
    expect(refusal(() => parse({ routes: [{ method: 'GET', path: '/x' }] })).message).toMatch(/^my\.config\.json: routes\[0\] \(GET \/x\): scopes must be/);
  });

  it('refuses a file that is not JSON, or not an object', () => {
    expect(refusal(() => parseConfigFile('{"routes": ', 'my.config.json')).message).toMatch(/^config file my\.config\.json is not valid JSON: /);
    expect(refusal(() => parse([])).message).toBe(
      'my.config.json: must be a JSON object {routes, unmatchedRoutes, tokenTtlSeconds, keySpec, authorizerCacheTtlSeconds, services, audience, forwardBearerToken, apiKeyPrefix, secretScanningKeysUrl, revocationViewMaxStaleSeconds, usageMinuteRetentionDays, usageHourRetentionDays, usageDayRetentionDays, anomalyDetection, allowLogSampleRate}, got an array',
    );
    expect(refusal(() => parse(null)).message).toMatch(/must be a JSON object .*, got null$/);
  });
});

describe('readConfigFile', () => {
  it('reads and checks the named file', () => {
    const path = configFile({ tokenTtlSeconds: 120 });
    expect(readConfigFile(path)).toEqual({ file: path, config: { tokenTtlSeconds: 120 } });
    expect(refusal(() => readConfigFile(configFile({ tokenTTLSeconds: 120 }))).message).toContain('unknown key "tokenTTLSeconds"');
  });

  it('refuses a named file that cannot be read', () => {
    expect(refusal(() => readConfigFile('/nonexistent/tollgate.json')).message).toMatch(/^cannot read config file \/nonexistent\/tollgate\.json: ENOENT/);
  });

  it('checks tollgate.config.json in the working directory when no file is named', () => {
    const path = configFile({ tokenTTLSeconds: 120 }, 'tollgate.config.json');
    const cwd = process.cwd();
    process.chdir(join(path, '..'));
    try {
      expect(refusal(() => readConfigFile(undefined)).message).toContain('tollgate.config.json: unknown key "tokenTTLSeconds"');
      rmSync(path);
      expect(readConfigFile(undefined)).toBeUndefined();
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('checkStartInput', () => {
  it('passes the config file values and the environment on', () => {
    const path = configFile({ unmatchedRoutes: 'allow', tokenTtlSeconds: 300, keySpec: 'RSA_2048', routes: DEFAULT_ROUTES });
    expect(check({ PORT: '0', UPSTREAM_URL: 'http://127.0.0.1:9000', TOLLGATE_ADMIN_TOKEN: 'tga_mine' }, ['--fresh', '--config', path])).toEqual({
      fresh: true,
      handlerCode: 'source',
      port: 0,
      upstreamUrl: 'http://127.0.0.1:9000',
      adminToken: 'tga_mine',
      routes: { rules: DEFAULT_ROUTES, source: path },
      settings: { unmatchedRoutes: 'allow', tokenTtlSeconds: 300, keySpec: 'RSA_2048' },
    });
    expect(check({ PORT: '', UPSTREAM_URL: '', TOLLGATE_ADMIN_TOKEN: '', TOLLGATE_ROUTES: '' }, ['--config', configFile({})])).toEqual({
      fresh: false,
      handlerCode: 'source',
      port: 8787,
    });
  });

  it('holds every setting given in settings, the variables winning for apiKeyPrefix and secretScanningKeysUrl', () => {
    const path = configFile({ unmatchedRoutes: 'allow', tokenTtlSeconds: 300, revocationViewMaxStaleSeconds: 60, apiKeyPrefix: 'file_', audience: 'a' });
    const env = { [Setting.apiKeyPrefix.env]: 'env_', [Setting.secretScanningKeysUrl.env]: 'http://127.0.0.1:9/keys' };
    const input = check(env, ['--no-authorizer-cache', '--config', path]);
    expect(input.settings).toEqual({
      unmatchedRoutes: 'allow',
      tokenTtlSeconds: 300,
      revocationViewMaxStaleSeconds: 60,
      authorizerCacheTtlSeconds: 0,
      audience: 'a',
      apiKeyPrefix: 'env_',
      secretScanningKeysUrl: 'http://127.0.0.1:9/keys',
    });
    const environments = Setting.functionEnvironments(input.settings!);
    expect(environments.token).toEqual({ [Setting.audience.env]: 'a', [Setting.tokenTtlSeconds.env]: '300' });
    expect(environments.admin).toEqual({ [Setting.apiKeyPrefix.env]: 'env_' });
    expect(environments.leaks).toEqual({ [Setting.secretScanningKeysUrl.env]: 'http://127.0.0.1:9/keys' });
  });

  it('hands audience to the token function and the authorizer through its variable; forwardBearerToken, which no function reads, has none', () => {
    const input = check({}, ['--config', configFile({ audience: 'orders-api', forwardBearerToken: true })]);
    expect(input.settings).toEqual({ audience: 'orders-api', forwardBearerToken: true });
    const environments = Setting.functionEnvironments(input.settings!);
    expect(environments).toEqual({ authorizer: { [Setting.audience.env]: 'orders-api' }, token: { [Setting.audience.env]: 'orders-api' } });
    const env = { ...environments.token, ...environments.authorizer, [Env.issuer]: 'https://tollgate.test', ...tables };
    expect(issuerConfigFrom(env).audience).toBe('orders-api');
    expect(authorizerConfigFrom(env).audience).toBe('orders-api');
  });

  it('takes TOLLGATE_ROUTES over the file routes, yet still checks the file', () => {
    const routes = [{ method: 'ANY', path: '/health', scopes: [] }];
    const input = check({ TOLLGATE_ROUTES: JSON.stringify(routes) }, ['--config', configFile({ routes: DEFAULT_ROUTES })]);
    expect(input.routes).toEqual({ rules: routes, source: 'TOLLGATE_ROUTES' });
    expect(refusal(() => check({ TOLLGATE_ROUTES: JSON.stringify(routes) }, ['--config', configFile({ routes: 'all' })])).message).toContain(
      'routes must be an array',
    );
  });

  it('refuses TOLLGATE_ROUTES that is valid JSON but not valid rules', () => {
    const args = ['--config', configFile({})];
    expect(refusal(() => check({ TOLLGATE_ROUTES: '{"a":1}' }, args)).message).toBe('TOLLGATE_ROUTES must be an array of {method, path, scopes} rules');
    expect(refusal(() => check({ TOLLGATE_ROUTES: '[{"method":"GET","path":"/x"}]' }, args)).message).toMatch(
      /^TOLLGATE_ROUTES\[0\] \(GET \/x\): scopes must be/,
    );
    expect(refusal(() => check({ TOLLGATE_ROUTES: '[' }, args)).message).toMatch(/^TOLLGATE_ROUTES is not valid JSON: /);
  });

  it.each([
    ['notaurl', 'UPSTREAM_URL must be an absolute http:// or https:// URL, got "notaurl"'],
    ['/orders', 'UPSTREAM_URL must be an absolute http:// or https:// URL, got "/orders"'],
    ['ftp://files.example', 'UPSTREAM_URL must be an http:// or https:// URL, got one with ftp:'],
    ['localhost:9000', 'UPSTREAM_URL must be an http:// or https:// URL, got one with localhost:'],
    ['http://127.0.0.1:9000/?debug=1', 'UPSTREAM_URL must not have a query or fragment, got "http://127.0.0.1:9000/?debug=1"'],
  ])('refuses UPSTREAM_URL=%s', (url, message) => {
    expect(refusal(() => check({ UPSTREAM_URL: url }, ['--config', configFile({})])).message).toBe(message);
  });

  it('refuses UPSTREAM_URL with credentials without repeating them', () => {
    const { message } = refusal(() => check({ UPSTREAM_URL: 'https://svc:s3cret@orders.example' }, ['--config', configFile({})]));
    expect(message).toBe('UPSTREAM_URL must not contain credentials (user:password@)');
  });

  it('accepts absolute http and https upstream URLs', () => {
    for (const url of ['http://127.0.0.1:9000', 'https://orders.example/', 'http://localhost:3000']) {
      expect(check({ UPSTREAM_URL: url }, ['--config', configFile({})]).upstreamUrl).toBe(url);
    }
  });

  it('refuses a PORT out of range and an admin token that cannot be sent as a bearer token (without repeating it)', () => {
    const args = ['--config', configFile({})];
    expect(refusal(() => check({ PORT: '70000' }, args)).message).toBe('PORT must be an integer from 0 to 65535, got "70000"');
    const { message } = refusal(() => check({ TOLLGATE_ADMIN_TOKEN: 'my secret token' }, args));
    expect(message).toBe('TOLLGATE_ADMIN_TOKEN must be printable ASCII without spaces (it is sent as a bearer token)');
  });
});
