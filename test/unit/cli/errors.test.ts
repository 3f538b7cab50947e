import { describe, expect, it } from 'vitest';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { closedPortUrl } from '../../support/http-stub';
import { tollgate, useFakeApi, type CliOverrides } from './harness';

const ADMIN_TOKEN = 'tga_errors-token';
const fake = useFakeApi(ADMIN_TOKEN);
const run = fake.run.bind(fake);

describe('server refusals', () => {
  it('prints the error code and description on stderr and exits 1', async () => {
    const result = await run(['keys', 'show', 'key_00000000000000000000']);
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'tollgate: key_not_found: No API key has this keyId. (HTTP 404)\n' });
  });

  it('passes on the server validation message', async () => {
    fake.api.override = { status: 400, body: { error: 'invalid_request', error_description: 'Invalid body: scopes.0: must be an RFC 6749 scope-token.' } };
    const result = await run(['keys', 'create', 'orders-service', '--scopes', 'bad"scope']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('tollgate: invalid_request: Invalid body: scopes.0: must be an RFC 6749 scope-token. (HTTP 400)\n');
  });

  it('explains a wrong admin token', async () => {
    const result = await run(['signing-keys', 'status'], { env: { TOLLGATE_ADMIN_TOKEN: 'wrong' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^tollgate: unauthorized: Admin routes need "Authorization: Bearer <admin token>".*\(HTTP 401\)\n$/);
    expect(result.stderr).not.toContain('wrong');
  });

  it.each([
    [
      { status: 403, body: { message: 'User: arn:aws:iam::1:user/x is not authorized to perform: execute-api:Invoke' } },
      'http_403: User: arn:aws:iam::1:user/x is not authorized to perform: execute-api:Invoke (HTTP 403)',
    ],
    [{ status: 403, body: { Message: 'Forbidden' } }, 'http_403: Forbidden (HTTP 403)'],
    [{ status: 502, body: '<html>\n  <body>Bad Gateway</body>\n</html>' }, 'http_502: <html> <body>Bad Gateway</body> </html> (HTTP 502)'],
    [{ status: 500, body: '' }, 'http_500: no details (HTTP 500)'],
    [{ status: 302, headers: { Location: 'http://elsewhere.example/' } }, 'http_302: no details (HTTP 302)'],
  ])('shows a non-Tollgate error answer %j in one line', async (answer, message) => {
    fake.api.override = answer;
    const result = await run(['signing-keys', 'status']);
    expect(result).toEqual({ code: 1, stdout: '', stderr: `tollgate: ${message}\n` });
  });

  it('exits 3 when a 200 is not JSON (the URL is not a Tollgate API)', async () => {
    fake.api.override = { status: 200, body: '<html>welcome</html>' };
    const result = await run(['signing-keys', 'status']);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`tollgate: ${fake.api.url} answered HTTP 200 with a body that is not JSON; is ${fake.api.baseUrl}/ a Tollgate API?\n`);
  });

  it('exits 3 when a 200 lacks the documented fields, naming them but no value', async () => {
    fake.api.override = { status: 201, body: { apiKey: 'tg_would-be-secret', key: { keyId: 7 } } };
    const result = await run(['keys', 'create', 'orders-service', '--scopes', 'a']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^tollgate: unexpected answer to POST \/admin\/clients\/orders-service\/keys: key\.keyId: .*expected string/);
    expect(result.stderr).not.toContain('would-be-secret');
    expect(result.stdout).toBe('');
  });

  it('exits 3 when a token response is not a token response', async () => {
    fake.api.override = { status: 200, body: { access_token: 'x', token_type: 'bearer' } };
    const result = await run(['token'], { env: { TOLLGATE_API_KEY: generateApiKey().apiKey } });
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`tollgate: ${fake.api.baseUrl}/oauth/token: Token response expires_in is not a positive number.\n`);
  });

  it('stops --all when the server keeps returning the same nextToken', async () => {
    let calls = 0;
    const stuck = { status: 200, body: { keys: [], nextToken: 'same' } };
    fake.api.override = stuck;
    const result = await tollgate(['keys', 'list', 'c', '--all', '--url', fake.api.baseUrl], {
      env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN },
      fetch: (input, init) => {
        calls += 1;
        fake.api.override = stuck;
        return fetch(input, init);
      },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toBe('tollgate: listing the keys of c did not end: the server keeps returning a nextToken\n');
    expect(calls).toBe(2);
  });
});

describe('network errors', () => {
  it('explains in one line that the local server is not running', async () => {
    const url = await closedPortUrl();
    const result = await tollgate(['keys', 'list', 'orders-service', '--url', url], { env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN } });
    expect(result).toEqual({ code: 3, stdout: '', stderr: `tollgate: cannot reach ${url} (ECONNREFUSED) — is \`npm start\` running?\n` });
  });

  it('uses a neutral hint for a remote URL', async () => {
    const result = await tollgate(['signing-keys', 'status', '--url', 'https://tollgate.invalid'], {
      env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN },
      fetch: async () => {
        throw new TypeError('fetch failed', { cause: { code: 'ENOTFOUND' } });
      },
    });
    expect(result.stderr).toBe('tollgate: cannot reach https://tollgate.invalid (ENOTFOUND) — check the URL and your network\n');
    expect(result.code).toBe(3);
  });
});

describe('bad usage sends nothing and exits 2', () => {
  it.each([
    [['keys', 'create', 'orders-service'], /required option '--scopes <list>' not specified/],
    [['keys', 'create', 'orders-service', '--scopes', ' , '], /name at least one scope/],
    [['keys', 'create', 'orders-service', '--scopes', 'a', '--metadata', '{team'], /--metadata <json>' argument '\{team' is invalid\. is not valid JSON/],
    [['keys', 'create', 'orders-service', '--scopes', 'a', '--metadata', '["x"]'], /must be a JSON object/],
    [['keys', 'create', 'orders-service', '--scopes', 'a', '--expires-in-days', '1.5'], /must be a whole number/],
    [['keys', 'list', 'orders-service', '--limit', 'ten'], /must be a whole number/],
    [['keys', 'list', 'orders-service', '--all', '--next-token', 'x'], /use either --all or --next-token, not both/],
    [['keys', 'roll', 'key_x', '--grace-seconds', '-1'], /'--grace-seconds <n>' argument '-1' is invalid\. must be a whole number/],
    [['keys', 'show'], /missing required argument 'keyId'/],
    [['keys', 'frobnicate'], /unknown command 'frobnicate'/],
    [['signing-keys', 'status', '--stack', 'prod'], /use either --url or --stack, not both/],
  ])('%j', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^tollgate: [^\n]+\n$/);
    expect(result.stdout).toBe('');
    expect(fake.api.requests).toHaveLength(0);
  });

  it.each([
    [
      ['keys', 'create', 'orders-service', '--scopes', ''],
      "option '--scopes <list>' argument '' is invalid. name at least one scope, e.g. --scopes orders:read,orders:write.",
    ],
    [['keys', 'create', 'orders-service'], "required option '--scopes <list>' not specified"],
    [['keys', 'craete', 'orders-service'], "unknown command 'craete' (Did you mean create?)"],
    [['limits', 'set', 'c', '--rate', '5'], "required option '--burst <n>' not specified"],
    [['keys', 'list', 'c', '--verbose'], "unknown option '--verbose'"],
    [['keys', 'show', 'a', 'b'], "too many arguments for 'show'. Expected 1 argument but got 2."],
  ])("commander's usage error %j is one documented line", async (argv, line) => {
    const result = await run(argv);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `tollgate: ${line}\n` });
  });

  it.each([
    ['keys', 'create', 'KEY', '--scopes', 'a'],
    ['keys', 'list', 'KEY'],
    ['keys', 'show', 'KEY'],
    // Glued as the scanner finds keys in text (a pasted `API_KEY_tg_…`).
    ['keys', 'show', 'API_KEY_KEY'],
    ['keys', 'roll', 'KEY'],
    ['keys', 'revoke', 'KEY'],
    ['tokens', 'revoke', 'KEY'],
    ['clients', 'revoke', 'KEY'],
    ['limits', 'show', 'KEY'],
    ['limits', 'set', 'KEY', '--rate', '5', '--burst', '5'],
  ])('refuses an API key given as the id in %j, sending nothing and echoing nothing', async (...argv) => {
    const { apiKey } = generateApiKey();
    const result = await run(argv.map((arg) => arg.replace(/KEY$/, apiKey)));
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'tollgate: that argument is an API key, which is a secret and never goes in a URL; nothing was sent. Give the client id, or the key id (key_…) that `keys list` shows.\n',
    });
    expect(fake.api.requests).toHaveLength(0);
  });

  it('prints no credential a server quotes back in its error (the admin token, an API key)', async () => {
    const echo = async (_input: string | URL | Request, init?: RequestInit) =>
      new Response(
        JSON.stringify({ error: 'invalid_request', error_description: `bad Authorization header: ${new Headers(init?.headers).get('authorization')}` }),
        {
          status: 400,
          headers: { 'Content-Type': 'application/json' },
        },
      );
    const admin = await tollgate(['keys', 'list', 'c', '--url', 'http://127.0.0.1:9'], { env: { TOLLGATE_ADMIN_TOKEN: 'my-admin-secret-42' }, fetch: echo });
    expect(admin.code).not.toBe(0);
    expect(admin.stderr).toContain('Bearer <redacted>');
    expect(admin.stderr).not.toContain('my-admin-secret-42');
  });

  it('refuses a --url that is not an http(s) URL', async () => {
    const result = await tollgate(['keys', 'list', 'c', '--url', 'ftp://x'], { env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN } });
    expect(result).toMatchObject({ code: 2, stderr: 'tollgate: --url must be an http(s) URL: ftp://x\n' });
  });

  it('sends no credential over plain http to another host, nor one written into the URL, and never echoes a password', async () => {
    const sent: string[] = [];
    const fetch = async (input: string | URL | Request) => {
      sent.push(String(input));
      return new Response('{}', { status: 200 });
    };
    const plain = await tollgate(['keys', 'list', 'c', '--url', 'http://192.0.2.2:9911'], { env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN }, fetch });
    expect(plain).toMatchObject({ code: 2, stderr: expect.stringMatching(/^tollgate: --url must use https: plain http is allowed only on a loopback host/) });
    const fromEnv = await tollgate(['token'], { env: { TOLLGATE_URL: 'http://tollgate.internal/v1', TOLLGATE_API_KEY: generateApiKey().apiKey }, fetch });
    expect(fromEnv).toMatchObject({ code: 2, stderr: expect.stringContaining('must use https') });
    const userinfo = await tollgate(['keys', 'list', 'c', '--url', 'https://ops:Sup3rS3cret@tollgate.example/v1'], {
      env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN },
      fetch,
    });
    expect(userinfo).toMatchObject({
      code: 2,
      stderr: 'tollgate: --url must not hold a user name or password (credentials go in headers): https://…@tollgate.example/v1\n',
    });
    for (const url of ['https://admin:s3cr@t@tollgate.example/v1', 'http://admin:pa/ss@tollgate.example/v1']) {
      const run = await tollgate(['keys', 'list', 'c', '--url', url], { env: { TOLLGATE_ADMIN_TOKEN: ADMIN_TOKEN }, fetch });
      expect(run.code).toBe(2);
      expect(run.stderr).not.toMatch(/s3cr|pa\/ss|admin/);
    }
    expect(sent).toEqual([]);
  });

  it.each([
    [['keys'], 'keys needs a command: create, list, show, roll, revoke or resume (see tollgate keys --help)'],
    [['tokens'], 'tokens needs a command: revoke (see tollgate tokens --help)'],
    [
      [],
      'missing command: keys, tokens, clients, limits, usage, anomalies, signing-keys, token, smoke, scan, scanner-rules or leak-response (see tollgate --help)',
    ],
  ])('names the commands in one line when %j lacks one', async (argv, line) => {
    const result = await run(argv);
    expect(result).toEqual({ code: 2, stdout: '', stderr: `tollgate: ${line}\n` });
  });

  it('--help on any command exits 0 with usage on stdout', async () => {
    for (const argv of [
      ['--help'],
      ['keys', 'create', '--help'],
      ['token', '--help'],
      ['signing-keys', 'rotate', '--help'],
      ['clients', 'revoke', '--help'],
      ['smoke', '--help'],
    ]) {
      const result = await tollgate(argv);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: tollgate/);
    }
  });
});

describe('the token command never takes or echoes the key carelessly', () => {
  const apiKey = generateApiKey().apiKey;
  // A deployment's own prefix (`apiKeyPrefix`): still a valid environment variable name.
  const customPrefixKey = `acme_${apiKey.slice(3)}`;

  it.each([
    [['token', '--api-key-env', apiKey], {}, /--api-key-env takes the NAME of an environment variable/],
    [['token', '--api-key-env', customPrefixKey], {}, /--api-key-env takes the NAME of an environment variable/],
    // A key pasted a character short, or with one too many: still never echoed.
    [['token', '--api-key-env', customPrefixKey.slice(0, -1)], {}, /--api-key-env takes the NAME of an environment variable/],
    [['token', '--api-key-env', `${customPrefixKey}x`], {}, /--api-key-env takes the NAME of an environment variable/],
    // A body with no digit (one key in ~5,500), mixed case over 40 characters: still refused.
    [['token', '--api-key-env', 'AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGhIjKlMnOpQrStUvW'], {}, /--api-key-env takes the NAME of an environment variable/],
    // Its body alone, without the prefix (when it starts with a letter it is a valid variable name).
    [['token', '--api-key-env', `K${apiKey.slice(3)}`], {}, /--api-key-env takes the NAME of an environment variable/],
    [['token', '--api-key-env', 'A', '--api-key-stdin'], {}, /use either --api-key-env or --api-key-stdin, not both/],
    [['token'], { env: {} }, /environment variable TOLLGATE_API_KEY is not set/],
    // Long lowercase or uppercase names are names, and are named back.
    [['token', '--api-key-env', 'dev_tollgatestagingapikey'], { env: {} }, /environment variable dev_tollgatestagingapikey is not set/],
    [
      ['token', '--api-key-env', 'TOLLGATE_STAGING_ORDERS_SERVICE_API_KEY'],
      { env: {} },
      /environment variable TOLLGATE_STAGING_ORDERS_SERVICE_API_KEY is not set/,
    ],
    [['token', '--api-key-env', 'MY_KEY'], { env: { MY_KEY: `${apiKey.slice(0, -1)}!` } }, /environment variable MY_KEY does not hold a Tollgate API key/],
    [['token', '--api-key-stdin'], {}, /reads the key from a pipe or a file, not from a terminal/],
    [['token', '--api-key-stdin'], { stdin: '\n' }, /standard input does not hold a Tollgate API key/],
  ] as const)('%j', async (argv, overrides, message) => {
    const result = await tollgate([...argv, '--url', fake.api.baseUrl], overrides as CliOverrides);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr + result.stdout).not.toContain(apiKey.slice(3, 40));
    expect(fake.api.requests).toHaveLength(0);
  });

  it.each([
    [['token', '--api-key', apiKey], /unknown option '--api-key'/],
    [['token', apiKey], /too many arguments for 'token'/],
  ])('refuses a key given as an argument without echoing it: %#', async (argv, message) => {
    const result = await tollgate([...argv, '--url', fake.api.baseUrl]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^tollgate: [^\n]+\n$/);
    expect(result.stderr).not.toContain(apiKey.slice(3, 40));
    expect(fake.api.requests).toHaveLength(0);
  });
});
