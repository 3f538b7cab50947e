/**
 * Where the authorizer's DynamoDB client connects and with which credentials, read once at
 * cold start from the environment the Lambda runtime sets (AWS_REGION and the execution
 * role's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN: "Defined runtime
 * environment variables", AWS Lambda Developer Guide). Local mode and tests point it at
 * DynamoDB Local with the same variable and stand-in credentials the SDK clients use
 * (`clients/options.ts`). A missing or unusable value fails the init, naming the variable.
 */
import { EndpointEnv } from '../../../common/names';
import { ConfigurationError, requireString } from '../../core/shared/env';
import { clientOptions, type Environment } from '../clients/options';
import type { DynamoHttpClientOptions } from './client';

/** DNS suffix of DynamoDB's regional endpoint per partition (the SDK's partitions.json); `aws` otherwise. */
const PARTITION_SUFFIXES: readonly (readonly [string, string])[] = [
  ['cn-', 'amazonaws.com.cn'],
  ['us-isob-', 'sc2s.sgov.gov'],
  ['us-isof-', 'csp.hci.ic.gov'],
  ['us-iso-', 'c2s.ic.gov'],
  ['eu-isoe-', 'cloud.adc-e.uk'],
];
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;
/** Endpoint variants the SDK would select from these variables; this client does not. */
const UNSUPPORTED_VARIANTS = ['AWS_USE_FIPS_ENDPOINT', 'AWS_USE_DUALSTACK_ENDPOINT'] as const;

export function dynamoHttpOptionsFrom(env: Environment): DynamoHttpClientOptions {
  const local = clientOptions('dynamodb', env);
  if ('endpoint' in local) {
    let endpoint: URL;
    try {
      endpoint = new URL(local.endpoint);
    } catch {
      throw new ConfigurationError(`environment variable ${EndpointEnv.dynamodb} must be an http(s) URL, got "${local.endpoint}"`);
    }
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
      throw new ConfigurationError(`environment variable ${EndpointEnv.dynamodb} must be an http(s) URL, got "${local.endpoint}"`);
    }
    return { endpoint, region: local.region, credentials: local.credentials };
  }
  for (const name of UNSUPPORTED_VARIANTS) {
    if (env[name]?.toLowerCase() === 'true') {
      throw new ConfigurationError(
        `environment variable ${name} is set: the authorizer's DynamoDB reader uses the regional endpoint only; set ${EndpointEnv.dynamodb} to the endpoint to use`,
      );
    }
  }
  const region = requireString(env, 'AWS_REGION');
  if (!REGION_PATTERN.test(region)) throw new ConfigurationError(`environment variable AWS_REGION is not a Region name: "${region}"`);
  const suffix = PARTITION_SUFFIXES.find(([prefix]) => region.startsWith(prefix))?.[1] ?? 'amazonaws.com';
  const sessionToken = env.AWS_SESSION_TOKEN;
  return {
    endpoint: new URL(`https://dynamodb.${region}.${suffix}`),
    region,
    credentials: {
      accessKeyId: requireString(env, 'AWS_ACCESS_KEY_ID'),
      secretAccessKey: requireString(env, 'AWS_SECRET_ACCESS_KEY'),
      ...(sessionToken ? { sessionToken } : {}),
    },
  };
}
