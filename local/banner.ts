/**
 * What `npm start` prints once the local stack answers: where everything runs, the admin
 * token, the demo client's key and, when the default routes are in force, the copy-paste
 * curl flow. The flow calls `/orders` with an `orders:read` token, so with other routes it
 * would promise a 200 that never comes: then the banner lists the routes in force instead.
 */
import { isLambdaNodeMajor, LAMBDA_NODE_MAJOR } from '../common/functions';
import { DEFAULT_ROUTES, type RouteRule, type UnmatchedRoutes } from '../common/gateway-contract';
import { resolveServices, type ServiceDefinition } from '../common/services';

export const DEMO_CLIENT = 'demo';
export const DEMO_SCOPES: readonly string[] = ['orders:read'];

export interface ConfiguredRoutes {
  readonly rules: readonly RouteRule[];
  /** Where they came from, as the user named it: `TOLLGATE_ROUTES` or the config file's path. */
  readonly source: string;
}

export interface BannerInput {
  readonly url: string;
  readonly adminToken: string;
  readonly apiKey: string;
  readonly dynamoEndpoint: string;
  readonly kmsEndpoint: string;
  readonly stateDir: string;
  /** The Node.js local mode runs on (`process.versions.node`): the functions run on it too. */
  readonly nodeVersion: string;
  /** Where the functions' bundles were imported from (`npm start -- --bundled`); absent: the sources. */
  readonly bundlesDir?: string;
  /** Absent: the built-in echo service. */
  readonly upstreamUrl?: string;
  /** Absent: the default routes. */
  readonly routes?: ConfiguredRoutes;
  readonly unmatchedRoutes?: UnmatchedRoutes;
  /** Several services: listed with how to get a token for each, instead of the /orders flow. */
  readonly services?: readonly ServiceDefinition[];
}

/** Whether the rules are the default ones (in any order), so the printed flow holds. */
export function isDefaultRoutes(rules: readonly RouteRule[] | undefined): boolean {
  if (rules === undefined) return true;
  const canonical = (list: readonly RouteRule[]) =>
    list
      .map((rule) => `${rule.method} ${rule.path} ${[...rule.scopes].sort().join(',')}`)
      .sort()
      .join('\n');
  return canonical(rules) === canonical(DEFAULT_ROUTES);
}

export function banner(input: BannerInput): string {
  const u = input.url;
  return `
Tollgate is running locally.
  gateway        ${u}   (PORT to change)
  upstream       ${input.upstreamUrl ?? 'built-in echo service (UPSTREAM_URL to change)'}
  DynamoDB Local ${input.dynamoEndpoint}
  KMS endpoint   ${input.kmsEndpoint}
  data           ${input.stateDir}/ (npm start -- --fresh to start empty)
  functions      ${input.bundlesDir ? `bundles as deployed, from ${input.bundlesDir}/` : 'TypeScript sources (npm start -- --bundled for the deployed bundles)'}
  Node.js        ${nodeLine(input.nodeVersion)}

Admin token (admin routes; also used by \`npx tollgate\`):
  ${input.adminToken}
Demo client "${DEMO_CLIENT}" API key (scopes: ${DEMO_SCOPES.join(' ')}; shown once; a restart replaces it):
  ${input.apiKey}

${input.services ? serviceList(u, input.services) : isDefaultRoutes(input.routes?.rules) ? curlFlow(u, input.apiKey, input.upstreamUrl) : routeList(input.routes!, input.unmatchedRoutes)}
ready: listening on ${u}
`;
}

/** Whether the functions run here on the Node.js major they run on in AWS. */
function nodeLine(version: string): string {
  return isLambdaNodeMajor(version)
    ? `${version}, the major the functions run on in AWS`
    : `${version}; in AWS the functions run on Node.js ${LAMBDA_NODE_MAJOR}`;
}

/** Step 2 promises what the echo shows only when the echo is the upstream; any other one answers for itself. */
function curlFlow(u: string, apiKey: string, upstreamUrl: string | undefined): string {
  const step2 = upstreamUrl
    ? 'call the upstream through the gateway (UPSTREAM_URL answers GET /orders/42 itself; it receives X-Tollgate-* headers and no bearer token)'
    : 'call the upstream through the gateway (200; the echo shows X-Tollgate-* headers and no bearer token)';
  return `Try it (copy-paste into a shell):
  export TG=${u} API_KEY=${apiKey}
  # 1. exchange the API key for an access token
  TOKEN=$(curl -s -u "${DEMO_CLIENT}:$API_KEY" -d grant_type=client_credentials $TG/oauth/token | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  # 2. ${step2}
  curl -s -H "Authorization: Bearer $TOKEN" $TG/orders/42
  # 3. a route needing a scope the token lacks (403 insufficient_scope)
  curl -si -X POST -H "Authorization: Bearer $TOKEN" $TG/orders
  # 4. revoke the token
  curl -s -u "${DEMO_CLIENT}:$API_KEY" -d "token=$TOKEN" $TG/oauth/revoke
  # 5. call again (401 invalid_token within a second or two)
  curl -si -H "Authorization: Bearer $TOKEN" $TG/orders/42
  # operator CLI
  npx tollgate keys list ${DEMO_CLIENT}
`;
}

/** Each service with its prefix, upstream and scopes, and the token request that targets it (RFC 8707 `resource`). */
function serviceList(u: string, services: readonly ServiceDefinition[]): string {
  const resolved = resolveServices(services, u);
  const lines = resolved.map((s, i) => {
    const upstream = services[i]!.upstreamUrl ?? `echo service "${s.name}"`;
    return `  ${s.name}: ${u}${s.pathPrefix === '/' ? '' : s.pathPrefix}/… -> ${upstream}\n    resource ${s.resource}  scopes ${s.scopes.join(' ') || '(none)'}`;
  });
  const scopes = [...new Set(resolved.flatMap((s) => s.scopes))].join(',');
  return `Services (discovery: ${u}/.well-known/oauth-authorization-server):
${lines.join('\n')}
Try it: create a key with their scopes, then ask for a token per service:
  npx tollgate keys create shop --scopes ${scopes || '<scopes>'}
  curl -s -u "shop:$API_KEY" -d grant_type=client_credentials -d resource=${resolved[0]!.resource} ${u}/oauth/token
`;
}

function routeList(routes: ConfiguredRoutes, unmatched: UnmatchedRoutes | undefined): string {
  const width = Math.max(...routes.rules.map((rule) => `${rule.method} ${rule.path}`.length), 0);
  const lines = routes.rules.map((rule) => {
    const route = `${rule.method} ${rule.path}`.padEnd(width);
    return `  ${route}  ${rule.scopes.length ? rule.scopes.join(' ') : '(any valid access token)'}`;
  });
  return `The copy-paste curl flow needs the default /orders routes, so it is not printed; routes from ${routes.source}:
${lines.join('\n')}
  any other path: ${(unmatched ?? 'deny') === 'allow' ? 'any valid access token' : 'denied'}
`;
}
