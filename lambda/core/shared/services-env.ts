/**
 * `TOLLGATE_SERVICES` as the functions read it at cold start: checked as the stack checked
 * it at synth (`common/services.ts`), every default applied against the issuer URL.
 */
import type { UnmatchedRoutes } from '../../../common/gateway-contract';
import { services as servicesSetting } from '../../../common/settings';
import { parseServices, resolveServices, type ResolvedService, type ServiceDefinition } from '../../../common/services';
import { ConfigurationError } from './env';

type Environment = Readonly<Record<string, string | undefined>>;

/** `{}` when the variable is absent: the function then serves the single-service form. */
export function servicesFrom(env: Environment, issuer: string, defaultUnmatched: UnmatchedRoutes = 'deny'): { services?: readonly ResolvedService[] } {
  const raw = env[servicesSetting.env];
  if (raw === undefined || raw === '') return {};
  let services: ServiceDefinition[];
  try {
    services = parseServices(raw, `environment variable ${servicesSetting.env}`);
  } catch (error) {
    throw new ConfigurationError((error as Error).message);
  }
  try {
    return { services: resolveServices(services, issuer, defaultUnmatched) };
  } catch (error) {
    throw new ConfigurationError(`environment variable ${servicesSetting.env}: ${(error as Error).message}`);
  }
}

/**
 * The services' names and scopes, for a function that knows no issuer URL (the admin
 * function grants scopes per service): audiences and resource URLs are not resolved.
 */
export function servicesOf(env: Environment): readonly Pick<ResolvedService, 'name' | 'scopes'>[] {
  const raw = env[servicesSetting.env];
  if (raw === undefined || raw === '') return [];
  return servicesFrom(env, 'https://issuer.invalid').services!.map(({ name, scopes }) => ({ name, scopes }));
}
