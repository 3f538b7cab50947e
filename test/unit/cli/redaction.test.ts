/**
 * No key in what the CLI prints, wherever it came from: pasted into any argument or option
 * (plain, base64-encoded, glued to other characters), echoed by a server in a refusal (the
 * `--revoke` failure line, a reply's text cut to 200 characters), while what an operator needs
 * to act on (an Idempotency-Key of their own) stays whole.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { startHttpStub, type HttpStub } from '../../support/http-stub';
import { emptyDir, tollgate } from './harness';

const stubs: HttpStub[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((stub) => stub.close()));
});

async function stub(answer: Parameters<typeof startHttpStub>[0]): Promise<HttpStub> {
  const started = await startHttpStub(answer);
  stubs.push(started);
  return started;
}

/** The first 16 characters of the key's body, or of the inside of its base64 spellings, that `out` holds. */
function leaked(out: string, key: string): string | undefined {
  const body = key.slice(key.indexOf('_') + 1);
  const encodings = [Buffer.from(key).toString('base64'), Buffer.from(key).toString('base64url')].map((encoded) => encoded.replace(/=+$/, '').slice(2, -2));
  for (const secret of [body, ...encodings])
    for (let at = 0; at + 16 <= secret.length; at += 1) if (out.includes(secret.slice(at, at + 16))) return secret.slice(at, at + 16);
  return undefined;
}

describe('what the CLI prints holds no key', () => {
  it('a key pasted into any argument or option, in any spelling, is never echoed', async () => {
    // A server that refuses everything: each command gets as far as it can, and answers at once.
    const { url } = await stub(() => ({ status: 404, body: { error: 'not_found', error_description: 'No such thing.' } }));
    const key = generateApiKey(undefined, 'abcdefghij_').apiKey;
    const spellings = [key, Buffer.from(key).toString('base64'), Buffer.from(`cli:${key}`).toString('base64'), `x${key}y`, `--${key}`, `=${key}`];
    const argvs = (k: string) => [
      [k],
      ['keys', k],
      ['keys', 'show', k],
      ['keys', 'revoke', k],
      ['tokens', 'revoke', k],
      ['clients', k],
      ['limits', 'show', k],
      ['usage', 'a', '--period', k],
      ['scan', '--prefix', k],
      ['scan', join('nope', k)],
      ['--idempotency-key', k, 'clients', 'revoke', 'a'],
      ['scanner-rules', '--format', k],
      ['keys', 'create', 'a', `--${k}`],
      ['--json', 'keys', 'show', k],
      ['help', k],
      ['leak-response', 'a', k],
    ];
    const echoed: string[] = [];
    for (const spelling of spellings)
      for (const argv of argvs(spelling)) {
        const run = await tollgate(['--url', url, ...argv], { env: { TOLLGATE_ADMIN_TOKEN: 'tga_x' } });
        if (leaked(run.stdout + run.stderr, key)) echoed.push(`${JSON.stringify(argv.map((arg) => (arg === spelling ? '<key>' : arg)))}: ${run.stderr.trim()}`);
      }
    expect(echoed).toEqual([]);
  }, 60_000);

  it('scan --revoke: a refusal that echoes the submitted keys is printed redacted', async () => {
    const server = await stub((request) => ({ status: 403, body: `<html>Forbidden: ${request.body}</html>` }));
    const key = generateApiKey().apiKey;
    const cwd = emptyDir();
    writeFileSync(join(cwd, 'a.env'), `KEY=${key}\n`);
    const run = await tollgate(['--url', server.url, 'scan', '--revoke', 'a.env'], { cwd });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tollgate: --revoke: http_403: <html>Forbidden: \{"credentials":\["tg_<redacted>"/m);
    expect(leaked(run.stdout + run.stderr, key)).toBeUndefined();
  });

  it('a reply text cut to 200 characters inside an echoed key drops what is left of it', async () => {
    const key = generateApiKey().apiKey;
    const server = await stub(() => ({ status: 400, body: `${'x'.repeat(170)} ${key}` }));
    const run = await tollgate(['--url', server.url, 'token', '--api-key-env', 'K'], { env: { K: key } });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`${'x'.repeat(170)} …`);
    expect(leaked(run.stderr, key)).toBeUndefined();
  });

  it("keeps an Idempotency-Key of the operator's own whole in the hint to run a change again", async () => {
    const idempotencyKey = `deploy_${'0123456789abcdef'.repeat(4)}`;
    const server = await stub(() => ({ status: 500, body: { error: 'server_error', error_description: 'boom' } }));
    const run = await tollgate(['--url', server.url, '--idempotency-key', idempotencyKey, 'clients', 'revoke', 'a'], {
      env: { TOLLGATE_ADMIN_TOKEN: 'tga_x' },
    });
    expect(run.stderr).toContain(`--idempotency-key ${idempotencyKey} `);
  });

  it('refuses an API key given as the Idempotency-Key (it would be sent, and printed in the hint), sending nothing', async () => {
    const server = await stub(() => ({ status: 200, body: {} }));
    const key = generateApiKey().apiKey;
    for (const spelling of [key, `x${key}y`, Buffer.from(`k:${key}`).toString('base64')]) {
      const run = await tollgate(['--url', server.url, '--idempotency-key', spelling, 'clients', 'revoke', 'a'], { env: { TOLLGATE_ADMIN_TOKEN: 'tga_x' } });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/is an API key, not an Idempotency-Key; nothing was sent\.\n$/);
      expect(leaked(run.stderr, key)).toBeUndefined();
    }
    expect(server.requests).toEqual([]);
  });

  it('refuses a key in any spelling as an argument that would go in a URL path, sending nothing', async () => {
    const server = await stub(() => ({ status: 200, body: {} }));
    const key = generateApiKey().apiKey;
    const spellings = [
      [key, 'an API key'],
      [`x${key}y`, 'an API key'],
      [Buffer.from(`k:${key}`).toString('base64'), 'a base64-encoded API key'],
    ] as const;
    for (const [spelling, what] of spellings) {
      const run = await tollgate(['--url', server.url, 'keys', 'show', spelling], { env: { TOLLGATE_ADMIN_TOKEN: 'tga_x' } });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`that argument is ${what}, which is a secret and never goes in a URL; nothing was sent.`);
    }
    expect(server.requests).toEqual([]);
  });
});
