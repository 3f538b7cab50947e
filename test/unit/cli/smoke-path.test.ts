/**
 * `tollgate smoke --path`: a path that would leave the API (another host, which would receive
 * the smoke token, or a URL outside the base URL's stage) is a usage error before anything is
 * created or sent.
 */
import { describe, expect, it } from 'vitest';
import { ApiHttp, type FetchLike } from '../../../client/api-http';
import { upstreamUrl } from '../../../cli/smoke';
import { tollgate } from './harness';

/** Records every request and answers each with a 500: the smoke run fails at its first step. */
function recorder(): { seen: string[]; fetch: FetchLike } {
  const seen: string[] = [];
  return {
    seen,
    fetch: async (input, init) => {
      seen.push(`${init?.method ?? 'GET'} ${String(input)}`);
      return new Response('{"error":"server_error"}', { status: 500, headers: { 'content-type': 'application/json' } });
    },
  };
}

const BASE = 'http://127.0.0.1:9/v1/';
const env = { TOLLGATE_ADMIN_TOKEN: 'tga_test' };

describe('smoke --path', () => {
  it.each([['///evil.example/x'], ['/\\evil.example/x'], ['//orders/42'], ['/orders\\42']])('refuses %s before sending anything (exit 2)', async (path) => {
    const { seen, fetch } = recorder();
    const run = await tollgate(['smoke', '--url', BASE, '--path', path], { env, fetch });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `tollgate: option '--path <path>' argument '${path}' is invalid. must be one "/" then a path below the API, without "//" at its start or any "\\", e.g. /orders/42.\n`,
    );
    expect(seen).toEqual([]);
  });

  it.each([['/../admin/keys'], ['/%2e%2e/x'], ['/orders/%2E%2e/../../x']])(
    "refuses %s, which resolves outside the base URL's stage, before sending anything (exit 2)",
    async (path) => {
      const { seen, fetch } = recorder();
      const run = await tollgate(['smoke', '--url', BASE, '--path', path], { env, fetch });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        new RegExp(
          `^tollgate: --path \\S+ resolves to http://127\\.0\\.0\\.1:9/\\S*, outside ${BASE}; give a path below the API's base URL, e.g. /orders/42\\n$`,
        ),
      );
      expect(seen).toEqual([]);
    },
  );

  it('takes a path below the stage, and calls it there', async () => {
    const http = new ApiHttp({ baseUrl: BASE, fetch: recorder().fetch });
    expect(upstreamUrl(http, '/orders/42').href).toBe('http://127.0.0.1:9/v1/orders/42');
    expect(upstreamUrl(http, '/orders/a/../42').href).toBe('http://127.0.0.1:9/v1/orders/42');
    const { seen, fetch } = recorder();
    const run = await tollgate(['smoke', '--url', BASE, '--path', '/orders/42'], { env, fetch });
    // The fake answers 500 to everything: the run fails at its first step, having been allowed to start.
    expect(run.code).toBe(1);
    expect(seen.length).toBeGreaterThan(0);
    for (const request of seen) expect(request).toMatch(/^\w+ http:\/\/127\.0\.0\.1:9\/v1\//);
  });
});

describe('smoke --idempotency-key', () => {
  it('is refused before anything is sent: one key finishes one change, smoke makes several', async () => {
    const { seen, fetch } = recorder();
    const run = await tollgate(['--idempotency-key', '0123456789abcdef0123456789', 'smoke', '--url', BASE], { env, fetch });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^tollgate: --idempotency-key finishes one earlier change; smoke makes several/);
    expect(seen).toEqual([]);
  });
});
