import { describe, expect, it } from 'vitest';
import { rows, tollgate, useFakeApi } from './harness';

const ADMIN_TOKEN = 'tga_limits-token';
const fake = useFakeApi(ADMIN_TOKEN);
const run = fake.run.bind(fake);

function lastRequest() {
  return fake.api.requests.at(-1)!;
}

const UNREGISTERED = {
  status: 200,
  body: {
    clientId: 'orders-service',
    limits: { rateLimit: 5, burstLimit: 10 },
    plan: 'custom',
    usageKeyRegistered: false,
    usageError: 'bind key to plan: TooManyRequestsException: Too Many Requests',
  },
};

describe('limits show', () => {
  it('GETs the limits with the admin token and prints the defaults of a client without limits of its own', async () => {
    fake.api.seedKey('orders-service');
    const result = await run(['limits', 'show', 'orders-service']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(lastRequest()).toMatchObject({ method: 'GET', pathname: '/admin/clients/orders-service/limits', body: '' });
    expect(lastRequest().headers.authorization).toBe(`Bearer ${ADMIN_TOKEN}`);
    expect(rows(result.stdout)).toEqual([
      ['FIELD', 'VALUE'],
      ['clientId', 'orders-service'],
      ['rateLimit', '50 requests/s'],
      ['burstLimit', '100'],
      ['quota', 'none'],
      ['plan', 'default'],
      ['usageKeyRegistered', 'yes'],
    ]);
  });

  it('prints a quota with its period and the custom plan', async () => {
    fake.api.seedKey('orders-service');
    fake.api.limits.set('orders-service', { rateLimit: 0.5, burstLimit: 1, quota: { limit: 100, period: 'WEEK' } });
    const result = await run(['limits', 'show', 'orders-service']);

    expect(result.stdout).toMatch(/^rateLimit +0\.5 requests\/s$/m);
    expect(result.stdout).toMatch(/^burstLimit +1$/m);
    expect(result.stdout).toMatch(/^quota +100 requests per WEEK \(UTC\)$/m);
    expect(result.stdout).toMatch(/^plan +custom$/m);
  });

  it('--json prints the server answer exactly', async () => {
    fake.api.seedKey('orders-service');
    const result = await run(['limits', 'show', 'orders-service', '--json']);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${JSON.stringify(fake.api.answers.at(-1), null, 2)}\n`);
  });

  it('says when API Gateway does not apply the limits, with the usageError', async () => {
    fake.api.override = UNREGISTERED;
    const result = await run(['limits', 'show', 'orders-service']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usageKeyRegistered +no$/m);
    expect(result.stdout).toMatch(/^usageError +bind key to plan: TooManyRequestsException: Too Many Requests$/m);
    expect(result.stdout).toContain(
      '\n\nAPI Gateway does not apply exactly these limits to orders-service yet; `tollgate limits set` again retries the registration.\n',
    );
  });

  it('encodes the clientId as one path segment', async () => {
    await run(['limits', 'show', 'a/b?c']);
    expect(lastRequest().url).toBe('/admin/clients/a%2Fb%3Fc/limits');
  });
});

describe('limits set', () => {
  it('PUTs rate, burst and quota with the admin token and prints the new limits', async () => {
    fake.api.seedKey('orders-service');
    const result = await run(['limits', 'set', 'orders-service', '--rate', '5', '--burst', '10', '--quota', '10000', '--period', 'DAY']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    const request = lastRequest();
    expect(request).toMatchObject({ method: 'PUT', pathname: '/admin/clients/orders-service/limits' });
    expect(request.headers.authorization).toBe(`Bearer ${ADMIN_TOKEN}`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual({ rateLimit: 5, burstLimit: 10, quota: { limit: 10000, period: 'DAY' } });
    expect(fake.api.limits.get('orders-service')).toEqual({ rateLimit: 5, burstLimit: 10, quota: { limit: 10000, period: 'DAY' } });

    const [headline, record] = result.stdout.split('\n\n');
    expect(headline).toBe('Set the limits of client orders-service:');
    expect(rows(record!)).toEqual([
      ['FIELD', 'VALUE'],
      ['clientId', 'orders-service'],
      ['rateLimit', '5 requests/s'],
      ['burstLimit', '10'],
      ['quota', '10000 requests per DAY (UTC)'],
      ['plan', 'custom'],
      ['usageKeyRegistered', 'yes'],
    ]);
  });

  it('without quota flags sends no quota, which removes a quota the client had', async () => {
    fake.api.seedKey('orders-service');
    fake.api.limits.set('orders-service', { rateLimit: 5, burstLimit: 10, quota: { limit: 100, period: 'DAY' } });
    const result = await run(['limits', 'set', 'orders-service', '--rate', '0.5', '--burst', '1']);

    expect(result.code).toBe(0);
    expect(JSON.parse(lastRequest().body)).toEqual({ rateLimit: 0.5, burstLimit: 1 });
    expect(fake.api.limits.get('orders-service')).toEqual({ rateLimit: 0.5, burstLimit: 1 });
    expect(result.stdout).toMatch(/^quota +none$/m);
  });

  it('--no-quota sends quota null', async () => {
    fake.api.seedKey('orders-service');
    const result = await run(['limits', 'set', 'orders-service', '--rate', '50', '--burst', '100', '--no-quota']);

    expect(result.code).toBe(0);
    expect(JSON.parse(lastRequest().body)).toEqual({ rateLimit: 50, burstLimit: 100, quota: null });
    expect(result.stdout).toMatch(/^plan +default$/m);
  });

  it('takes the period in any case and a quota as large as the API allows', async () => {
    fake.api.seedKey('orders-service');
    const result = await run(['limits', 'set', 'orders-service', '--rate', '10', '--burst', '10', '--quota', '2147483647', '--period', 'month']);

    expect(result.code).toBe(0);
    expect(JSON.parse(lastRequest().body)).toEqual({ rateLimit: 10, burstLimit: 10, quota: { limit: 2_147_483_647, period: 'MONTH' } });
  });

  it('--json prints the server answer exactly', async () => {
    fake.api.seedKey('orders-service');
    const result = await run(['--json', 'limits', 'set', 'orders-service', '--rate', '5', '--burst', '5']);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${JSON.stringify(fake.api.answers.at(-1), null, 2)}\n`);
  });

  it('exits 0 when the limits were stored but API Gateway was not updated, and says so', async () => {
    fake.api.override = UNREGISTERED;
    const result = await run(['limits', 'set', 'orders-service', '--rate', '5', '--burst', '10']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^usageKeyRegistered +no$/m);
    expect(result.stdout).toMatch(/^usageError +bind key to plan: TooManyRequestsException/m);
    expect(result.stdout).toContain('`tollgate limits set` again retries the registration.');
  });
});

describe('limits: bad usage sends nothing and exits 2', () => {
  const set = ['limits', 'set', 'orders-service'];
  it.each([
    [[...set, '--burst', '10'], /required option '--rate <n>' not specified/],
    [[...set, '--rate', '5'], /required option '--burst <n>' not specified/],
    [[...set, '--rate', 'fast', '--burst', '10'], /'--rate <n>' argument 'fast' is invalid\. must be a positive number of requests per second/],
    [[...set, '--rate', '0', '--burst', '10'], /'--rate <n>' argument '0' is invalid\. must be a positive number/],
    [[...set, '--rate', '-1', '--burst', '10'], /'--rate <n>' argument '-1' is invalid\. must be a positive number/],
    [[...set, '--rate', '1e3', '--burst', '10'], /'--rate <n>' argument '1e3' is invalid\. must be a positive number/],
    [[...set, '--rate', '5', '--burst', '2.5'], /'--burst <n>' argument '2\.5' is invalid\. must be a whole number/],
    [[...set, '--rate', '5', '--burst', '10', '--quota', '1.5', '--period', 'DAY'], /'--quota <n>' argument '1\.5' is invalid\. must be a whole number/],
    [[...set, '--rate', '5', '--burst', '10', '--quota', '100'], /^tollgate: --quota needs --period DAY\|WEEK\|MONTH\n$/],
    [[...set, '--rate', '5', '--burst', '10', '--period', 'DAY'], /^tollgate: --period needs --quota <n>, the number of requests allowed per period\n$/],
    [
      [...set, '--rate', '5', '--burst', '10', '--quota', '100', '--period', 'fortnight'],
      /'--period <period>' argument 'fortnight' is invalid\. must be DAY, WEEK or MONTH\./,
    ],
    [[...set, '--rate', '5', '--burst', '10', '--no-quota', '--period', 'DAY'], /^tollgate: --period goes with --quota <n>, not with --no-quota\n$/],
    [['limits', 'set', '--rate', '5', '--burst', '10'], /missing required argument 'clientId'/],
    [['limits', 'show'], /missing required argument 'clientId'/],
  ])('%j', async (argv, message) => {
    fake.api.seedKey('orders-service');
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(fake.api.requests).toHaveLength(0);
  });

  it('--help explains what an absent quota does, with examples, and exits 0', async () => {
    const result = await tollgate(['limits', 'set', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: tollgate limits set \[options\] <clientId>/);
    expect(result.stdout).toContain('leaving out --quota removes a quota the client had');
    expect(result.stdout).toContain('npx tollgate limits set orders-service --rate 5 --burst 10 --quota 10000 --period DAY');
  });
});

describe('limits: server errors', () => {
  it('passes on the server validation message with exit 1 (burst below the rate)', async () => {
    fake.api.seedKey('orders-service');
    const result = await run(['limits', 'set', 'orders-service', '--rate', '20', '--burst', '10']);

    expect(fake.api.requests).toHaveLength(1);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'tollgate: invalid_request: Invalid body: burstLimit: must be at least rateLimit rounded up, or 5000 for higher rates (the bucket must hold one second of the allowed rate). (HTTP 400)\n',
    });
    expect(fake.api.limits.has('orders-service')).toBe(false);
  });

  it.each([[['limits', 'show', 'nobody']], [['limits', 'set', 'nobody', '--rate', '5', '--burst', '5']]])(
    '%j: an unknown client is client_not_found',
    async (argv) => {
      const result = await run(argv);
      expect(result).toEqual({ code: 1, stdout: '', stderr: 'tollgate: client_not_found: No client has this clientId. (HTTP 404)\n' });
    },
  );

  it('a revoked client is client_revoked', async () => {
    fake.api.override = { status: 409, body: { error: 'client_revoked', error_description: 'The client is revoked.' } };
    const result = await run(['limits', 'set', 'orders-service', '--rate', '5', '--burst', '5', '--json']);
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'tollgate: client_revoked: The client is revoked. (HTTP 409)\n' });
  });

  it('exits 3 when a 200 is not a limits answer', async () => {
    fake.api.override = { status: 200, body: { clientId: 'orders-service', limits: { rateLimit: 5 }, plan: 'custom' } };
    const result = await run(['limits', 'show', 'orders-service']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^tollgate: unexpected answer to GET \/admin\/clients\/orders-service\/limits: limits\.burstLimit: .*; usageKeyRegistered: /);
    expect(result.stdout).toBe('');
  });
});
