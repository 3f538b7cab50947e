import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StackOutput } from '../../../common/stack-outputs';
import { EXPIRED_CREDENTIALS, INSUFFICIENT_SCOPE, INVALID_TOKEN, NO_ROUTE } from '../../../common/gateway-responses';
import type { AwsCredentials } from '../../../client/admin-auth';
import { startHttpStub, type HttpStub, type RecordedRequest } from '../../support/http-stub';
import { startFakeApi, type FakeApi } from './fake-api';
import { localCloudFormation, tollgate, type CliOverrides } from './harness';
import { expectedSignature, parseAuthorization } from './sigv4-verify';

const CREDENTIALS: AwsCredentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE-session-token',
};

let api: FakeApi;
let cloudFormation: HttpStub;
/** Outputs the stubbed stack has; a test may change them. */
let outputs: Record<string, string>;

/** CloudFormation speaks the AWS query protocol: form-encoded requests, XML answers. */
function describeStacks(request: RecordedRequest) {
  const form = new URLSearchParams(request.body);
  const name = form.get('StackName');
  if (form.get('Action') !== 'DescribeStacks' || name !== 'tollgate-prod') {
    return {
      status: 400,
      headers: { 'Content-Type': 'text/xml' },
      body: `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${name} does not exist</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
    };
  }
  const members = Object.entries(outputs)
    .map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`)
    .join('');
  return {
    status: 200,
    headers: { 'Content-Type': 'text/xml' },
    body: `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>tollgate-prod</StackName><StackId>arn:aws:cloudformation:eu-west-1:111122223333:stack/tollgate-prod/1</StackId><CreationTime>2025-01-01T00:00:00Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></DescribeStacksResponse>`,
  };
}

beforeEach(async () => {
  // API Gateway puts the stage in the path; the ApiUrl output ends with it and a slash.
  api = await startFakeApi({ prefix: '/v1' });
  cloudFormation = await startHttpStub(describeStacks);
  outputs = { [StackOutput.apiUrl]: `${api.url}/v1/`, [StackOutput.region]: 'eu-west-1', [StackOutput.rotationFunctionName]: 'tollgate-rotation' };
});
afterEach(async () => {
  await Promise.all([api.close(), cloudFormation.close()]);
});

function onStack(argv: readonly string[], overrides: Omit<CliOverrides, 'credentials'> & { signWith?: AwsCredentials } = {}) {
  const { signWith = CREDENTIALS, ...rest } = overrides;
  return tollgate([...argv, '--stack', 'tollgate-prod', '--region', 'eu-west-1'], {
    cloudFormation: localCloudFormation(cloudFormation.url),
    credentials: () => async () => signWith,
    ...rest,
  });
}

describe('--stack', () => {
  it('reads the API URL from the stack outputs and signs the admin call with SigV4 for execute-api', async () => {
    const result = await onStack(['signing-keys', 'status']);

    expect(result.code).toBe(0);
    expect(Object.fromEntries(new URLSearchParams(cloudFormation.requests[0]!.body))).toMatchObject({ Action: 'DescribeStacks', StackName: 'tollgate-prod' });
    const request = api.requests[0]!;
    expect(request.pathname).toBe('/v1/admin/signing-keys');
    expect(request.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
    const auth = parseAuthorization(request.headers.authorization)!;
    expect(request.headers['x-amz-date']).toMatch(new RegExp(`^${auth.date}T\\d{6}Z$`));
    expect(request.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
    expect(auth.signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-security-token']));
    expect(auth.signature).toBe(expectedSignature(request, CREDENTIALS.secretAccessKey));
    // The check can fail: another secret gives another signature.
    expect(auth.signature).not.toBe(expectedSignature(request, 'another-secret'));
  });

  it('signs the body and the query string', async () => {
    await onStack(['keys', 'create', 'orders-service', '--scopes', 'orders:read']);
    await onStack(['keys', 'list', 'orders-service', '--limit', '5']);

    const [create, list] = api.requests;
    const createAuth = parseAuthorization(create!.headers.authorization)!;
    expect(createAuth.signedHeaders).toContain('content-type');
    expect(createAuth.signature).toBe(expectedSignature(create!, CREDENTIALS.secretAccessKey));
    expect(createAuth.signature).not.toBe(expectedSignature(create!, CREDENTIALS.secretAccessKey, { body: '{"scopes":["orders:write"]}' }));

    expect(list!.url).toBe('/v1/admin/clients/orders-service/keys?limit=5');
    expect(parseAuthorization(list!.headers.authorization)!.signature).toBe(expectedSignature(list!, CREDENTIALS.secretAccessKey));
  });

  it('signs a PUT and its body (limits set)', async () => {
    api.seedKey('orders-service');
    const result = await onStack(['limits', 'set', 'orders-service', '--rate', '5', '--burst', '10']);

    expect(result.code).toBe(0);
    const request = api.requests[0]!;
    expect(request).toMatchObject({ method: 'PUT', pathname: '/v1/admin/clients/orders-service/limits' });
    const auth = parseAuthorization(request.headers.authorization)!;
    expect(auth.signature).toBe(expectedSignature(request, CREDENTIALS.secretAccessKey));
    expect(auth.signature).not.toBe(expectedSignature(request, CREDENTIALS.secretAccessKey, { body: '{"rateLimit":5,"burstLimit":100}' }));
  });

  it('sends no security token header for long-term credentials', async () => {
    const { sessionToken: _omit, ...longTerm } = CREDENTIALS;
    await onStack(['keys', 'revoke', 'key_0123456789abcdef0123'], { signWith: longTerm });

    const request = api.requests[0]!;
    expect(request.headers).not.toHaveProperty('x-amz-security-token');
    expect(parseAuthorization(request.headers.authorization)!.signature).toBe(expectedSignature(request, CREDENTIALS.secretAccessKey));
  });

  it("signs for the stack's own region output, falling back to --region", async () => {
    outputs[StackOutput.region] = 'eu-central-1';
    await onStack(['signing-keys', 'status']);
    expect(parseAuthorization(api.requests[0]!.headers.authorization)!.region).toBe('eu-central-1');

    delete outputs[StackOutput.region];
    await onStack(['signing-keys', 'status']);
    expect(parseAuthorization(api.requests[1]!.headers.authorization)!.region).toBe('eu-west-1');
  });

  it('exchanges an API key at the stack token endpoint without SigV4', async () => {
    const { apiKey } = api.seedKey('orders-service');
    const result = await onStack(['token'], { env: { TOLLGATE_API_KEY: apiKey } });

    expect(result.code).toBe(0);
    const request = api.requests[0]!;
    expect(request.pathname).toBe('/v1/oauth/token');
    expect(request.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(request.headers).not.toHaveProperty('x-amz-date');
  });

  it('explains a stack that does not exist', async () => {
    const result = await tollgate(['signing-keys', 'status', '--stack', 'nope', '--region', 'eu-west-1'], {
      cloudFormation: localCloudFormation(cloudFormation.url),
      credentials: () => async () => CREDENTIALS,
    });
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'tollgate: stack nope in eu-west-1: Stack with id nope does not exist\n' });
    expect(api.requests).toHaveLength(0);
  });

  it('refuses a stack without the ApiUrl output', async () => {
    delete outputs[StackOutput.apiUrl];
    const result = await onStack(['signing-keys', 'status']);
    expect(result).toMatchObject({
      code: 2,
      stderr:
        'tollgate: stack tollgate-prod has no ApiUrl output; is it a Tollgate stack? (A Tollgate construct built with outputs: false adds no outputs, and --stack cannot operate it.)\n',
    });
  });
});

/** API Gateway's own refusals of a signed admin call, as the stack's stage-wide gateway responses render them. */
const asGatewayRenders = (refusal: { statusCode: number; headers?: Readonly<Record<string, string>>; body: unknown }) => ({
  status: refusal.statusCode,
  ...(refusal.headers === undefined ? {} : { headers: refusal.headers }),
  body: refusal.body,
});

describe('refusals of a signed admin call', () => {
  it('says that 403 insufficient_scope on an admin route is IAM denying the signed request', async () => {
    api.override = asGatewayRenders(INSUFFICIENT_SCOPE);
    const result = await onStack(['signing-keys', 'status']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        "tollgate: insufficient_scope: The access token does not grant the scope this route requires. (HTTP 403) — on an admin route this means API Gateway denied the signed request (its ACCESS_DENIED, which the stage answers as insufficient_scope): the AWS identity needs execute-api:Invoke on the API's /admin/* routes and, if the stack sets operatorPrincipals, to be one of them\n",
    });
  });

  it('shows expired credentials as the stage answers them, which already says what to do', async () => {
    api.override = asGatewayRenders(EXPIRED_CREDENTIALS);
    const result = await onStack(['keys', 'revoke', 'key_0123456789abcdef0123']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `tollgate: expired_credentials: ${EXPIRED_CREDENTIALS.body.error_description} (HTTP 403)\n`,
    });
  });

  it.each([
    ['another refusal of a signed call', ['signing-keys', 'status'], asGatewayRenders(NO_ROUTE), 'not_found: No route serves this method and path. (HTTP 404)'],
    [
      'the same code with another status',
      ['signing-keys', 'status'],
      { status: 400, body: { error: 'invalid_token', error_description: 'x' } },
      'invalid_token: x (HTTP 400)',
    ],
  ] as const)('adds no hint to %s', async (_case, argv, answer, line) => {
    api.override = answer;
    const result = await onStack(argv);
    expect(result).toEqual({ code: 1, stdout: '', stderr: `tollgate: ${line}\n` });
  });

  it('adds no hint where no SigV4 was involved: the token endpoint and local mode', async () => {
    api.override = asGatewayRenders(INVALID_TOKEN);
    const token = await onStack(['token'], { env: { TOLLGATE_API_KEY: api.seedKey('orders-service').apiKey } });
    expect(token.stderr).toBe('tollgate: invalid_token: The access token is missing, malformed, expired or revoked. (HTTP 401)\n');

    api.override = asGatewayRenders(INSUFFICIENT_SCOPE);
    const local = await tollgate(['signing-keys', 'status', '--url', api.baseUrl], { env: { TOLLGATE_ADMIN_TOKEN: 'tga_local' } });
    expect(local.stderr).toBe('tollgate: insufficient_scope: The access token does not grant the scope this route requires. (HTTP 403)\n');
  });
});
