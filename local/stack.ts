/**
 * The whole of Tollgate on one machine: DynamoDB Local, the local KMS endpoint, the AWS
 * stand-ins, the real handlers behind the local gateway, the stream poller driving the
 * fan-out function, and the rotation schedule. `npm start` and the end-to-end tests both
 * start it through {@link startLocalStack}.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayAuthorizerResult,
  CloudWatchLogsEvent,
  DynamoDBStreamEvent,
} from 'aws-lambda';
import type { RouteRule } from '../common/gateway-contract';
import { Defaults, Limits } from '../common/defaults';
import { Env, EndpointEnv } from '../common/names';
import * as Setting from '../common/settings';
import type { ServiceDefinition } from '../common/services';
import { runSummary, type RotationReport } from '../lambda/core/rotation/rotation-report';
import { createTables, localDynamoClient, startDynamoDbLocal, tableEnvironment, tableNames, type LocalDynamoDb } from './dynamodb';
import { startLocalKms } from './kms';
import { startStandIns, type StandIns } from './aws-standins';
import { startEcho, type EchoServer } from './echo';
import { LocalGateway, type LocalUpstream } from './gateway';
import { bindListener, closeListener } from './listener';
import { LOCAL_API } from './events';
import { startStreamPoller } from './stream-poller';
import { stageThrottlesFor, UsageLimiter } from './usage-limiter';
import { LocalUsagePlans } from './usage-plans';
import { ANOMALY_DEFAULTS, usageRetentionFrom, type AnomalySettings, type UsageRetention } from '../common/usage';
import { LocalUsageMeter } from './usage-metering';
import { handlerModules, type HandlerCode } from './handler-code';
import { asInvoked, type LambdaHandler } from './invoke';

export interface LocalStackOptions {
  /** Gateway port; 0: one the system chooses, bound before the functions learn the issuer URL. */
  readonly port: number;
  /** Folder for persisted state (DynamoDB data, KMS keys, stream checkpoints). */
  readonly dataDir: string;
  /** Start from empty state. */
  readonly fresh?: boolean;
  /** Proxy target; absent: the built-in echo service. */
  readonly upstreamUrl?: string;
  /** Absent: a random token per start. */
  readonly adminToken?: string;
  /** The route rules; the metering labels requests by them too. */
  readonly routes?: readonly RouteRule[];
  /** Several services (`common/services.ts`); each without an `upstreamUrl` gets an echo service of its own name. */
  readonly services?: readonly ServiceDefinition[];
  /** How often the local rotation schedule sends its `step`. */
  readonly rotationStepSeconds?: number;
  /** API Gateway's authorizer result cache, emulated. @default the `authorizerCacheTtlSeconds` of {@link settings}, else its default; 0 turns it off. */
  readonly authorizerCacheTtlSeconds?: number;
  /**
   * Deployment settings by name (`common/settings.ts`: `tokenTtlSeconds`, `keySpec`,
   * `apiKeyPrefix`, `revocationPollMs`…), handed to the functions through their variables as
   * the stack hands them; those no function reads (`forwardBearerToken`,
   * `authorizerCacheTtlSeconds`, the usage retentions) the local stack applies itself, as
   * the deployed stack does. `npm start` passes `StartInput.settings` whole. Absent: each
   * setting's default.
   */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Where access-log lines and hygiene events go. */
  readonly log?: (line: string) => void;
  /**
   * Fault-injection tests and the load-with-faults benchmark: given DynamoDB Local's endpoint,
   * returns the one the functions and the stream poller use instead (a fault proxy in front
   * of it). The stack's own set-up (tables) talks to DynamoDB Local directly.
   */
  readonly interposeDynamoDb?: (endpoint: string) => Promise<string>;
  /** The public routes' per-method stage throttles, as deployed; false (a benchmark of issuance itself): none. @default true */
  readonly publicRouteThrottles?: boolean;
  /** The functions' TypeScript sources, or their bundles as deployed (`handler-code.ts`). @default 'source' */
  readonly handlerCode?: HandlerCode;
  /** Called when each scheduled rotation step has finished, logged or not (tests count steps with it). */
  readonly onScheduledStep?: () => void;
  /** How long usage rows are kept (docs/usage.md). @default the retention settings of {@link settings}, else their defaults */
  readonly usageRetention?: UsageRetention;
  /** How often the access log is metered into the usage table. @default 1,000 ms */
  readonly usageFlushMs?: number;
  /** Anomaly detection's thresholds. @default `ANOMALY_DEFAULTS` */
  readonly anomalySettings?: AnomalySettings;
}

export interface LocalStack {
  readonly url: string;
  readonly port: number;
  readonly adminToken: string;
  readonly dynamoEndpoint: string;
  readonly kmsEndpoint: string;
  readonly rotationFunctionName: string;
  /** The module each function's handler was imported from: its source, or its bundle (`handlerCode`). */
  readonly handlerModules: Readonly<Record<string, string>>;
  /** The local API Gateway's API keys and usage plans (what the admin API registers clients with). */
  readonly usagePlans: LocalUsagePlans;
  /** Invokes the rotation function as the console or the schedule would. */
  rotate(payload: unknown): Promise<unknown>;
  /** Metering: `flush()` resolves once every access-log line written so far is in the usage table. */
  readonly usage: { flush(): Promise<void> };
  stop(): Promise<void>;
}

const TABLE_PREFIX = 'tollgate-local-';
/** How often the local rotation schedule sends `step` unless told otherwise. */
const LOCAL_STEP_SECONDS = 5;
const ROTATION_FUNCTION = 'tollgate-local-rotation';
/** What the CDK stack creates: the plan default-limit clients share, and the fallback key in it. */
const DEFAULT_PLAN_NAME = 'tollgate-local-clients';
const FALLBACK_KEY_NAME = 'tollgate-local-fallback';

type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
type AuthorizerHandler = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;
type StreamHandler = (event: DynamoDBStreamEvent) => Promise<unknown>;
type RotationHandler = (event: unknown) => Promise<unknown>;
type MeteringHandler = (event: CloudWatchLogsEvent) => Promise<void>;

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  // First: a port in use stops the start before anything else runs. The functions read the
  // issuer URL at import, before the gateway exists, so its port is held from here on.
  const listener = await bindListener(options.port);
  const stops: Array<() => Promise<void>> = [() => closeListener(listener)];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };

  try {
    if (options.fresh) rmSync(options.dataDir, { recursive: true, force: true });
    mkdirSync(options.dataDir, { recursive: true });
    const [dynamo, kms] = await Promise.all([
      startDynamoDbLocal({ dataDir: join(options.dataDir, 'dynamodb') }),
      startLocalKms({ port: 0, persistPath: join(options.dataDir, 'kms.json') }),
    ]);
    stops.push(
      () => dynamo.stop(),
      () => kms.close(),
    );
    const names = tableNames(TABLE_PREFIX);
    await createTablesOn(dynamo, names);
    const functionsDynamo = options.interposeDynamoDb ? await options.interposeDynamoDb(dynamo.endpoint) : dynamo.endpoint;

    const usagePlans = new LocalUsagePlans(join(options.dataDir, 'usage-plans.json'));
    const stage = { apiId: LOCAL_API.apiId, stage: LOCAL_API.stage };
    const defaultPlan = usagePlans.ensurePlan(DEFAULT_PLAN_NAME, stage, { rateLimit: Defaults.rateLimit, burstLimit: Defaults.burstLimit });
    const fallbackKey = usagePlans.ensureKeyInPlan(FALLBACK_KEY_NAME, defaultPlan.id);

    let gateway: LocalGateway | undefined;
    const functions: Record<string, (payload: unknown) => Promise<unknown>> = {};
    const standIns: StandIns = await startStandIns({
      functions,
      flushAuthorizerCache: () => gateway?.flushAuthorizerCache(),
      onEvent: (entry) => log(JSON.stringify({ event: 'eventbridge', detailType: entry.DetailType, detail: safeJson(entry.Detail) })),
      usagePlans,
    });
    stops.push(() => standIns.close());

    let upstreamUrl = options.upstreamUrl;
    if (!upstreamUrl) {
      const echo: EchoServer = await startEcho();
      stops.push(() => echo.close());
      upstreamUrl = echo.url;
    }
    const services: LocalUpstream[] | undefined = options.services && [];
    for (const service of options.services ?? []) {
      let url = service.upstreamUrl;
      if (!url) {
        const echo = await startEcho(0, service.name);
        stops.push(() => echo.close());
        url = echo.url;
      }
      services!.push({ pathPrefix: service.pathPrefix, stripPrefix: service.stripPrefix ?? service.pathPrefix !== '/', upstreamUrl: url });
    }

    // The handlers read their configuration once, at import, exactly as in Lambda: set it first.
    // As deployed: the stack caches authorizer results unless its TTL is set to 0.
    const cacheTtlSeconds =
      options.authorizerCacheTtlSeconds ??
      (options.settings?.[Setting.authorizerCacheTtlSeconds.name] as number | undefined) ??
      Setting.authorizerCacheTtlSeconds.default;
    const { port } = listener.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    Object.assign(process.env, {
      ...tableEnvironment(names),
      [EndpointEnv.dynamodb]: functionsDynamo,
      [EndpointEnv.kms]: kms.endpoint,
      [EndpointEnv.lambda]: standIns.endpoint,
      [EndpointEnv.apigateway]: standIns.endpoint,
      [EndpointEnv.events]: standIns.endpoint,
      AWS_REGION: LOCAL_API.region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      [Env.issuer]: url,
      [Env.rotationFunction]: ROTATION_FUNCTION,
      // The flush waits one revocation poll after the feed write; with no authorizer cache there is nothing to flush.
      ...(cacheTtlSeconds > 0 ? { [Env.flushStages]: `${LOCAL_API.apiId}/${LOCAL_API.stage}` } : {}),
      [Env.defaultUsagePlanName]: DEFAULT_PLAN_NAME,
      [Env.restApiId]: LOCAL_API.apiId,
      [Env.stageName]: LOCAL_API.stage,
      [Env.fallbackUsageKey]: fallbackKey.value,
      // Local time runs short: a rotation becomes active within seconds, not ten minutes,
      // and the authorizer learns the new key just as quickly.
      [Env.keyRingRefreshSeconds]: String(Limits.keyRingRefreshSecondsMin),
      [Env.pendingPublicationSeconds]: String(2 * Limits.keyRingRefreshSecondsMin),
      // One process runs every function: each gets its own settings, encoded as the stack encodes them.
      ...Object.assign({}, ...Object.values(Setting.functionEnvironments(settingValues(options)))),
      POWERTOOLS_SERVICE_NAME: '', // one process runs every function: unset, each is tollgate-<function> (serviceNameFrom)
      POWERTOOLS_METRICS_NAMESPACE: 'Tollgate',
      POWERTOOLS_DEV: 'false',
    });

    const modules = await handlerModules(
      options.handlerCode ?? 'source',
      ['token', 'admin', 'authorizer', 'fanout', 'rotation', 'leaks', 'metering'],
      options.dataDir,
    );
    const [token, admin, authorizer, fanout, rotation, leaks, metering] = await Promise.all([
      importHandler<ProxyHandler>(modules.token),
      importHandler<ProxyHandler>(modules.admin),
      importHandler<AuthorizerHandler>(modules.authorizer),
      importHandler<StreamHandler>(modules.fanout),
      importHandler<RotationHandler>(modules.rotation),
      importHandler<ProxyHandler>(modules.leaks),
      importHandler<MeteringHandler>(modules.metering),
    ]);
    functions[ROTATION_FUNCTION] = rotation;

    // Bootstrap: on an empty ring the first step creates and activates a signing key.
    await rotation({ action: 'step' });

    const poller = await startStreamPoller({
      endpoint: functionsDynamo,
      tableNames: names,
      handler: fanout,
      checkpointPath: join(options.dataDir, 'stream-checkpoints.json'),
    });
    stops.push(() => poller.stop());

    // Metering: every access-log line also goes to the metering function, as the stage's access
    // log goes to it through a CloudWatch Logs subscription. A suspension it writes to a client
    // record reaches the authorizer through the stream poller's fan-out.
    const deadLetters = join(options.dataDir, 'metering-dead-letters');
    const meter = new LocalUsageMeter({
      deliver: metering,
      flushMs: options.usageFlushMs,
      log,
      // The deployed function's dead-letter queue: each delivery kept as it was delivered.
      deadLetter: (event, firstEventId) => {
        mkdirSync(deadLetters, { recursive: true });
        writeFileSync(join(deadLetters, `${firstEventId}.json`), JSON.stringify(event));
      },
    });
    stops.push(() => meter.stop());

    const adminToken = options.adminToken ?? `tga_${randomBytes(24).toString('base64url')}`;
    gateway = new LocalGateway({
      handlers: { token, admin, authorizer, leaks },
      adminToken,
      upstreamUrl,
      ...(services && { services }),
      forwardBearerToken: options.settings?.[Setting.forwardBearerToken.name] === true,
      authorizerCacheTtlSeconds: cacheTtlSeconds,
      writeAccessLog: (line) => {
        log(line);
        meter.write(line);
      },
      // As the deployed upstream methods (`apiKeyRequired`): each client's usage plan applies.
      usage: new UsageLimiter({ limitsFor: (usageKey) => usagePlans.limitsFor(usageKey, stage) }, Date.now),
      ...(options.publicRouteThrottles !== false && { stageThrottles: stageThrottlesFor(options.settings) }),
    });
    gateway.serveOn(listener);
    const activeGateway = gateway;
    stops.push(() => activeGateway.close());

    const scheduledRotation = await quietRotationFunction(modules.rotation);
    const stepEvery = (options.rotationStepSeconds ?? LOCAL_STEP_SECONDS) * 1000;
    const schedule = setInterval(() => {
      scheduledRotation(scheduledEvent())
        .then((report) => {
          if (eventful(report)) log(JSON.stringify({ event: 'rotation_run', ...runSummary(report) }));
        })
        .catch((error: Error) => log(JSON.stringify({ event: 'rotation_step_failed', error: error.message })))
        .finally(() => options.onScheduledStep?.());
    }, stepEvery);
    schedule.unref();
    stops.push(async () => clearInterval(schedule));

    return {
      url,
      port,
      adminToken,
      dynamoEndpoint: dynamo.endpoint,
      kmsEndpoint: kms.endpoint,
      rotationFunctionName: ROTATION_FUNCTION,
      handlerModules: modules,
      usagePlans,
      rotate: rotation,
      usage: { flush: () => meter.flush() },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function createTablesOn(dynamo: LocalDynamoDb, names: ReturnType<typeof tableNames>): Promise<void> {
  const client = localDynamoClient(dynamo.endpoint);
  try {
    await createTables(client, names);
  } finally {
    client.destroy();
  }
}

/** Every setting a function reads, by name, as the stack would be given them (`Setting.functionEnvironments` encodes them). */
export function settingValues(options: LocalStackOptions): Record<string, unknown> {
  const retention = options.usageRetention ?? usageRetentionFrom(options.settings ?? {});
  return {
    routes: options.routes,
    services: options.services,
    ...options.settings,
    [Setting.usageMinuteRetentionDays.name]: retention.minuteDays,
    [Setting.usageHourRetentionDays.name]: retention.hourDays,
    [Setting.usageDayRetentionDays.name]: retention.dayDays,
    // Always set: a value left in the shell's environment must not reach the function.
    [Setting.anomalyDetection.name]: options.anomalySettings ?? ANOMALY_DEFAULTS,
  };
}

/** The module's `handler`, invoked as Lambda invokes it ({@link asInvoked}). */
async function importHandler<T extends LambdaHandler>(path: string): Promise<T> {
  const module = (await import(path)) as { handler: T };
  return asInvoked(module.handler);
}

/**
 * The rotation function the local schedule invokes: the same code as {@link ROTATION_FUNCTION}
 * (its own instance, as a second Lambda execution environment would be), built with the
 * Powertools settings a deployment could give it to be quiet: log level WARN and no EMF
 * metrics. Every 5 s a step that finds nothing due would otherwise print a `rotation run`
 * line and an EMF blob (about 1,400 lines an hour) between the access-log lines; warnings
 * and errors still print, and the stack itself logs each run that changed something.
 * It is the module `module` (the handler's source or bundle, as the other functions run)
 * imported a second time under another URL, which gives it its own module instance. Powertools
 * reads these variables when a Logger or Metrics is constructed, which the handler's module does
 * as it is evaluated, after every other handler's: they are set only around that import, so every
 * other handler keeps its settings. A user's own POWERTOOLS_LOG_LEVEL or
 * POWERTOOLS_METRICS_DISABLED wins.
 */
async function quietRotationFunction(module: string): Promise<(event: unknown) => Promise<RotationReport>> {
  const quiet = { POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' };
  const saved = Object.fromEntries(Object.keys(quiet).map((name) => [name, process.env[name]]));
  for (const [name, value] of Object.entries(quiet)) process.env[name] ||= value;
  try {
    const { handler } = (await import(`${module}?instance=scheduled`)) as { handler: (event: unknown) => Promise<RotationReport> };
    return asInvoked(handler);
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** A run that did something a person may want to see: a transition, a problem, hygiene events sent or failed. */
export function eventful(report: RotationReport): boolean {
  const events = report.hygiene?.events;
  return report.changes.length > 0 || report.problems.length > 0 || events === 'failed' || (typeof events === 'number' && events > 0);
}

/** What EventBridge Scheduler/Rules deliver for a schedule (the rotation treats it as `step`). */
function scheduledEvent() {
  return {
    version: '0',
    id: randomBytes(16).toString('hex'),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_API.accountId,
    time: new Date().toISOString(),
    region: LOCAL_API.region,
    resources: [`arn:aws:events:${LOCAL_API.region}:${LOCAL_API.accountId}:rule/tollgate-local-rotation`],
    detail: {},
  };
}

function safeJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
