/**
 * The physical names of one Tollgate's named resources (dashboard, Contributor Insights
 * rules, default usage plan, fallback usage key), and the `service` its functions log and
 * emit their metrics with (`TollgateFunction.serviceName`). Built in a stack of its own
 * (`TollgateApiStack`) a Tollgate is named by the stack, as every earlier deploy was; built
 * inside a construct (`Tollgate`, `TollgateApi`) it is named by the stack and that
 * construct's path, so two Tollgates in one stack do not fight over one name: CloudFormation
 * refuses the second dashboard or rule of a name, and two plans of one name would leave the
 * admin function, which finds its plan by name, registering keys with either. The dashboard,
 * global to the account where the others are regional, also carries the Region.
 */
import { createHash } from 'node:crypto';
import { Aws, Stack, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** The constructs that each hold one whole Tollgate (see {@link namedTollgate}). */
const WHOLE_TOLLGATES = new WeakSet<Construct>();

/**
 * Marks `construct` as holding one whole Tollgate, so that the parts built below it are named
 * by its path (`Orders_Auth`) rather than by that of the construct holding the parts (`Orders_Auth-Api`).
 */
export function namedTollgate(construct: Construct): void {
  WHOLE_TOLLGATES.add(construct);
}

/**
 * The prefix of the names of the Tollgate that `part` belongs to: `part` is one of the
 * constructs built side by side in the Tollgate's scope (the gateway, observability, metering).
 */
export function tollgateNamePrefix(part: Construct): string {
  const stack = Stack.of(part);
  const scope = part.node.scope;
  if (scope === undefined || scope === stack) return stack.stackName;
  const scopes = scope.node.scopes;
  const below = scopes.slice(scopes.indexOf(stack) + 1);
  const whole = below.findIndex((construct) => WHOLE_TOLLGATES.has(construct));
  const ids = (whole >= 0 ? below.slice(0, whole + 1) : below).map((construct) => construct.node.id);
  // `_` never occurs in a stack name, so it cannot run the stack into the path (stack
  // `Orders-Auth` against construct `Auth` in stack `Orders`); and ids are joined by `-`, so
  // a path with an id of other characters than letters and digits (`Team-Auth` against
  // `Team`/`Auth`) also carries a digest of its ids.
  const path = ids.join('-');
  const plain = ids.every((id) => /^[A-Za-z0-9]+$/.test(id));
  return `${stack.stackName}_${plain ? path : `${path}-${shortDigest(JSON.stringify(ids))}`}`;
}

function shortDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/**
 * `part`'s Tollgate's name for a resource: `<prefix>-<suffix>`, kept to `maxLength` and to
 * letters, digits, `_` and `-` (all a CloudWatch dashboard's name allows). A
 * name that had to be shortened or cleaned ends in a digest of the full one, so two
 * Tollgates whose paths differ keep different names.
 */
export function tollgateName(part: Construct, suffix: string, maxLength: number): string {
  const full = `${tollgateNamePrefix(part)}-${suffix}`;
  if (Token.isUnresolved(full)) return full;
  const clean = full.replace(/[^A-Za-z0-9_-]/g, '');
  if (clean === full && full.length <= maxLength) return full;
  const tail = `-${shortDigest(full)}-${suffix}`;
  return `${clean.slice(0, clean.length - suffix.length - 1).slice(0, maxLength - tail.length)}${tail}`;
}

/** Room kept for a Region's name not known at synth: today's are all well under it. */
const REGION_ROOM = 25;

/**
 * The name of `part`'s Tollgate's dashboard: `<prefix>-<Region>-overview`. Dashboards are
 * global to the account, unlike the other named resources, so the Region keeps the same
 * stack deployed in two Regions of one account from sharing (and fighting over, and deleting)
 * one dashboard. An environment-agnostic stack gets the deploy's Region (`AWS::Region`);
 * the name is then shortened as if the Region took {@link REGION_ROOM} characters.
 */
export function tollgateDashboardName(part: Construct): string {
  const region = Stack.of(part).region;
  if (!Token.isUnresolved(region)) return tollgateName(part, `${region}-overview`, NameLimit.dashboard);
  const name = tollgateName(part, 'overview', NameLimit.dashboard - REGION_ROOM - 1);
  return `${name.slice(0, -'-overview'.length)}-${Aws.REGION}-overview`;
}

/** The longest names the services take. The usage plan and API key limits are not documented; 128 keeps them in line. */
export const NameLimit = {
  /** CloudWatch PutDashboard: 1 to 255 characters of A-Z, a-z, 0-9, `-` and `_`. */
  dashboard: 255,
  /** CloudWatch PutInsightRule `RuleName`: 1 to 128 printable ASCII characters. */
  insightRule: 128,
  usagePlan: 128,
  apiKey: 128,
  /** The `service` dimension's value: 1 to 255 characters, as aws-cdk-lib's `Metric` checks a dimension value. */
  serviceName: 255,
} as const;
