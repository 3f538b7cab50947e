/**
 * Which Tollgate the CLI talks to, and how it proves it is an operator there:
 * - local (default): `--url`, else `TOLLGATE_URL`, else the URL `npm start` wrote to
 *   `.local/state.json`, else the local default; admin token from `TOLLGATE_ADMIN_TOKEN`,
 *   else from the state file when it describes that same server. Any cloned repository can
 *   plant a state file, so one is trusted only when it names a loopback URL and (POSIX) is
 *   owned by the current user and writable by no one else: the secrets the CLI sends
 *   (`TOLLGATE_ADMIN_TOKEN`, an API key, found keys) never go to a host a file chose;
 * - deployed (`--stack NAME`): the API URL from the stack's outputs (CloudFormation
 *   DescribeStacks), admin calls signed with SigV4 using the standard credential chain.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { type CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { StackOutput } from '../common/stack-outputs';
import { DEFAULT_LOCAL_PORT, LocalEnv, localStateDir, localStatePaths } from '../local/state';
import { bearerAuth, sigV4Auth, type AuthStrategy, type CredentialsProvider } from '../client/admin-auth';
import { NetworkError, ServerError } from '../client/api-errors';
import { isLoopbackHost } from '../client/client-options';
import { MissingAdminToken, UsageError } from './errors';

export const DEFAULT_LOCAL_URL = `http://127.0.0.1:${DEFAULT_LOCAL_PORT}`;

export const TargetEnv = {
  url: 'TOLLGATE_URL',
  /** The same variable `npm start` takes its admin token from. */
  adminToken: LocalEnv.adminToken,
} as const;

export interface TargetOptions {
  readonly url?: string;
  readonly stack?: string;
  readonly region?: string;
}

export interface TargetDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** A CloudFormation client for `region` (undefined: the SDK's own region resolution). */
  readonly cloudFormation: (region: string | undefined) => CloudFormationClient;
  /** Credentials that sign admin calls to a deployed stack. */
  readonly credentials: () => CredentialsProvider;
}

export interface Target {
  /** Base URL of the API, stage path included. */
  readonly baseUrl: string;
  /** Shown when the server cannot be reached. */
  readonly unreachableHint?: string;
  /** How admin calls authenticate; throws a `UsageError` saying what is missing (`MissingAdminToken` for the admin token). */
  adminAuth(): AuthStrategy;
}

export async function resolveTarget(options: TargetOptions, deps: TargetDeps): Promise<Target> {
  if (options.stack !== undefined && options.url !== undefined) throw new UsageError('use either --url or --stack, not both');
  return options.stack === undefined ? localTarget(options.url, deps) : stackTarget(options.stack, options.region, deps);
}

function localTarget(urlOption: string | undefined, deps: TargetDeps): Target {
  const stateDir = localStateDir(deps.env);
  const statePath = localStatePaths(isAbsolute(stateDir) ? stateDir : join(deps.cwd, stateDir)).stateFile;
  const state = readLocalState(statePath);
  const explicit = urlOption ?? nonEmpty(deps.env[TargetEnv.url]);
  // With an explicit URL the state file decides nothing (it can only offer its token): it is refused only when it would choose the server.
  const stateUrl = state?.url === undefined ? undefined : explicit === undefined ? trustedStateUrl(state, statePath) : trustedOrNot(state, statePath);
  const baseUrl = explicit === undefined ? (stateUrl ?? DEFAULT_LOCAL_URL) : httpUrl(explicit, urlOption ? '--url' : TargetEnv.url);
  // The state file's token belongs to the server that wrote it: never send it anywhere else.
  const stateToken = stateUrl !== undefined && sameOrigin(stateUrl, baseUrl) ? state?.adminToken : undefined;
  const adminToken = nonEmpty(deps.env[TargetEnv.adminToken]) ?? stateToken;
  return {
    baseUrl,
    unreachableHint: isLoopbackHost(new URL(baseUrl).hostname) ? 'is `npm start` running?' : 'check the URL and your network',
    adminAuth() {
      if (adminToken === undefined) {
        throw new MissingAdminToken(`no admin token for ${baseUrl}: set ${TargetEnv.adminToken}, or run this where \`npm start\` wrote ${statePath}`);
      }
      return bearerAuth(adminToken);
    },
  };
}

interface LocalStateFile {
  readonly url?: string;
  readonly adminToken?: string;
  /** Why the file may not decide anything (its owner or mode), or undefined when it may. */
  readonly untrustedBecause?: string;
}

/** The state file's URL, when it may decide where the CLI sends secrets: an http(s) URL of this machine. */
function trustedStateUrl(state: LocalStateFile, path: string): string {
  if (state.untrustedBecause !== undefined)
    throw new UsageError(
      `${path} ${state.untrustedBecause}, so someone else may have chosen where it sends your secrets: delete it, or pass --url or --stack to choose the server`,
    );
  const url = state.url!;
  if (URL.canParse(url) && !isLoopbackHost(new URL(url).hostname))
    throw new UsageError(
      `${path} names ${new URL(url).origin}, which is not this machine; \`npm start\` only ever writes a loopback URL there, so the file was put there by someone else: delete it, or pass --url or --stack to choose the server`,
    );
  return httpUrl(url, `the url in ${path}`);
}

function trustedOrNot(state: LocalStateFile, path: string): string | undefined {
  try {
    return trustedStateUrl(state, path);
  } catch {
    return undefined;
  }
}

/**
 * Why a state file may not be believed (POSIX): anyone but its reader could have written it.
 * Undefined when it may, and always on Windows, whose permissions `mode` does not describe.
 */
export function stateFileDistrust(stat: Pick<Stats, 'uid' | 'mode'>, uid: number | undefined): string | undefined {
  if (uid === undefined) return undefined;
  if (stat.uid !== uid) return `is owned by another user (uid ${stat.uid})`;
  if ((stat.mode & 0o022) !== 0)
    return `is writable by ${(stat.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')})`;
  return undefined;
}

function readLocalState(path: string): LocalStateFile | undefined {
  let text: string;
  let stat: Stats;
  try {
    text = readFileSync(path, 'utf8');
    stat = statSync(path);
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
  } catch {
    throw new UsageError(`${path} is not valid JSON; stop and restart \`npm start\`, or delete it`);
  }
  const { url, adminToken } = parsed as Record<string, unknown>;
  const untrustedBecause = stateFileDistrust(stat, process.platform === 'win32' ? undefined : process.getuid?.());
  return {
    ...(typeof url === 'string' ? { url } : {}),
    ...(typeof adminToken === 'string' ? { adminToken } : {}),
    ...(untrustedBecause === undefined ? {} : { untrustedBecause }),
  };
}

async function stackTarget(stackName: string, region: string | undefined, deps: TargetDeps): Promise<Target> {
  const client = deps.cloudFormation(region);
  const stack = await describeStack(client, stackName, region);
  const outputs = new Map((stack.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  const apiUrl = outputs.get(StackOutput.apiUrl);
  if (!apiUrl)
    throw new UsageError(
      `stack ${stackName} has no ${StackOutput.apiUrl} output; is it a Tollgate stack? (A Tollgate construct built with outputs: false adds no outputs, and --stack cannot operate it.)`,
    );
  // The API's region (a stack output) is what SigV4 must name; the client's region is the fallback.
  const signingRegion = outputs.get(StackOutput.region) || region || (await client.config.region());
  const auth = sigV4Auth({ region: signingRegion, credentials: deps.credentials() });
  return { baseUrl: httpUrl(apiUrl, `output ${StackOutput.apiUrl} of ${stackName}`), adminAuth: () => auth };
}

async function describeStack(client: CloudFormationClient, stackName: string, region: string | undefined): Promise<Stack> {
  let stacks: Stack[] | undefined;
  try {
    ({ Stacks: stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName })));
  } catch (error) {
    throw describeStackError(error as Error & { $metadata?: { httpStatusCode?: number } }, stackName, region);
  }
  const stack = stacks?.[0];
  if (!stack) throw new UsageError(`stack ${stackName} not found`);
  return stack;
}

function describeStackError(error: Error & { $metadata?: { httpStatusCode?: number } }, stackName: string, region: string | undefined): Error {
  const where = region ? ` in ${region}` : '';
  // CloudFormation answers a missing stack with ValidationError "Stack with id … does not exist".
  if (error.name === 'ValidationError') return new UsageError(`stack ${stackName}${where}: ${error.message}`);
  if (/region is missing/i.test(error.message)) return new UsageError('no AWS region: pass --region or set AWS_REGION');
  if (error.name === 'CredentialsProviderError') return new UsageError(`no AWS credentials: ${error.message}`);
  const status = error.$metadata?.httpStatusCode;
  if (status !== undefined) return new ServerError(status, error.name, `CloudFormation DescribeStacks: ${error.message}`);
  return new NetworkError(`cannot reach CloudFormation${where} (${error.message})`);
}

/**
 * The base URL of a target, as `origin` named it: absolute, http(s), with no user name or
 * password in it (the admin token and API keys go in headers), and https unless it is on
 * this machine (local mode), as the client library requires: over plain http to another
 * host, the admin token, an API key or a key `scan --revoke` found would cross the network
 * in clear (RFC 6749 §3.2). A refused value is echoed without anything before an `@`.
 */
function httpUrl(value: string, origin: string): string {
  // Anything up to the last @ may be a password, even one a parser would split at its `/`.
  const shown = value.replace(/\/\/.*@/, '//…@');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${origin} is not an absolute URL: ${shown}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${origin} must be an http(s) URL: ${shown}`);
  if (url.username !== '' || url.password !== '') throw new UsageError(`${origin} must not hold a user name or password (credentials go in headers): ${shown}`);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new UsageError(`${origin} must use https: plain http is allowed only on a loopback host (127.0.0.0/8, ::1, localhost): ${shown}`);
  }
  return value;
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** Whether `url`'s host is this machine: 127.0.0.0/8, ::1 or localhost (the URL parser has normalised the host). */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
