/**
 * Which Tollgate the CLI talks to, and how it proves it is an operator there:
 * - local (default): `--url`, else `TOLLGATE_URL`, else the URL `npm start` wrote to
 *   `.local/state.json`, else the local default; admin token from `TOLLGATE_ADMIN_TOKEN`,
 *   else from the state file when it describes that same server;
 * - deployed (`--stack NAME`): the API URL from the stack's outputs (CloudFormation
 *   DescribeStacks), admin calls signed with SigV4 using the standard credential chain.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { type CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { StackOutput } from '../common/stack-outputs';
import { DEFAULT_LOCAL_PORT, LocalEnv, localStateDir, localStatePaths } from '../local/state';
import { bearerAuth, sigV4Auth, type AuthStrategy, type CredentialsProvider } from '../client/admin-auth';
import { NetworkError, ServerError } from '../client/api-errors';
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

interface LocalStateFile {
  readonly url?: string;
  readonly adminToken?: string;
}

function localTarget(urlOption: string | undefined, deps: TargetDeps): Target {
  const stateDir = localStateDir(deps.env);
  const statePath = localStatePaths(isAbsolute(stateDir) ? stateDir : join(deps.cwd, stateDir)).stateFile;
  const state = readLocalState(statePath);
  const baseUrl = httpUrl(urlOption ?? nonEmpty(deps.env[TargetEnv.url]) ?? state?.url ?? DEFAULT_LOCAL_URL, urlOption ? '--url' : TargetEnv.url);
  // The state file's token belongs to the server that wrote it: never send it anywhere else.
  const stateToken = state?.url !== undefined && sameOrigin(state.url, baseUrl) ? state.adminToken : undefined;
  const adminToken = nonEmpty(deps.env[TargetEnv.adminToken]) ?? stateToken;
  return {
    baseUrl,
    unreachableHint: isLoopback(baseUrl) ? 'is `npm start` running?' : 'check the URL and your network',
    adminAuth() {
      if (adminToken === undefined) {
        throw new MissingAdminToken(`no admin token for ${baseUrl}: set ${TargetEnv.adminToken}, or run this where \`npm start\` wrote ${statePath}`);
      }
      return bearerAuth(adminToken);
    },
  };
}

function readLocalState(path: string): LocalStateFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    const { url, adminToken } = parsed as Record<string, unknown>;
    return { ...(typeof url === 'string' ? { url } : {}), ...(typeof adminToken === 'string' ? { adminToken } : {}) };
  } catch {
    throw new UsageError(`${path} is not valid JSON; stop and restart \`npm start\`, or delete it`);
  }
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

function httpUrl(value: string, origin: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${origin} is not an absolute URL: ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${origin} must be an http(s) URL: ${value}`);
  return value;
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

function isLoopback(url: string): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
