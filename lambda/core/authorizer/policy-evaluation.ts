/**
 * Evaluates a Lambda authorizer's policy against a method ARN the way API Gateway does,
 * so local mode can honour the same policies the deployed gateway enforces.
 *
 * AWS behaviour relied on (IAM policy evaluation logic, "The difference between explicit
 * and implicit denies"; API Gateway "Output from a Lambda authorizer"):
 * - a statement applies when its action covers `execute-api:Invoke` and its resource
 *   covers the method ARN `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}`;
 * - an applicable Deny wins over any Allow; no applicable Allow is an implicit deny (403);
 * - ARNs match component by component, `*` matching any run of characters (including `/`
 *   inside the resource part) and `?` exactly one; actions match case-insensitively.
 * Conditions cannot be evaluated here, so a conditional statement is read the cautious
 * way: a conditional Deny applies, a conditional Allow does not.
 */
import type { PolicyDocument, Statement } from 'aws-lambda';

export type PolicyDecision = 'allow' | 'explicit-deny' | 'implicit-deny';

const INVOKE_ACTION = 'execute-api:invoke';
/** `arn:partition:service:region:account:` — the resource is everything after the fifth colon. */
const ARN_FIXED_COMPONENTS = 5;

export function evaluatePolicy(policy: PolicyDocument | undefined, methodArn: string): PolicyDecision {
  let allowed = false;
  for (const statement of policy?.Statement ?? []) {
    const deny = statement.Effect === 'Deny';
    if (!deny && statement.Effect !== 'Allow') continue;
    if (!statementApplies(statement, methodArn, deny)) continue;
    if (deny) return 'explicit-deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}

function statementApplies(statement: Statement, methodArn: string, deny: boolean): boolean {
  if ('Condition' in statement && statement.Condition !== undefined) return deny;
  const actions = 'Action' in statement ? statement.Action : undefined;
  const notActions = 'NotAction' in statement ? statement.NotAction : undefined;
  const actionCovered =
    actions !== undefined
      ? anyMatch(actions, (p) => globMatch(p.toLowerCase(), INVOKE_ACTION))
      : notActions !== undefined && !anyMatch(notActions, (p) => globMatch(p.toLowerCase(), INVOKE_ACTION));
  if (!actionCovered) return false;
  const resources = 'Resource' in statement ? statement.Resource : undefined;
  const notResources = 'NotResource' in statement ? statement.NotResource : undefined;
  if (resources !== undefined) return anyMatch(resources, (p) => arnMatch(p, methodArn));
  return notResources !== undefined && !anyMatch(notResources, (p) => arnMatch(p, methodArn));
}

function anyMatch(patterns: string | readonly string[], matches: (pattern: string) => boolean): boolean {
  return typeof patterns === 'string' ? matches(patterns) : patterns.some(matches);
}

/** IAM ARN matching: each of the first five components on its own, then the resource. */
export function arnMatch(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const patternParts = splitArn(pattern);
  const arnParts = splitArn(arn);
  if (patternParts === undefined || arnParts === undefined) return false;
  return patternParts.every((part, i) => globMatch(part, arnParts[i]!));
}

function splitArn(arn: string): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < ARN_FIXED_COMPONENTS; i += 1) {
    const colon = arn.indexOf(':', start);
    if (colon < 0) return undefined;
    parts.push(arn.slice(start, colon));
    start = colon + 1;
  }
  parts.push(arn.slice(start));
  return parts;
}

/**
 * Whether `text[start, end)` matches `pattern`, where `*` matches any run of characters
 * and `?` exactly one. Linear-time two-pointer matching with backtracking to the last
 * star; allocates nothing, so the authorizer can run it per request.
 */
export function globMatch(pattern: string, text: string, start = 0, end = text.length): boolean {
  let p = 0;
  let t = start;
  let starP = -1;
  let starT = start;
  while (t < end) {
    const pc = p < pattern.length ? pattern.charCodeAt(p) : -1;
    if (pc === 0x2a /* * */) {
      starP = p;
      starT = t;
      p += 1;
    } else if (pc !== -1 && (pc === 0x3f /* ? */ || pc === text.charCodeAt(t))) {
      p += 1;
      t += 1;
    } else if (starP >= 0) {
      p = starP + 1;
      starT += 1;
      t = starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === 0x2a) p += 1;
  return p === pattern.length;
}
