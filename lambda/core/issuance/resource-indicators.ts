/**
 * Which service a token is minted for (RFC 8707 resource indicators) and which of the
 * client's scopes it may carry there. A client names the service with `resource` (the
 * service's URL, or its audience) or with `audience`, the alias Auth0-style clients send;
 * without either, a deployment of one service issues for it and one of several refuses
 * with `invalid_target`, since guessing would mint a token for the wrong API.
 *
 * One audience per token: a token is a credential for one service, so a leaked billing
 * token cannot open orders. A client that calls two services asks for two tokens.
 */
import { Limits } from '../../../common/defaults';
import type { ResolvedService } from '../../../common/services';
import type { FormParams } from './client-auth';
import { InvalidScope, InvalidTarget } from '../shared/issuance-errors';

/** The service a token request names, checked. */
export function requestedService(form: FormParams, services: readonly ResolvedService[]): ResolvedService {
  const resource = form.get('resource');
  const audience = form.get('audience');
  for (const [name, value] of [['resource', resource] as const, ['audience', audience] as const]) {
    if (value !== undefined && value.length > Limits.maxResourceLength) {
      throw new InvalidTarget(`The ${name} parameter is longer than ${Limits.maxResourceLength} characters: no service of this server is named that way.`);
    }
  }
  if (resource !== undefined && !isAbsoluteUriWithoutFragment(resource)) {
    throw new InvalidTarget('The resource parameter must be an absolute URI without a fragment (RFC 8707 §2).');
  }
  const named = [resource, audience].filter((value): value is string => value !== undefined);
  if (named.length === 0) {
    if (services.length === 1) return services[0]!;
    throw new InvalidTarget(`Name the service with the resource parameter: this server issues tokens for ${services.map((s) => s.resource).join(', ')}.`);
  }
  // A service's URL first, then audiences: names are unique across both (`resolveServices`).
  const found = named.map((value) => {
    const url = withoutTrailingSlashes(value);
    return services.find((s) => s.resource === url) ?? services.find((s) => s.audience === value);
  });
  if (found.some((s) => s === undefined)) throw new InvalidTarget('The requested resource is not a service of this server.');
  if (found.length === 2 && found[0] !== found[1]) throw new InvalidTarget('resource and audience name different services; a token is for one service.');
  return found[0]!;
}

/**
 * The scopes of a token for `service`: the granted scopes (already narrowed to what was
 * asked for) that the service defines and, when the client has per-service grants
 * (`core/admin/service-grants.ts`), that are granted to it on this service. Asking for a scope
 * outside that is `invalid_scope`; a client that may hold no scope of the service (no grant
 * on it), or is left with none, is not permitted to target it (`invalid_target`).
 */
export function scopesForService(granted: readonly string[], explicitlyRequested: boolean, service: ResolvedService, ceiling?: readonly string[]): string[] {
  const defined = new Set(service.scopes);
  const permitted = ceiling === undefined ? defined : new Set(ceiling.filter((scope) => defined.has(scope)));
  const notPermitted = () => new InvalidTarget(`This client holds no scope of the service ${service.name}.`);
  // A service the client may hold nothing on is not its target, whatever scope it asks for (RFC 8707 §2).
  if (permitted.size === 0) throw notPermitted();
  if (explicitlyRequested) {
    const outside = granted.filter((scope) => !defined.has(scope));
    if (outside.length > 0) throw new InvalidScope(`The scope ${outside.join(' ')} is not a scope of the service ${service.name}.`);
    const withheld = granted.filter((scope) => !permitted.has(scope));
    if (withheld.length > 0) throw new InvalidScope(`The scope ${withheld.join(' ')} is not granted to this client on the service ${service.name}.`);
  }
  const scopes = granted.filter((scope) => permitted.has(scope));
  if (scopes.length === 0) throw notPermitted();
  return scopes;
}

/**
 * `value` without its trailing `/`s (`…/billing/` names `…/billing`). A loop, not
 * `/\/+$/`: that regex retries from every `/` of a long run, quadratic in it.
 */
export function withoutTrailingSlashes(value: string): string {
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === 0x2f) end -= 1;
  return value.slice(0, end);
}

function isAbsoluteUriWithoutFragment(value: string): boolean {
  // RFC 3986 §4.3: absolute-URI = scheme ":" hier-part [ "?" query ]
  return /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(value) && !value.includes('#');
}
