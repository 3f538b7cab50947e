/**
 * `npx tollgate smoke`: a post-deploy check of a running Tollgate, end to end, as a client
 * and an operator would use it. It creates a throw-away client and API key, exchanges the
 * key, calls an upstream route, checks what the upstream received (when it echoes the
 * request), revokes the token and measures how long until it is refused, checks the JWKS
 * and the signing-key ring, then revokes the client — also when a step failed. Prints one
 * table row per step; any failure makes the exit status non-zero.
 *
 * Everything it creates is named `smoke-<random>` and described as a smoke test, so a run
 * killed before its cleanup leaves something an operator can find and revoke.
 */
import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { ApiPath, RESERVED_HEADER_PREFIX, UpstreamHeader } from '../common/gateway-contract';
import { buildTokenRequest, parseTokenResponse } from '../client/index';
import type { AdminApi } from '../client/admin-api';
import type { ApiHttp, FetchLike } from '../client/api-http';
import { scopeList } from './arguments';
import { resourceIndicator } from './commands/tokens';
import { CliError, ExitCode, UsageError } from './errors';
import { action, type CliDeps } from './context';

export type StepStatus = 'pass' | 'fail' | 'skip';

export interface StepResult {
  readonly step: string;
  readonly status: StepStatus;
  readonly detail: string;
  /** Time the step took. */
  readonly ms: number;
}

export interface SmokeOptions {
  /** The upstream route to call (GET), below the API's base URL. */
  readonly path: string;
  /** Scopes of the throw-away key: what `path` needs. */
  readonly scopes: readonly string[];
  /** How long a revoked token may still be accepted before the step fails. */
  readonly revocationTimeoutSeconds: number;
  /** The service the tokens are for (RFC 8707 `resource`); needed when the deployment has several. */
  readonly resource?: string;
}

export interface SmokePorts {
  readonly admin: AdminApi;
  /** The API without credentials: the token endpoint and the JWKS. */
  readonly http: ApiHttp;
  readonly fetch: FetchLike;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** The random part of the throw-away client's id. */
  readonly randomId?: () => string;
}

export const SMOKE_DEFAULTS = {
  path: '/orders/smoke-test',
  scopes: ['orders:read'],
  /**
   * In AWS a revocation reaches every authorizer within a few seconds and then flushes the
   * stage's authorizer cache (docs/revocation.md); a minute and a half leaves room for a
   * cold fan-out and a slow flush without waiting forever on a broken one.
   */
  revocationTimeoutSeconds: 90,
} as const;

/** How often a revoked token is retried while waiting for its refusal. */
const REVOCATION_POLL_MS = 250;
/** What the forged headers carry: a value no real header of Tollgate's holds. */
const FORGED = 'smoke-forged';

class StepFailed extends Error {}
class StepSkipped extends Error {}

/** What a passed step says, and what later steps get from it. */
interface Passed<T> {
  readonly detail: string;
  readonly value: T;
}

const passed = (detail: string): Passed<true> => ({ detail, value: true });

/** Runs every step in order; never throws (a step's failure is its row). */
export async function runSmoke(ports: SmokePorts, options: SmokeOptions): Promise<StepResult[]> {
  const results: StepResult[] = [];
  /** Runs `run` unless a step it `needs` did not pass (undefined); resolves to its value, undefined unless it passed. */
  const step = async <T>(name: string, needs: readonly unknown[], run: () => Promise<Passed<T>>): Promise<T | undefined> => {
    const started = ports.now();
    const record = (status: StepStatus, detail: string) => results.push({ step: name, status, detail, ms: Math.round(ports.now() - started) });
    if (needs.some((need) => need === undefined)) {
      record('skip', 'not run: an earlier step it needs failed');
      return undefined;
    }
    try {
      const { detail, value } = await run();
      record('pass', detail);
      return value;
    } catch (error) {
      record(error instanceof StepSkipped ? 'skip' : 'fail', oneLine(error));
      return undefined;
    }
  };

  const clientId = `smoke-${ports.randomId?.() ?? randomBytes(6).toString('hex')}`;
  let created = false;
  try {
    const key = await step('create client and key', [], async () => {
      const issued = await ports.admin.createKey(clientId, {
        scopes: options.scopes,
        // The key outlives the run only if the cleanup never ran; then it expires by itself.
        expiresInDays: 1,
        description: 'tollgate smoke test: throw-away, revoked at the end of the run',
      });
      created = true;
      return { detail: `client ${clientId}, key ${issued.key.keyId}, scopes ${options.scopes.join(' ')}`, value: issued };
    });

    const tokens = await step('exchange the key for tokens', [key], async () => {
      // Two tokens: one for the calls and the revocation, one never used before the forged-header probe.
      const first = await exchange(ports.http, key!.apiKey, options.resource);
      const second = await exchange(ports.http, key!.apiKey, options.resource);
      return { detail: `token ${first.jti} (kid ${first.kid}), expires in ${first.expiresIn} s`, value: { first, second } };
    });

    const call = await step(`GET ${options.path} through the gateway`, [tokens], async () => {
      const answer = await upstreamCall(ports, options.path, tokens!.first.token);
      if (answer.status < 200 || answer.status > 299)
        throw new StepFailed(`HTTP ${answer.status} (expected 2xx from the upstream): ${answer.text.slice(0, 120)}`);
      return { detail: `HTTP ${answer.status}${answer.echoed ? ' from an upstream that echoes the request' : ''}`, value: answer };
    });

    await step('bearer token kept from the upstream', [call], async () => {
      if (!call!.echoed) throw new StepSkipped('skipped: the upstream does not echo the request headers it received');
      const headers = call!.echoed;
      if (Object.values(headers).some((value) => value.includes(tokens!.first.token))) throw new StepFailed('the upstream received the bearer token');
      const seen = headers[UpstreamHeader.clientId.toLowerCase()];
      if (seen !== clientId) throw new StepFailed(`the upstream received ${UpstreamHeader.clientId}: ${JSON.stringify(seen ?? null)}, expected ${clientId}`);
      return passed(`no token; ${UpstreamHeader.clientId}: ${clientId}`);
    });

    await step('client X-Tollgate-* headers kept from the upstream', [tokens, call], async () => {
      const forged = { [UpstreamHeader.clientId]: FORGED, [UpstreamHeader.scopes.toLowerCase()]: FORGED, 'X-Tollgate-Smoke-Probe': FORGED };
      const answer = await upstreamCall(ports, options.path, tokens!.second.token, forged);
      // A fresh authorizer decision refuses the request outright (lambda/core/authorizer/reserved-headers.ts).
      if (answer.status === 401) return passed('refused by the authorizer (401)');
      if (answer.status < 200 || answer.status > 299) throw new StepFailed(`HTTP ${answer.status}, expected 401 (refused) or 2xx (headers dropped)`);
      if (!answer.echoed) throw new StepSkipped('skipped: the upstream does not echo the request headers it received');
      const leaked = Object.entries(answer.echoed).filter(([name, value]) => name.startsWith(RESERVED_HEADER_PREFIX) && value.includes(FORGED));
      if (leaked.length > 0) throw new StepFailed(`the upstream received client values in ${leaked.map(([name]) => name).join(', ')}`);
      return passed(`HTTP ${answer.status}; the upstream saw none of the client's values`);
    });

    await step('revoked token refused', [tokens, call], async () => {
      await ports.admin.revokeToken(tokens!.first.jti);
      const revokedAt = ports.now();
      const deadline = revokedAt + options.revocationTimeoutSeconds * 1000;
      for (;;) {
        const answer = await upstreamCall(ports, options.path, tokens!.first.token);
        if (answer.status === 401) return passed(`refused ${Math.round(ports.now() - revokedAt)} ms after the revocation`);
        if (ports.now() > deadline) throw new StepFailed(`still answered HTTP ${answer.status} ${options.revocationTimeoutSeconds} s after the revocation`);
        await ports.sleep(REVOCATION_POLL_MS);
      }
    });

    const jwks = await step(`GET ${ApiPath.jwks}`, [], async () => {
      const { body } = await ports.http.send({ method: 'GET', path: ApiPath.jwks });
      const keys = (body as { keys?: unknown } | undefined)?.keys;
      if (!Array.isArray(keys) || keys.length === 0) throw new StepFailed('no keys in the JWK Set');
      const kids = keys.map((k) => (k as { kid?: unknown }).kid).filter((kid): kid is string => typeof kid === 'string');
      if (tokens && !kids.includes(tokens.first.kid)) throw new StepFailed(`the token's kid ${tokens.first.kid} is not published (${kids.join(', ')})`);
      return { detail: `${keys.length} key(s): ${kids.join(', ')}`, value: kids };
    });

    await step('signing-key rotation status', [], async () => {
      const ring = await ports.admin.signingKeys();
      const active = ring.keys.filter((k) => k.state === 'active');
      if (active.length !== 1) throw new StepFailed(`${active.length} active signing keys, expected exactly 1`);
      const kid = active[0]!.kid;
      if (jwks && !jwks.includes(kid)) throw new StepFailed(`the active key ${kid} is not in the JWK Set`);
      const states = ring.keys.map((k) => `${k.kid} ${k.state}`).join(', ');
      return passed(`active ${kid}; ring: ${states}`);
    });
  } finally {
    await step('clean up', [], async () => {
      if (!created) throw new StepSkipped('nothing was created');
      await ports.admin.revokeClient(clientId);
      const { keys } = await ports.admin.listAllKeys(clientId);
      const live = keys.filter((k) => k.status !== 'revoked');
      if (live.length > 0) throw new StepFailed(`keys still not revoked: ${live.map((k) => k.keyId).join(', ')}`);
      return passed(`revoked client ${clientId}: its key and every token`);
    });
  }
  return results;
}

interface Exchanged {
  readonly token: string;
  readonly jti: string;
  readonly kid: string;
  readonly expiresIn: number;
}

async function exchange(http: ApiHttp, apiKey: string, resource: string | undefined): Promise<Exchanged> {
  const request = buildTokenRequest({ apiKey }, undefined, resource);
  const { body } = await http.send({ method: 'POST', path: ApiPath.token, raw: request });
  const grant = parseTokenResponse(body);
  const [header, payload] = grant.accessToken.split('.').map(jwtPart);
  const jti = payload?.jti;
  const kid = header?.kid;
  if (typeof jti !== 'string' || typeof kid !== 'string') throw new StepFailed('the access token has no jti or kid');
  return { token: grant.accessToken, jti, kid, expiresIn: grant.expiresInSeconds };
}

/** A JWT part as JSON; our own token, so read, not verified (the gateway verifies it). */
function jwtPart(part: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

interface UpstreamAnswer {
  readonly status: number;
  readonly text: string;
  /** The request headers the upstream says it received (lower-case names), when it echoes them. */
  readonly echoed?: Readonly<Record<string, string>>;
}

/**
 * The URL of `path` below the API's base URL, refused (a usage error) unless it stays there:
 * the same origin, under the base's path (its stage). `ApiHttp.url` resolves a path as a
 * relative reference, so `//host/x` would leave the origin — with the smoke token — and `/../x`
 * or `%2e%2e` the stage.
 */
export function upstreamUrl(http: ApiHttp, path: string): URL {
  const base = new URL(http.baseUrl);
  const url = http.url({ path });
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname) || url.search !== '' || url.hash !== '')
    throw new UsageError(
      `--path ${path} resolves to ${url.origin}${url.pathname}, outside ${http.baseUrl}; give a path below the API's base URL, e.g. /orders/42`,
    );
  return url;
}

async function upstreamCall(ports: SmokePorts, path: string, token: string, extra: Record<string, string> = {}): Promise<UpstreamAnswer> {
  const url = upstreamUrl(ports.http, path);
  const response = await ports.fetch(url, {
    method: 'GET',
    headers: { ...extra, Authorization: `Bearer ${token}` },
    redirect: 'manual',
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  return { status: response.status, text, ...echoedHeaders(text) };
}

/**
 * An echo upstream (local mode's, httpbin's `/anything`, most debugging services) answers a
 * JSON object with the request's `headers`; anything else is not an echo.
 */
function echoedHeaders(text: string): { echoed?: Record<string, string> } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {};
  }
  const headers = (body as { headers?: unknown } | null)?.headers;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return {};
  const echoed: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) echoed[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  return { echoed };
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
}

const STATUS_LABEL: Record<StepStatus, string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };

export function smokeTable(results: readonly StepResult[]): string {
  const rows = results.map((r) => [STATUS_LABEL[r.status], r.step, `${r.ms} ms`, r.detail]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length), ['RESULT', 'STEP', 'TIME'][i]!.length));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd();
  const failed = results.filter((r) => r.status === 'fail').length;
  const summary = failed === 0 ? 'Smoke test passed.' : `Smoke test FAILED: ${failed} of ${results.length} steps failed.`;
  return [line(['RESULT', 'STEP', 'TIME', 'DETAIL']), ...rows.map(line), '', summary].join('\n');
}

export class SmokeFailed extends CliError {
  readonly exitCode = ExitCode.refused;
}

function positiveSeconds(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) === 0) throw new InvalidArgumentError('must be a whole number of seconds, at least 1.');
  return Number(value);
}

function upstreamPath(value: string): string {
  if (!value.startsWith('/') || /[\s?#]/.test(value))
    throw new InvalidArgumentError('must be a path starting with "/", without query or spaces, e.g. /orders/42.');
  // A URL parser reads `//host/…` and `/\host/…` as another host, and `\` as `/`.
  if (value.startsWith('//') || value.includes('\\'))
    throw new InvalidArgumentError('must be one "/" then a path below the API, without "//" at its start or any "\\", e.g. /orders/42.');
  return value;
}

/** The `smoke` command. */
export function smokeCommand(deps: CliDeps): Command {
  return new Command('smoke')
    .description('check a running Tollgate end to end with a throw-away client (everything it creates is revoked at the end)')
    .option('--path <path>', `upstream route to GET (default ${SMOKE_DEFAULTS.path})`, upstreamPath)
    .option('--scopes <list>', `scopes the throw-away key gets: what --path needs (default ${SMOKE_DEFAULTS.scopes.join(',')})`, scopeList)
    .option('--resource <url>', 'the service --path belongs to (RFC 8707): its URL or audience; required with several services', resourceIndicator)
    .option(
      '--revocation-timeout <seconds>',
      `fail when a revoked token is still accepted after this long (default ${SMOKE_DEFAULTS.revocationTimeoutSeconds})`,
      positiveSeconds,
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  npx tollgate smoke                        # local mode (`npm start`)',
        '  npx tollgate smoke --stack Tollgate       # a deployed stack: admin calls signed with SigV4',
        '  npx tollgate smoke --url https://api.example.com/v1/ --path /orders/42',
      ].join('\n'),
    )
    .action(
      action(deps, async (ctx, opts: CommandOptions) => {
        // One key finishes one change; smoke makes several, and each after the first would be refused as the key's reuse.
        if (ctx.idempotencyKey !== undefined) {
          throw new UsageError('--idempotency-key finishes one earlier change; smoke makes several (a client, a key, revocations): run it without');
        }
        const target = await ctx.connect();
        const path = opts.path ?? SMOKE_DEFAULTS.path;
        // Before anything is created: a path that leaves the API would carry the smoke token with it.
        upstreamUrl(ctx.http(target), path);
        const results = await runSmoke(
          {
            admin: await ctx.admin(),
            http: ctx.http(target),
            fetch: ctx.deps.fetch,
            now: () => performance.now(),
            sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          },
          {
            path,
            scopes: opts.scopes ?? SMOKE_DEFAULTS.scopes,
            revocationTimeoutSeconds: opts.revocationTimeout ?? SMOKE_DEFAULTS.revocationTimeoutSeconds,
            ...(opts.resource === undefined ? {} : { resource: opts.resource }),
          },
        );
        ctx.print(results, () => smokeTable(results));
        const failed = results.filter((r) => r.status === 'fail');
        if (failed.length > 0) throw new SmokeFailed(`smoke test failed: ${failed.map((r) => r.step).join('; ')}`);
      }),
    );
}

interface CommandOptions {
  readonly path?: string;
  readonly scopes?: string[];
  readonly revocationTimeout?: number;
  readonly resource?: string;
}
