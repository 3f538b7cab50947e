/**
 * The one place that decides how an SDK client reaches its service. In AWS the endpoints
 * come from the SDK's defaults; local mode and tests set the `EndpointEnv` variables so
 * the same handlers talk to local stand-ins.
 *
 * Each client has a module of its own beside this one, and there is no barrel re-exporting
 * them: the SDK is external to the bundles (the Lambda runtime provides it), so esbuild
 * keeps every `@aws-sdk/*` import a module makes, and a function would load at cold start
 * every client a shared module imports. Import the factory from its own module.
 */
import { EndpointEnv } from '../../../common/config';

export type Environment = Readonly<Record<string, string | undefined>>;

/** Client options for one service: the SDK defaults in AWS, a local endpoint where one is set. */
export function clientOptions(service: keyof typeof EndpointEnv, env: Environment = process.env) {
  const endpoint = env[EndpointEnv[service]];
  if (!endpoint) return {};
  // Local stand-ins accept any credentials; never let a developer's real ones leave the machine.
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}
