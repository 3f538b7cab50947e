import { beforeEach, describe, expect, it } from 'vitest';
import { ROTATION_REPORT, SIGNING_KEYS } from './fake-api';
import { rows, useFakeApi } from './harness';

const ADMIN_TOKEN = 'tga_test-admin-token';
const fake = useFakeApi(ADMIN_TOKEN);
const run = fake.run.bind(fake);

function lastRequest() {
  return fake.api.requests.at(-1)!;
}

describe('keys create', () => {
  it('posts the key settings with the admin token and prints the key once with the warning', async () => {
    const result = await run([
      'keys',
      'create',
      'orders-service',
      '--scopes',
      'orders:read,orders:write',
      '--expires-in-days',
      '90',
      '--description',
      'nightly batch',
      '--metadata',
      '{"team":"orders","tier":2}',
    ]);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    const request = lastRequest();
    expect(request.method).toBe('POST');
    expect(request.pathname).toBe('/admin/clients/orders-service/keys');
    expect(request.headers.authorization).toBe(`Bearer ${ADMIN_TOKEN}`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual({
      scopes: ['orders:read', 'orders:write'],
      expiresInDays: 90,
      description: 'nightly batch',
      metadata: { team: 'orders', tier: 2 },
    });

    const [keyId, apiKey] = [...fake.api.secrets][0]!;
    expect(result.stdout.split(apiKey)).toHaveLength(2);
    expect(result.stdout).toContain('Store it now: it will not be shown again');
    expect(result.stdout).toContain(`Created API key ${keyId} for client orders-service`);
    expect(result.stdout).toMatch(/createdAt\s+2025-01-01T00:00:00Z/);
    expect(result.stdout).toMatch(/expiresAt\s+2025-04-01T00:00:00Z/);
    expect(result.stdout).toMatch(/metadata\s+\{"team":"orders","tier":2\}/);
  });

  it('sends only the given settings and accepts scopes separated by spaces', async () => {
    await run(['keys', 'create', 'orders-service', '--scopes', 'orders:read  orders:write']);
    expect(JSON.parse(lastRequest().body)).toEqual({ scopes: ['orders:read', 'orders:write'] });
  });

  it('--json prints the server answer exactly', async () => {
    const result = await run(['keys', 'create', 'orders-service', '--scopes', 'orders:read', '--json']);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(fake.api.answers.at(-1));
  });
});

describe('keys list', () => {
  beforeEach(() => {
    fake.api.seedKey('orders-service', { description: 'first', expiresAt: 1_767_225_600 });
    fake.api.seedKey('orders-service', { scopes: ['orders:read', 'orders:write'] });
    fake.api.seedKey('orders-service');
    fake.api.seedKey('billing');
  });

  it('prints a table of one page with ISO times and the hint for the next page, never a secret', async () => {
    const result = await run(['keys', 'list', 'orders-service', '--limit', '2']);

    expect(result.code).toBe(0);
    expect(lastRequest().method).toBe('GET');
    expect(lastRequest().pathname).toBe('/admin/clients/orders-service/keys');
    expect(Object.fromEntries(lastRequest().query)).toEqual({ limit: '2' });
    const [table, hint] = result.stdout.split('\n\n');
    const [header, first, second] = rows(table!);
    expect(header).toEqual(['KEY ID', 'STATUS', 'SCOPES', 'CREATED', 'EXPIRES', 'LAST USED', 'DESCRIPTION']);
    const [firstId, secondId] = [...fake.api.keys.keys()];
    expect(first).toEqual([firstId, 'active', 'orders:read', '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 'first']);
    expect(second).toEqual([secondId, 'active', 'orders:read,orders:write', '2025-01-01T00:00:00Z', '-', '2025-01-01T00:00:00Z', '-']);
    expect(hint).toBe('More keys: add --next-token 2, or use --all.\n');
    expect(result.stdout).not.toMatch(/tg_/);
  });

  it('passes --next-token on', async () => {
    const result = await run(['keys', 'list', 'orders-service', '--limit', '2', '--next-token', '2']);

    expect(Object.fromEntries(lastRequest().query)).toEqual({ limit: '2', nextToken: '2' });
    expect(rows(result.stdout)).toHaveLength(2);
  });

  it('--all follows every page; with --json it prints every key in one document', async () => {
    const result = await run(['keys', 'list', 'orders-service', '--limit', '1', '--all', '--json']);

    expect(fake.api.requests.map((r) => r.query.get('nextToken'))).toEqual([null, '1', '2']);
    const printed = JSON.parse(result.stdout) as { keys: { clientId: string }[]; nextToken?: string };
    expect(printed.keys).toHaveLength(3);
    expect(printed.keys.every((key) => key.clientId === 'orders-service')).toBe(true);
    expect(printed).not.toHaveProperty('nextToken');
  });

  it('says so when a client has no keys', async () => {
    const result = await run(['keys', 'list', 'nobody']);
    expect(result.stdout).toBe('No API keys for client nobody.\n');
  });
});

describe('keys show, roll and revoke', () => {
  it('show prints the record as fields; --json prints the server answer', async () => {
    const { key } = fake.api.seedKey('orders-service', { metadata: { team: 'orders' } });

    const human = await run(['keys', 'show', key.keyId]);
    expect(lastRequest()).toMatchObject({ method: 'GET', pathname: `/admin/keys/${key.keyId}` });
    expect(rows(human.stdout)).toEqual([
      ['FIELD', 'VALUE'],
      ['keyId', key.keyId],
      ['clientId', 'orders-service'],
      ['status', 'active'],
      ['scopes', 'orders:read'],
      ['metadata', '{"team":"orders"}'],
      ['createdAt', '2025-01-01T00:00:00Z'],
      ['expiresAt', 'never'],
      ['lastUsedAt', '2025-01-01T00:00:00Z'],
    ]);

    // Global options may come before the command too.
    const json = await run(['--json', 'keys', 'show', key.keyId]);
    expect(json.stdout).toBe(`${JSON.stringify(fake.api.answers.at(-1), null, 2)}\n`);
  });

  it('roll posts the grace period and prints the new key once', async () => {
    const { key } = fake.api.seedKey('orders-service');
    const result = await run(['keys', 'roll', key.keyId, '--grace-seconds', '0']);

    expect(lastRequest()).toMatchObject({ method: 'POST', pathname: `/admin/keys/${key.keyId}/roll` });
    expect(JSON.parse(lastRequest().body)).toEqual({ graceSeconds: 0 });
    const newKeyId = key.rolledTo!;
    const newSecret = fake.api.secrets.get(newKeyId)!;
    expect(result.stdout).toContain(`Rolled ${key.keyId} to ${newKeyId}; ${key.keyId} keeps working for at most 0 s.`);
    expect(result.stdout.split(newSecret)).toHaveLength(2);
    expect(result.stdout).not.toContain(fake.api.secrets.get(key.keyId));
    expect(result.stdout).toContain('Store it now');
    expect(result.stdout).toMatch(new RegExp(`rolledFrom\\s+${key.keyId}`));
  });

  it('roll without --grace-seconds leaves the default to the server', async () => {
    const { key } = fake.api.seedKey('orders-service');
    const result = await run(['keys', 'roll', key.keyId]);

    expect(lastRequest().body).toBe('{}');
    expect(result.stdout).toContain('keeps working for at most 86400 s');
  });

  it.each([
    [
      ['keys', 'revoke', 'key_0123456789abcdef0123'],
      '/admin/keys/key_0123456789abcdef0123',
      'Revoked API key key_0123456789abcdef0123 and every access token it minted.',
    ],
    [['tokens', 'revoke', 'Xy_9-jti'], '/admin/tokens/Xy_9-jti', 'Revoked access token Xy_9-jti.'],
    [['clients', 'revoke', 'orders-service'], '/admin/clients/orders-service', 'Revoked client orders-service: every API key and access token it holds.'],
  ])('%j sends DELETE %s', async (argv, path, message) => {
    fake.api.seedKey('orders-service', { keyId: 'key_0123456789abcdef0123' });

    const human = await run(argv);
    expect(human).toEqual({ code: 0, stdout: `${message}\n`, stderr: '' });
    expect(lastRequest()).toMatchObject({ method: 'DELETE', pathname: path, body: '' });
    expect(lastRequest().headers.authorization).toBe(`Bearer ${ADMIN_TOKEN}`);

    // 204 has no body: scripts get nothing on stdout and rely on the exit status.
    expect(await run([...argv, '--json'])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('encodes path values as one segment each', async () => {
    await run(['tokens', 'revoke', 'a/b?c']);
    expect(lastRequest().url).toBe('/admin/tokens/a%2Fb%3Fc');
  });
});

describe('signing-keys', () => {
  it('status prints the ring with ISO times', async () => {
    const result = await run(['signing-keys', 'status']);

    expect(lastRequest()).toMatchObject({ method: 'GET', pathname: '/admin/signing-keys' });
    const [header, retiring, active] = rows(result.stdout);
    expect(header).toEqual(['KID', 'STATE', 'ALG', 'CREATED', 'ACTIVATES', 'ACTIVATED', 'RETIRING', 'VERIFIES UNTIL', 'RETIRED', 'COMPROMISED']);
    expect(retiring).toEqual([
      SIGNING_KEYS.keys[0]!.kid,
      'retiring',
      'ES256',
      '2025-01-01T00:00:00Z',
      '-',
      '2025-01-01T00:10:00Z',
      '2025-01-02T00:00:00Z',
      '2025-01-02T01:00:00Z',
      '-',
      '-',
    ]);
    expect(active).toEqual([
      SIGNING_KEYS.keys[1]!.kid,
      'active',
      'ES256',
      '2025-01-01T23:36:40Z',
      '2025-01-02T00:00:00Z',
      '2025-01-02T00:00:00Z',
      '-',
      '-',
      '-',
      '-',
    ]);
  });

  it('rotate posts an empty object and prints the ring, the changes and what comes next', async () => {
    const result = await run(['signing-keys', 'rotate']);

    expect(lastRequest()).toMatchObject({ method: 'POST', pathname: '/admin/signing-keys/rotate', body: '{}' });
    expect(result.stdout).toContain('Ran rotation action "rotate".');
    expect(result.stdout).toContain('20250103T0000Z-cccc3333: new → pending (rotation requested)');
    expect(result.stdout).toContain('Next: activate 20250103T0000Z-cccc3333 at 2025-01-03T00:10:00Z');
    expect(result.stdout).toMatch(/20250103T0000Z-cccc3333\s+pending\s+ES256\s+2025-01-03T00:00:00Z\s+2025-01-03T00:10:00Z\s/);

    const json = await run(['signing-keys', 'rotate', '--json']);
    expect(JSON.parse(json.stdout)).toEqual(ROTATION_REPORT);
  });
});

describe('token', () => {
  it('exchanges the key from TOLLGATE_API_KEY as a bearer credential and prints only the token on stdout', async () => {
    const { key, apiKey } = fake.api.seedKey('orders-service');
    const result = await run(['token'], { env: { TOLLGATE_API_KEY: apiKey } });

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`eyJhbGciOiJFUzI1NiJ9.${key.keyId}.sig\n`);
    expect(result.stderr).toBe('Access token expires in 900 s; scope: orders:read\n');
    const request = lastRequest();
    expect(request).toMatchObject({ method: 'POST', pathname: '/oauth/token' });
    expect(request.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request.body).toBe('grant_type=client_credentials');
  });

  it('reads the key from the named variable or stdin, uses Basic with --client-id, and asks for --scope', async () => {
    const { apiKey } = fake.api.seedKey('orders-service', { scopes: ['orders:read', 'orders:write'] });

    const fromEnv = await run(['token', '--api-key-env', 'ORDERS_KEY', '--client-id', 'orders-service', '--scope', 'orders:read'], {
      env: { ORDERS_KEY: apiKey },
    });
    expect(fromEnv.code).toBe(0);
    const basic = Buffer.from(lastRequest().headers.authorization!.replace('Basic ', ''), 'base64').toString();
    expect(basic).toBe(`orders-service:${apiKey}`);
    expect(Object.fromEntries(new URLSearchParams(lastRequest().body))).toEqual({ grant_type: 'client_credentials', scope: 'orders:read' });

    const fromStdin = await run(['token', '--api-key-stdin'], { stdin: `${apiKey}\n` });
    expect(fromStdin.code).toBe(0);
    expect(lastRequest().headers.authorization).toBe(`Bearer ${apiKey}`);
  });

  it('never sends the admin token to the token endpoint', async () => {
    const { apiKey } = fake.api.seedKey('orders-service');
    await run(['token'], { env: { TOLLGATE_API_KEY: apiKey } });
    expect(JSON.stringify(lastRequest().headers)).not.toContain(ADMIN_TOKEN);
  });

  it('--json prints the token response as the server sent it', async () => {
    const { apiKey } = fake.api.seedKey('orders-service');
    const result = await run(['token', '--json'], { env: { TOLLGATE_API_KEY: apiKey } });

    expect(JSON.parse(result.stdout)).toEqual(fake.api.answers.at(-1));
    expect(result.stderr).toBe('');
  });

  it('a refused key fails with the server code and does not print the key', async () => {
    const { apiKey } = fake.api.seedKey('orders-service');
    fake.api.secrets.clear();
    const result = await run(['token'], { env: { TOLLGATE_API_KEY: apiKey } });

    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe('tollgate: invalid_client: Client authentication failed. (HTTP 401)\n');
  });
});

describe('ids that cannot be one path segment', () => {
  it.each([
    [['keys', 'revoke', '..']],
    [['keys', 'revoke', '.']],
    [['clients', 'grant', '..', '--service', 'orders', '--scopes', 'orders:read']],
    [['keys', 'list', '..']],
  ])('%j is a usage error and sends nothing (URL resolution would reach another route)', async (args) => {
    const sent = fake.api.requests.length;
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^tollgate: the id "\.{1,2}" cannot name anything in a URL path .*nothing was sent\n$/);
    expect(fake.api.requests).toHaveLength(sent);
  });
});
