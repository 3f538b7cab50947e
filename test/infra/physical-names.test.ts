/**
 * The physical names of Tollgate's resources (`lib/physical-names.ts`): two Tollgates in one
 * stack (the second with `outputs: false`, as packages/cdk/README.md allows) must both deploy,
 * so no two resources of a type may share a name, and each admin function must find its own
 * usage plan by name. The two-stack app keeps the names it always had. Each Tollgate's
 * functions emit their metrics under a `service` of its own, and its alarms and dashboard
 * read exactly those: another Tollgate's metrics never reach them.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { Functions, type FunctionName } from '../../common/functions';
import { Metric, METRIC_EMITTER, MetricDimension, SERVICE_NAME_ENV } from '../../common/metrics';
import { Env, METRICS_NAMESPACE } from '../../common/names';
import { Tollgate, TollgateApi, TollgateApiStack, TokenData, readConfig } from '../../lib/index';
import { GATEWAY_METRIC_DIMENSION } from '../../lib/observability';
import { NameLimit, tollgateDashboardName, tollgateName } from '../../lib/physical-names';
import { buildApp, testApp, UPSTREAM } from './app';

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/**
 * `…Name` properties that name no resource of the account: names unique only within their
 * parent (each Tollgate has its own REST API), labels, and the metrics an alarm watches.
 * API Gateway tells REST APIs by id, and takes any number of one name.
 */
const NOT_IDENTIFIERS: ReadonlySet<string> = new Set([
  'AWS::ApiGateway::Stage StageName',
  'AWS::ApiGateway::Authorizer Name',
  'AWS::ApiGateway::Model Name',
  'AWS::ApiGateway::RestApi Name',
  'AWS::CloudWatch::Alarm MetricName',
  'AWS::SNS::Topic DisplayName',
]);

/** A name as text: a literal, or an `Fn::Join` of literals and `Ref`s, each `Ref` as `[name]`. */
function nameText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] } | undefined)?.['Fn::Join'];
  if (!join) return undefined;
  const parts = join[1].map((part) => (typeof part === 'string' ? part : `[${(part as { Ref?: string }).Ref}]`));
  return parts.join(join[0]);
}

/** Every `…Name` property of every resource given as text (`nameText`), as `<type> <property>` → name → logical ids. */
function physicalNames(resources: Record<string, Resource>): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const [logicalId, resource] of Object.entries(resources)) {
    for (const [key, value] of Object.entries(resource.Properties ?? {})) {
      const kind = `${resource.Type} ${key}`;
      const text = nameText(value);
      if (!key.endsWith('Name') || text === undefined || NOT_IDENTIFIERS.has(kind)) continue;
      const named = `${kind} = ${text}`;
      names.set(named, [...(names.get(named) ?? []), logicalId]);
    }
  }
  return names;
}

function twoInOneStack() {
  const app = testApp();
  const stack = new Stack(app, 'Orders');
  new Tollgate(stack, 'Auth', { settings: { upstreamUrl: UPSTREAM } });
  new Tollgate(stack, 'Billing', { settings: { upstreamUrl: 'https://billing.example.com' }, outputs: false });
  return { app, stack, resources: Template.fromStack(stack).toJSON().Resources as Record<string, Resource> };
}

const byType = (resources: Record<string, Resource>, type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
/** Which of the two Tollgates a resource belongs to: its logical id starts with the construct's id. */
const tollgateOf = ([logicalId]: [string, Resource]) => ['Auth', 'Billing'].find((id) => logicalId.startsWith(id));

/** Each function's `service` (its POWERTOOLS_SERVICE_NAME), as `<Tollgate> <function>` → service; `<function>` from its description. */
function serviceNames(resources: Record<string, Resource>): Map<string, string> {
  const services = new Map<string, string>();
  for (const fn of byType(resources, 'AWS::Lambda::Function')) {
    const props = fn[1].Properties as { Description?: string; Environment?: { Variables?: Record<string, unknown> } };
    const service = props.Environment?.Variables?.[SERVICE_NAME_ENV];
    if (typeof service !== 'string') continue;
    services.set(`${tollgateOf(fn) ?? 'stack'} ${props.Description?.replace(/^Tollgate /, '')}`, service);
  }
  return services;
}

/** The services of the functions of every Tollgate but `tollgate`. */
function servicesOfOther(services: ReadonlyMap<string, string>, tollgate: string | undefined): string[] {
  return [...services].filter(([key]) => !key.startsWith(`${tollgate} `)).map(([, service]) => service);
}

/** The function that emits a Tollgate metric, by its CloudWatch name; undefined for the access log's metric filters. */
function emitterOf(metricName: string | undefined): FunctionName | undefined {
  const key = (Object.keys(Metric) as (keyof typeof Metric)[]).find((k) => Metric[k] === metricName);
  return key && METRIC_EMITTER[key];
}

/**
 * Every metric a dashboard charts, as CloudWatch's `[namespace, name, dimension, value, …]`.
 * The body is an `Fn::Join` of JSON text and tokens (Region, rule names); a token stands for
 * text inside a string, so a placeholder keeps the JSON whole.
 */
function dashboardMetrics(dashboard: Resource): string[][] {
  const body = dashboard.Properties?.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  const widgets = (JSON.parse(text) as { widgets: { properties: { metrics?: unknown[][] } }[] }).widgets;
  return widgets.flatMap((widget) => widget.properties.metrics ?? []).map((line) => line.filter((part): part is string => typeof part === 'string'));
}

/** The logical id of a Tollgate's REST API. */
function restApiOf(resources: Record<string, Resource>, tollgate: string | undefined): string {
  const apis = byType(resources, 'AWS::ApiGateway::RestApi').filter((api) => tollgateOf(api) === tollgate);
  expect(apis, tollgate).toHaveLength(1);
  return apis[0]![0];
}

/** `[k1, v1, k2, v2]` → `[[k1, v1], [k2, v2]]`. */
function pairs(flat: readonly string[]): [string, string][] {
  return Array.from({ length: Math.floor(flat.length / 2) }, (_, i) => [flat[2 * i]!, flat[2 * i + 1]!]);
}

describe('physical names', () => {
  it('differ between two Tollgates in one stack, for every named resource', () => {
    const { resources } = twoInOneStack();
    const names = physicalNames(resources);
    const shared = [...names].filter(([, ids]) => ids.length > 1);
    expect(shared).toEqual([]);
    // The names the README's two-Tollgate stack used to give both.
    expect([...names.keys()]).toEqual(
      expect.arrayContaining([
        'AWS::CloudWatch::Dashboard DashboardName = Orders_Auth-[AWS::Region]-overview',
        'AWS::CloudWatch::Dashboard DashboardName = Orders_Billing-[AWS::Region]-overview',
        'AWS::CloudWatch::InsightRule RuleName = Orders_Billing-top-clients',
        'AWS::CloudWatch::InsightRule RuleName = Orders_Billing-top-throttled-clients',
        'AWS::ApiGateway::UsagePlan UsagePlanName = Orders_Billing-clients',
      ]),
    );
  });

  it('give each admin function the name of its own Tollgate’s usage plan', () => {
    const { resources } = twoInOneStack();
    const plans = new Map(byType(resources, 'AWS::ApiGateway::UsagePlan').map((plan) => [tollgateOf(plan), plan[1].Properties?.UsagePlanName]));
    const planNameOf = ([, fn]: [string, Resource]) =>
      (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.[Env.defaultUsagePlanName];
    const admins = byType(resources, 'AWS::Lambda::Function').filter((fn) => planNameOf(fn) !== undefined);
    expect(admins.map(tollgateOf).sort()).toEqual(['Auth', 'Billing']);
    expect(new Set(plans.values()).size).toBe(2);
    for (const admin of admins) {
      expect(planNameOf(admin)).toBe(plans.get(tollgateOf(admin)));
    }
  });

  it('are the stack’s own in the two-stack app, as every earlier deploy had them', () => {
    const names = [...physicalNames(Template.fromStack(buildApp().api).toJSON().Resources).keys()];
    expect(names).toEqual(
      expect.arrayContaining([
        'AWS::CloudWatch::Dashboard DashboardName = Tollgate-[AWS::Region]-overview',
        'AWS::CloudWatch::InsightRule RuleName = Tollgate-top-clients',
        'AWS::CloudWatch::InsightRule RuleName = Tollgate-top-throttled-clients',
        'AWS::ApiGateway::UsagePlan UsagePlanName = Tollgate-clients',
      ]),
    );
  });

  it('name a TollgateApi made in a stack of tables by its path', () => {
    const app = testApp();
    const stack = new Stack(app, 'Orders');
    const data = new TokenData(stack, 'Data');
    new TollgateApi(stack, 'Edge', { config: readConfig((setting) => (setting === 'upstreamUrl' ? UPSTREAM : undefined)), tables: data.tables });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: { 'Fn::Join': ['', ['Orders_Edge-', { Ref: 'AWS::Region' }, '-overview']] },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::UsagePlan', { UsagePlanName: 'Orders_Edge-clients' });
  });

  it('give the same stack in two Regions of one account two dashboards (dashboards are global), and only the dashboard', () => {
    const inRegion = (region: string) => {
      const app = testApp();
      const stack = new Stack(app, 'Orders', { env: { account: '111111111111', region } });
      new Tollgate(stack, 'Auth', { settings: { upstreamUrl: UPSTREAM } });
      return [...physicalNames(Template.fromStack(stack).toJSON().Resources).keys()];
    };
    const [west, east] = [inRegion('eu-west-1'), inRegion('us-east-1')];
    expect(west).toContain('AWS::CloudWatch::Dashboard DashboardName = Orders_Auth-eu-west-1-overview');
    expect(east).toContain('AWS::CloudWatch::Dashboard DashboardName = Orders_Auth-us-east-1-overview');
    // Rules, plans and keys are regional: their names stay as they were.
    expect(west.filter((name) => !name.startsWith('AWS::CloudWatch::Dashboard '))).toEqual(
      east.filter((name) => !name.startsWith('AWS::CloudWatch::Dashboard ')),
    );
    expect(west).toContain('AWS::CloudWatch::InsightRule RuleName = Orders_Auth-top-throttled-clients');
  });

  it('keep a long dashboard name within 255 characters with the Region in it, known or not', () => {
    for (const region of [undefined, 'ap-southeast-5']) {
      const app = testApp();
      const stack = new Stack(app, 'S'.repeat(120), region ? { env: { region } } : {});
      const tollgate = new Tollgate(stack, 'T'.repeat(200), { settings: { upstreamUrl: UPSTREAM } });
      const name = tollgateDashboardName(tollgate.api.observability);
      const text = region
        ? name
        : stack
            .resolve(name)
            ['Fn::Join'][1].map((part: unknown) => (typeof part === 'string' ? part : 'us-isof-south-1'))
            .join('');
      expect(text).toMatch(new RegExp(`^[A-Za-z0-9_-]{1,${NameLimit.dashboard}}$`));
      expect(text).toMatch(/-[0-9a-f]{8}-(ap-southeast-5|us-isof-south-1)-overview$/);
    }
  });

  it('stay within the services’ limits and characters for a long path, and still differ', () => {
    const app = testApp();
    const stack = new Stack(app, 'S'.repeat(120));
    const names = ['One', 'Two'].map((id) => {
      const tollgate = new Tollgate(stack, `${id} with spaces`.padEnd(200, 'x'), { settings: { upstreamUrl: UPSTREAM }, outputs: false });
      const service = tollgate.api.functions.rotation.serviceName;
      expect(service).toMatch(new RegExp(`^[A-Za-z0-9_-]{1,${NameLimit.serviceName}}$`));
      expect(service).toMatch(/-[0-9a-f]{8}-rotation$/);
      return tollgateName(tollgate.api.observability, 'top-throttled-clients', NameLimit.insightRule);
    });
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
    expect(names[0]).not.toBe(names[1]);
    expect(names[0]).toMatch(/-[0-9a-f]{8}-top-throttled-clients$/);
  });

  it('differ where joining the stack name and the path with "-" would have made them one', () => {
    const app = testApp();
    // Stack `Orders-Auth` against `Tollgate` `Auth` in stack `Orders`.
    const own = new TollgateApiStack(app, 'Orders-Auth', {
      config: readConfig((setting) => (setting === 'upstreamUrl' ? UPSTREAM : undefined)),
      tables: new TokenData(new Stack(app, 'OrdersAuthData'), 'Data').tables,
    });
    const orders = new Stack(app, 'Orders');
    const inner = new Tollgate(orders, 'Auth', { settings: { upstreamUrl: UPSTREAM }, outputs: false });
    // `Tollgate` `Team-Auth` against `Tollgate` `Auth` inside construct `Team`, in one stack.
    const dashed = new Tollgate(orders, 'Team-Auth', { settings: { upstreamUrl: UPSTREAM }, outputs: false });
    const nested = new Tollgate(new Construct(orders, 'Team'), 'Auth', { settings: { upstreamUrl: UPSTREAM }, outputs: false });
    const services = [own, inner.api, dashed.api, nested.api].map((api) => api.functions.authorizer.serviceName);
    expect(services[0]).toBe('Orders-Auth-authorizer');
    expect(new Set(services).size).toBe(services.length);
    expect(services[1]).toBe('Orders_Auth-authorizer');
    expect(services[2]).toMatch(/^Orders_Team-Auth-[0-9a-f]{8}-authorizer$/);
    expect(services[3]).toBe('Orders_Team-Auth-authorizer');
    const dashboards = [inner, dashed, nested].map((tollgate) => tollgateDashboardName(tollgate.api.observability));
    expect(new Set(dashboards).size).toBe(dashboards.length);
  });

  it('give each Tollgate’s functions a service of their own, and the two-stack app its stack’s', () => {
    const { resources } = twoInOneStack();
    const services = serviceNames(resources);
    expect(services.get('Auth authorizer')).toBe('Orders_Auth-authorizer');
    expect(services.get('Billing rotation')).toBe('Orders_Billing-rotation');
    expect(services.size).toBe(2 * Object.keys(Functions).length);
    expect(new Set(services.values()).size).toBe(services.size);
    const app = serviceNames(Template.fromStack(buildApp().api).toJSON().Resources);
    expect([...app.values()].sort()).toEqual((Object.keys(Functions) as FunctionName[]).map((fn) => `Tollgate-${fn}`).sort());
  });

  it('let each alarm on a Tollgate metric watch the service its own Tollgate’s emitting function has', () => {
    const { resources } = twoInOneStack();
    const services = serviceNames(resources);
    const alarms = byType(resources, 'AWS::CloudWatch::Alarm').filter(([, alarm]) => alarm.Properties?.Namespace === METRICS_NAMESPACE);
    const watched = alarms.flatMap((alarm) => {
      const props = alarm[1].Properties as { MetricName: string; Dimensions?: { Name: string; Value: unknown }[] };
      const emitter = emitterOf(props.MetricName);
      // Counted by the access log's metric filters: no `service` (and no function), but the REST API's id.
      if (emitter === undefined) {
        expect(props.Dimensions, props.MetricName).toEqual([{ Name: GATEWAY_METRIC_DIMENSION, Value: { Ref: restApiOf(resources, tollgateOf(alarm)) } }]);
        return [`${tollgateOf(alarm)} ${props.MetricName}`];
      }
      expect(props.Dimensions, props.MetricName).toContainEqual({ Name: MetricDimension.service, Value: services.get(`${tollgateOf(alarm)} ${emitter}`) });
      const service = props.Dimensions?.find((dimension) => dimension.Name === MetricDimension.service)?.Value;
      expect(servicesOfOther(services, tollgateOf(alarm)), props.MetricName).not.toContain(service);
      return [`${tollgateOf(alarm)} ${props.MetricName}`];
    });
    // Each Tollgate's alarms on function metrics (observability's eleven, metering's three) and on the access log's two counts.
    expect(watched.filter((alarm) => alarm.startsWith('Auth ')).length).toBe(16);
    expect(watched.filter((alarm) => alarm.startsWith('Billing ')).length).toBe(16);
  });

  it('let each access-log metric filter publish under the id of the REST API whose stage writes that log', () => {
    const { resources } = twoInOneStack();
    const filters = byType(resources, 'AWS::Logs::MetricFilter');
    // Each Tollgate's two counts, and no other filter on the stack.
    expect(filters.map(tollgateOf).sort()).toEqual(['Auth', 'Auth', 'Billing', 'Billing']);
    for (const filter of filters) {
      const props = filter[1].Properties as { LogGroupName: { Ref: string }; MetricTransformations: { Dimensions?: unknown }[] };
      expect(props.MetricTransformations[0]?.Dimensions).toEqual([{ Key: GATEWAY_METRIC_DIMENSION, Value: `$.${GATEWAY_METRIC_DIMENSION}` }]);
      // The stage that writes this log group puts its own API's id in the line's `apiId` field.
      const destination = JSON.stringify({ 'Fn::GetAtt': [props.LogGroupName.Ref, 'Arn'] });
      const writesIt = ([, stage]: [string, Resource]) =>
        JSON.stringify((stage.Properties?.AccessLogSetting as { DestinationArn?: unknown })?.DestinationArn) === destination;
      const stages = byType(resources, 'AWS::ApiGateway::Stage').filter(writesIt);
      expect(stages, filter[0]).toHaveLength(1);
      const stage = stages[0]![1].Properties as { RestApiId: { Ref: string }; AccessLogSetting: { Format: string } };
      expect(stage.AccessLogSetting.Format).toContain(`"${GATEWAY_METRIC_DIMENSION}":"$context.apiId"`);
      expect(stage.RestApiId).toEqual({ Ref: restApiOf(resources, tollgateOf(filter)) });
    }
  });

  it('let each dashboard chart only the services of its own Tollgate’s emitting functions', () => {
    const { resources } = twoInOneStack();
    const services = serviceNames(resources);
    for (const dashboard of byType(resources, 'AWS::CloudWatch::Dashboard')) {
      const charted = dashboardMetrics(dashboard[1]).filter(([namespace]) => namespace === METRICS_NAMESPACE);
      const withService = charted.filter(([, name]) => emitterOf(name) !== undefined);
      expect(withService.length, tollgateOf(dashboard)).toBeGreaterThan(20);
      for (const [, name, ...rest] of withService) {
        const dimensions = Object.fromEntries(pairs(rest));
        expect(dimensions[MetricDimension.service], name).toBe(services.get(`${tollgateOf(dashboard)} ${emitterOf(name)}`));
        expect(servicesOfOther(services, tollgateOf(dashboard)), name).not.toContain(dimensions[MetricDimension.service]);
      }
    }
  });

  const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  it.runIf(cfnLint.status === 0)(
    'pass cfn-lint’s unique-identifier check (E3019) with two Tollgates in one stack',
    () => {
      const { app, stack } = twoInOneStack();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-names-'));
      try {
        const file = path.join(dir, 'Orders.template.json');
        fs.writeFileSync(file, JSON.stringify(app.synth().getStackByName(stack.stackName).template));
        const result = spawnSync('cfn-lint', ['--format', 'json', '--regions', 'eu-west-1', '--include-checks', 'E3019', '--', file], { encoding: 'utf8' });
        const findings = JSON.parse(result.stdout) as { Rule: { Id: string }; Message: string }[];
        expect(findings.filter((finding) => finding.Rule.Id === 'E3019').map((finding) => finding.Message)).toEqual([]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
