/**
 * The one test that synthesizes the app as `cdk synth` does: the real `bin/tollgate.ts`
 * with the context of `cdk.json` (which the CLI hands over in CDK_CONTEXT_JSON), bundling
 * every handler with the local esbuild, offline.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointEnv, Env } from '../../common/names';
import { Functions, type FunctionName } from '../../common/functions';
import { Tables } from '../../common/tables';
import { generateApiKey } from '../../lambda/core/credentials/api-keys';
import { PROJECT_ROOT } from '../../lib/function';
import { basicAuth, formPost } from '../support/api-events';
import { referenceCycle } from './app';

// Outside the repository: no node_modules above a bundle, as in Lambda, where nothing but
// the bundle is Tollgate's (the runtime's own SDK is not used: lib/bundling.ts).
const NO_NETWORK = path.join(PROJECT_ROOT, 'test', 'support', 'no-network.mjs');
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-synth-'));
const cdkJson = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

function synth(context: Record<string, unknown>, dir: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bin', 'tollgate.ts')], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    // spawnSync blocks the worker: without its own bound a hung synth would outlive every test timeout.
    timeout: 240_000,
    env: {
      ...process.env,
      CDK_OUTDIR: dir,
      CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJson.context, ...context }),
      CDK_DISABLE_VERSION_CHECK: '1',
      // No account, no region, no credentials: the synth must not need them.
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_PROFILE: '',
    },
  });
}

/** Stand-ins for the values CloudFormation fills in at deploy time (references to other resources). */
function deployTimeValue(variable: string): string {
  if (Object.values(Tables).some((t) => t.envVar === variable)) return 'tollgate-table';
  const values: Record<string, string> = {
    [Env.issuer]: 'https://abc123.execute-api.eu-west-1.amazonaws.com/v1',
    [Env.flushStages]: 'abc123/v1',
    [Env.rotationFunction]: 'tollgate-rotation',
    [Env.restApiId]: 'abc123',
    [Env.upstreamCertificateId]: 'x1y2z3',
    [Env.nextUpstreamCertificateId]: 'x4y5z6',
  };
  const value = values[variable];
  if (value === undefined) throw new Error(`no deploy-time stand-in for ${variable}: add one`);
  return value;
}

/** Credentials and endpoints that go nowhere: a bundle's start must not need AWS. */
const UNREACHABLE_AWS = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  ...Object.fromEntries(Object.values(EndpointEnv).map((name) => [name, 'http://127.0.0.1:9'])),
};

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, any>; Metadata?: Record<string, string> }> };
let apiTemplate: Template;

/** A function's resource in the API stack, found by its description. */
const functionResource = (fn: FunctionName) =>
  Object.values(apiTemplate.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description === `Tollgate ${fn}`);
/** Where a function's bundle sits: `asset.<hash>` of the assembly, the hash being its code's S3 key without `.zip`. */
const assetDirOf = (fn: FunctionName) => path.join(outdir, `asset.${String(functionResource(fn)!.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
/** The environment the stack gives a function, deploy-time references replaced by stand-ins. */
const stackEnvironment = (fn: FunctionName) =>
  Object.fromEntries(
    Object.entries(functionResource(fn)!.Properties.Environment.Variables as Record<string, unknown>).map(([name, value]) => [
      name,
      typeof value === 'string' ? value : deployTimeValue(name),
    ]),
  );
/** Synthesized with a resource policy, the one part of the API that could refer back to the API itself. */
const OPERATOR = 'arn:aws:iam::123456789012:role/tollgate-operator';

beforeAll(() => {
  const result = synth({ upstreamUrl: 'https://example.com', operatorPrincipals: JSON.stringify([OPERATOR]) }, outdir);
  expect(result.stderr + result.stdout).not.toMatch(/docker/i);
  expect(result.status, result.stderr).toBe(0);
  apiTemplate = JSON.parse(fs.readFileSync(path.join(outdir, 'Tollgate.template.json'), 'utf8'));
}, 300_000);

afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

describe('cdk synth of bin/tollgate.ts', () => {
  it('writes both stacks, the data stack termination-protected', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts.TollgateData.properties.terminationProtection).toBe(true);
    expect(manifest.artifacts.Tollgate).toBeDefined();
  });

  it.each(Object.keys(Functions) as FunctionName[])('bundles the %s handler: one ESM file with a source map', (fn) => {
    expect(functionResource(fn), fn).toBeDefined();
    const assetDir = assetDirOf(fn);
    expect(fs.readdirSync(assetDir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const code = fs.readFileSync(path.join(assetDir, 'index.mjs'), 'utf8');
    expect(code).toMatch(/export\s*\{[^}]*handler/);
    const map = JSON.parse(fs.readFileSync(path.join(assetDir, 'index.mjs.map'), 'utf8')) as { sources: string[] };
    expect(map.sources.some((source) => source.endsWith(Functions[fn].entry))).toBe(true);
    // The afterBundling hook ran: a dependency is named by its package's folder only (lib/source-maps.ts).
    expect(map.sources.filter((source) => source.includes('node_modules/') && !source.endsWith('/'))).toEqual([]);
  });

  // Outside any node_modules: a bundle that left a package to the runtime (the AWS SDK, say) fails its import here.
  it.each(Object.keys(Functions) as FunctionName[])('the %s bundle starts on its own with the environment the stack gives it', (fn) => {
    const environment = stackEnvironment(fn);
    const assetDir = assetDirOf(fn);
    // A separate process per bundle: each reads and checks its configuration at import (cold start).
    const result = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `await import(${JSON.stringify(path.join(assetDir, 'index.mjs'))}); console.log('started');`],
      {
        encoding: 'utf8',
        timeout: 20_000,
        env: { PATH: process.env.PATH, ...environment, ...UNREACHABLE_AWS },
      },
    );
    expect(result.stderr).not.toMatch(/ConfigurationError|environment variable/);
    expect(result.stdout.trim(), result.stderr).toBe('started');
  });

  // The one path local mode never takes: no endpoint override, so the bundled SDK resolves AWS's endpoint itself.
  it("the token bundle, given the stack's environment and credentials, signs with them and calls DynamoDB's regional endpoint", () => {
    const environment = stackEnvironment('token');
    const bundle = path.join(assetDirOf('token'), 'index.mjs');
    const event = formPost('/oauth/token', { grant_type: 'client_credentials' }, { Authorization: basicAuth('shop', generateApiKey().apiKey) });
    const script = `const { handler } = await import(${JSON.stringify(bundle)}); console.log(JSON.stringify(await handler(${JSON.stringify(event)})));`;
    const result = spawnSync(process.execPath, ['--import', NO_NETWORK, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { PATH: process.env.PATH, ...environment, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' },
    });
    // Credentials resolved (a failed chain never looks a host up), the endpoint from the SDK's rules, then a dependency failure: 503.
    expect([...new Set(result.stderr.match(/^lookup \S+$/gm))]).toEqual(['lookup dynamodb.eu-west-1.amazonaws.com']);
    const answer = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { statusCode: number; headers: Record<string, string>; body: string };
    expect(answer.statusCode, result.stderr).toBe(503);
    expect(answer.headers['Retry-After']).toMatch(/^\d+$/);
    expect(JSON.parse(answer.body).error).toBe('temporarily_unavailable');
  });

  it('writes an API stack CloudFormation can order: no reference cycle between its resources', () => {
    expect(referenceCycle(apiTemplate.Resources as never)).toBeUndefined();
  });

  it("gives the API the operators' resource policy and the stage its upstream client certificate", () => {
    const resources = Object.entries(apiTemplate.Resources);
    const api = resources.find(([, r]) => r.Type === 'AWS::ApiGateway::RestApi')![1];
    const deny = (api.Properties.Policy.Statement as { Effect: string; Condition?: Record<string, Record<string, unknown>> }[]).find(
      (s) => s.Effect === 'Deny',
    );
    expect(deny?.Condition).toEqual({ ArnNotLike: { 'aws:PrincipalArn': [OPERATOR] } });
    const [certificateId] = resources.find(([, r]) => r.Type === 'AWS::ApiGateway::ClientCertificate')!;
    const stage = resources.find(([, r]) => r.Type === 'AWS::ApiGateway::Stage')![1];
    expect(stage.Properties.ClientCertificateId).toEqual({ Ref: certificateId });
  });

  it('switches per-client throttling on: usage keys required upstream, the fallback key in the authorizer, registration settings in the admin function', () => {
    const resources = Object.values(apiTemplate.Resources);
    const upstream = resources.filter((r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties.Integration?.Type === 'HTTP_PROXY');
    expect(upstream.map((m) => m.Properties.ApiKeyRequired)).toEqual([true, true]);
    const key = resources.find((r) => r.Type === 'AWS::ApiGateway::ApiKey')!;
    const env = (fn: FunctionName) => functionResource(fn)!.Properties.Environment.Variables as Record<string, unknown>;
    expect(env('authorizer')[Env.fallbackUsageKey]).toBe(key.Properties.Value);
    for (const name of [Env.defaultUsagePlanName, Env.restApiId, Env.stageName]) expect(env('admin')).toHaveProperty(name);
  });

  it('stops with a message naming the setting when the configuration is invalid', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-synth-bad-'));
    try {
      const missing = synth({}, dir);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toContain('Invalid Tollgate configuration: upstreamUrl is required');
      const badTtl = synth({ upstreamUrl: 'https://example.com', tokenTtlSeconds: '7200' }, dir);
      expect(badTtl.status).toBe(1);
      expect(badTtl.stderr).toMatch(/tokenTtlSeconds must be a whole number from 60 to 3600, got "7200"/);
      // A near miss of a setting's name would otherwise be ignored (and the default used).
      const misspelled = synth({ upstreamUrl: 'https://example.com', tokenTTLSeconds: '120' }, dir);
      expect(misspelled.status).toBe(1);
      expect(misspelled.stderr).toContain('Invalid Tollgate configuration: tokenTtlSeconds is spelled "tokenTTLSeconds" in the context');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
