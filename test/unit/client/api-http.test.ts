/**
 * `ApiHttp` (the admin API client under the CLI): an answer lost while its body is read is a
 * lost connection like one lost before the headers, so a mutation is sent again with its
 * Idempotency-Key and a read fails as `NetworkError` (exit 3 in the CLI), never as an
 * unexpected error.
 */
import { describe, expect, it } from 'vitest';
import { ApiHttp, apiPath, type FetchLike } from '../../../client/api-http';
import { InvalidPathSegment, NetworkError } from '../../../client/api-errors';

/** A 200 whose body breaks off after a few bytes, as a reset connection or a body-read timeout does. */
function brokenAnswer(): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"key":'));
      controller.error(new TypeError('terminated'));
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'application/json' } });
}

function scripted(...answers: (() => Response)[]): { fetch: FetchLike; keys: (string | null)[] } {
  const keys: (string | null)[] = [];
  const fetch: FetchLike = async (_url, init) => {
    keys.push(new Headers(init?.headers).get('Idempotency-Key'));
    const next = answers.shift();
    if (!next) throw new Error('no more answers scripted');
    return next();
  };
  return { fetch, keys };
}

describe('ApiHttp: an answer lost while its body is read', () => {
  it('sends a mutation again with the same Idempotency-Key', async () => {
    const server = scripted(brokenAnswer, () => Response.json({ revoked: true }));
    const http = new ApiHttp({ baseUrl: 'http://127.0.0.1:8787/', fetch: server.fetch });
    const answer = await http.send({ method: 'POST', path: 'admin/keys/key_1/roll', json: {}, idempotent: true });
    expect(answer).toEqual({ status: 200, body: { revoked: true } });
    expect(server.keys).toHaveLength(2);
    expect(server.keys[1]).toBe(server.keys[0]);
  });

  it('fails a read as NetworkError naming the server', async () => {
    const server = scripted(brokenAnswer);
    const http = new ApiHttp({ baseUrl: 'http://127.0.0.1:8787/', fetch: server.fetch });
    const failure = http.send({ method: 'GET', path: 'admin/clients/acme/keys' });
    await expect(failure).rejects.toBeInstanceOf(NetworkError);
    await expect(failure).rejects.toThrow(/127\.0\.0\.1:8787/);
  });
});

describe('apiPath', () => {
  it('encodes each value as one segment', () => {
    expect(apiPath`admin/keys/${'a/b?c'}/roll`).toBe('admin/keys/a%2Fb%3Fc/roll');
    expect(apiPath`admin/clients/${'%2e%2e'}`).toBe('admin/clients/%252e%252e');
  });

  it.each(['', '.', '..'])('refuses %j, which URL resolution would drop or climb out of', (value) => {
    expect(() => apiPath`admin/keys/${value}`).toThrow(InvalidPathSegment);
  });
});
