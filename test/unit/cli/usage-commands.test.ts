/** `usage quota` and `usage credits` against the fake API: what they send, and bad input that sends nothing. */
import { describe, expect, it } from 'vitest';
import { useFakeApi } from './harness';

const ADMIN_TOKEN = 'tga_usage-token';
const fake = useFakeApi(ADMIN_TOKEN);
const run = fake.run.bind(fake);
const KEY_ID = 'key_0123456789abcdef0123';

function lastRequest() {
  return fake.api.requests.at(-1)!;
}

const quotaAnswer = (quota?: { limit: number; period: string }) => ({ status: 200, body: { clientId: 'orders-service', ...(quota && { quota }) } });

describe('usage quota', () => {
  it('PUTs the limit and the period, in upper case as limits set sends it', async () => {
    fake.api.override = quotaAnswer({ limit: 100, period: 'DAY' });
    const result = await run(['usage', 'quota', 'orders-service', '--limit', '100', '--period', 'day']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(lastRequest()).toMatchObject({ method: 'PUT', pathname: '/admin/clients/orders-service/quota' });
    expect(JSON.parse(lastRequest().body)).toEqual({ quota: { limit: 100, period: 'DAY' } });
  });

  it('sends a period it does not know as it is (upper-cased), so the API refuses it in its own words', async () => {
    fake.api.override = { status: 400, body: { error: 'invalid_request', error_description: 'quota.period must be DAY, WEEK or MONTH.' } };
    const result = await run(['usage', 'quota', 'orders-service', '--limit', '100', '--period', 'fortnight']);

    expect(JSON.parse(lastRequest().body)).toEqual({ quota: { limit: 100, period: 'FORTNIGHT' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/invalid_request: quota\.period/);
  });

  it('--remove PUTs quota null', async () => {
    fake.api.override = quotaAnswer();
    const result = await run(['usage', 'quota', 'orders-service', '--remove']);

    expect(result.code).toBe(0);
    expect(JSON.parse(lastRequest().body)).toEqual({ quota: null });
  });

  it('without quota flags GETs the quota', async () => {
    fake.api.override = quotaAnswer({ limit: 100, period: 'DAY' });
    const result = await run(['usage', 'quota', 'orders-service']);

    expect(result.code).toBe(0);
    expect(lastRequest()).toMatchObject({ method: 'GET', pathname: '/admin/clients/orders-service/quota', body: '' });
  });

  it('--key sets the key’s own quota', async () => {
    fake.api.override = { status: 200, body: { keyId: KEY_ID, clientId: 'orders-service', quota: { limit: 5, period: 'WEEK' } } };
    const result = await run(['usage', 'quota', '--key', KEY_ID, '--limit', '5', '--period', 'Week']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(lastRequest()).toMatchObject({ method: 'PUT', pathname: `/admin/keys/${KEY_ID}/quota` });
    expect(JSON.parse(lastRequest().body)).toEqual({ quota: { limit: 5, period: 'WEEK' } });
  });
});

describe('usage credits', () => {
  it('PUTs remaining, refill and the period, in upper case', async () => {
    fake.api.override = quotaAnswer();
    const result = await run(['usage', 'credits', 'orders-service', '--remaining', '500', '--refill', '100', '--period', 'week']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(lastRequest()).toMatchObject({ method: 'PUT', pathname: '/admin/clients/orders-service/credits' });
    expect(JSON.parse(lastRequest().body)).toEqual({ credits: { remaining: 500, refill: 100, period: 'WEEK' } });
  });

  it('defaults to no refill per MONTH; --remove PUTs credits null', async () => {
    fake.api.override = quotaAnswer();
    expect((await run(['usage', 'credits', 'orders-service', '--remaining', '0'])).code).toBe(0);
    expect(JSON.parse(lastRequest().body)).toEqual({ credits: { remaining: 0, refill: 0, period: 'MONTH' } });

    fake.api.override = quotaAnswer();
    expect((await run(['usage', 'credits', 'orders-service', '--remove'])).code).toBe(0);
    expect(JSON.parse(lastRequest().body)).toEqual({ credits: null });
  });
});

describe('usage quota and credits: bad usage sends nothing and exits 2', () => {
  const quota = ['usage', 'quota', 'orders-service'];
  const credits = ['usage', 'credits', 'orders-service'];
  it.each([
    [[...quota, '--limit', '100'], /^tollgate: --limit needs --period DAY\|WEEK\|MONTH\n$/],
    [[...quota, '--period', 'DAY'], /^tollgate: --period needs --limit <n>, the number of requests allowed per period\n$/],
    [[...quota, '--limit', '1.5', '--period', 'DAY'], /'--limit <n>' argument '1\.5' is invalid\. must be a whole number/],
    [[...quota, '--remove', '--limit', '100'], /^tollgate: --limit <n> goes with --period, not with --remove\n$/],
    [[...quota, '--remove', '--period', 'DAY'], /^tollgate: --period goes with --limit <n>, not with --remove\n$/],
    [['usage', 'quota', '--key', KEY_ID, '--limit', '100'], /^tollgate: --limit needs --period DAY\|WEEK\|MONTH\n$/],
    [[...credits], /^tollgate: give --remaining <n> \(with --refill <n> and --period if wanted\), or --remove\n$/],
    [[...credits, '--refill', '10', '--period', 'DAY'], /^tollgate: give --remaining <n>/],
    [[...credits, '--remaining', '10', '--period', 'fortnight'], /'--period <period>' argument 'fortnight' is invalid\. must be DAY, WEEK or MONTH\./],
    [[...credits, '--remove', '--remaining', '10'], /^tollgate: --remove goes alone, not with --remaining\n$/],
    [[...credits, '--remove', '--refill', '1', '--period', 'DAY'], /^tollgate: --remove goes alone, not with --refill or --period\n$/],
  ])('%j', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(fake.api.requests).toHaveLength(0);
  });
});

describe('clients resume and keys resume', () => {
  it.each([
    [
      ['clients', 'resume', 'orders-service'],
      { clientId: 'orders-service' },
      'orders-service is not suspended; its tokens are served (within the revocation bound).\n',
    ],
    [
      ['clients', 'resume', 'orders-service'],
      { clientId: 'orders-service', suspendedUntil: Date.UTC(2026, 11, 7) / 1000 },
      'orders-service is still suspended until 2026-12-07T00:00:00Z.\n',
    ],
    [
      ['keys', 'resume', KEY_ID],
      { keyId: KEY_ID, clientId: 'orders-service' },
      `${KEY_ID} is not suspended; its tokens are served (within the revocation bound).\n`,
    ],
    [
      ['keys', 'resume', KEY_ID],
      { keyId: KEY_ID, clientId: 'orders-service', suspendedUntil: Date.UTC(2026, 11, 7) / 1000 },
      `${KEY_ID} is still suspended until 2026-12-07T00:00:00Z.\n`,
    ],
  ])('%j says what it left suspended', async (argv, body, said) => {
    fake.api.override = { status: 200, body };
    expect(await run(argv)).toEqual({ code: 0, stdout: said, stderr: '' });
    expect(lastRequest().method).toBe('POST');
  });
});

describe('--key goes to the command it follows', () => {
  const series = {
    clientId: 'orders-service',
    granularity: 'minute',
    keyId: KEY_ID,
    from: '2026-12-06T20:00:00.000Z',
    to: '2026-12-06T20:00:00.000Z',
    points: [],
    totals: { requests: 0, allowed: 0, throttled: 0, serverErrors: 0, denied: 0, deniedBy: {} },
  };

  it('usage <clientId> --key filters the usage series by key', async () => {
    fake.api.override = { status: 200, body: series };
    const result = await run(['usage', 'orders-service', '--key', KEY_ID]);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(lastRequest()).toMatchObject({ method: 'GET', pathname: '/admin/clients/orders-service/usage' });
    expect(lastRequest().query.get('keyId')).toBe(KEY_ID);
  });

  it('usage quota --key shows the key’s own quota', async () => {
    fake.api.override = { status: 200, body: { keyId: KEY_ID, clientId: 'orders-service' } };
    const result = await run(['usage', 'quota', '--key', KEY_ID]);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(lastRequest()).toMatchObject({ method: 'GET', pathname: `/admin/keys/${KEY_ID}/quota` });
  });

  it('usage quota <clientId> --key is both, a usage error', async () => {
    const result = await run(['usage', 'quota', 'orders-service', '--key', KEY_ID]);
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'tollgate: give either a client id or --key <keyId>, not both or neither.\n' });
    expect(fake.api.requests).toHaveLength(0);
  });
});
