/**
 * How admin requests prove who sends them: the local server's admin token, or AWS SigV4
 * for a deployed stack, whose admin routes use IAM authorization (API Gateway verifies the
 * signature for service `execute-api` and checks `execute-api:Invoke` on the route).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { INSUFFICIENT_SCOPE } from '../common/gateway-responses';

export interface OutgoingRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface AuthStrategy {
  /** Headers to add to the request. */
  authorize(request: OutgoingRequest): Promise<Record<string, string>>;
  /** What a refusal of a request so authorized means, when its `error` code says something else. */
  explainRefusal?(status: number, code: string): string | undefined;
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** What `fromNodeProviderChain()` returns: resolves (and caches) credentials on demand. */
export type CredentialsProvider = () => Promise<AwsCredentials>;

export function bearerAuth(adminToken: string): AuthStrategy {
  return { authorize: async () => ({ Authorization: `Bearer ${adminToken}` }) };
}

export function sigV4Auth(options: { readonly region: string; readonly credentials: CredentialsProvider }): AuthStrategy {
  const signer = new SignatureV4({ service: 'execute-api', region: options.region, credentials: options.credentials, sha256: Sha256 });
  return {
    async authorize(request) {
      const { url } = request;
      const query: Record<string, string | string[]> = {};
      for (const name of new Set(url.searchParams.keys())) {
        const values = url.searchParams.getAll(name);
        query[name] = values.length === 1 ? values[0]! : values;
      }
      const signed = await signer.sign(
        new HttpRequest({
          method: request.method,
          protocol: url.protocol,
          hostname: url.hostname,
          ...(url.port ? { port: Number(url.port) } : {}),
          path: url.pathname,
          query,
          // The Host header is signed; fetch derives the same value from the URL when it sends.
          headers: { ...request.headers, host: url.host },
          ...(request.body === undefined ? {} : { body: request.body }),
        }),
      );
      const { host: _host, ...added } = signed.headers;
      return added;
    },
    explainRefusal: explainIamRefusal,
  };
}

/**
 * The stack's gateway responses are stage-wide (`lib/gateway/responses.ts`), so on an IAM-authorized
 * admin route API Gateway's ACCESS_DENIED (IAM refused `execute-api:Invoke`, or the caller
 * is not in the API's `operatorPrincipals`) arrives with the access-token body 403
 * `insufficient_scope`, which is not about an access token: an admin call never carries one.
 * (Expired AWS credentials have a body of their own, `expired_credentials`, that says what to do.)
 */
function explainIamRefusal(status: number, code: string): string | undefined {
  if (status === INSUFFICIENT_SCOPE.statusCode && code === INSUFFICIENT_SCOPE.body.error) {
    return "on an admin route this means API Gateway denied the signed request (its ACCESS_DENIED, which the stage answers as insufficient_scope): the AWS identity needs execute-api:Invoke on the API's /admin/* routes and, if the stack sets operatorPrincipals, to be one of them";
  }
  return undefined;
}
