/**
 * The one place that decides how an SDK client reaches its service, and how long it may
 * take (issue #15). In AWS the endpoints come from the SDK's defaults; local mode and tests
 * set the `EndpointEnv` variables so the same handlers talk to local stand-ins. Every client
 * of every function, and of local mode, is built here with:
 *
 * - connection and per-attempt request timeouts (`DependencyBudget`). `throwOnRequestTimeout`
 *   is required: without it `@smithy/node-http-handler` only logs a warning when
 *   `requestTimeout` passes and keeps waiting;
 * - the standard retry mode with `DependencyBudget.maxAttempts` (exponential backoff with
 *   full jitter);
 * - the request's time budget (`deadline.ts`): the attempt in flight is aborted when it is
 *   spent, and the caller is answered then;
 * - one classification of failures (`../dependency-errors.ts`): a timeout, throttling,
 *   network error or unavailable service reaches the caller as `DependencyUnavailable` (a
 *   cancelled transaction reaches its store as it is, to read its reasons).
 *
 * Each client has a module of its own beside this one, and there is no barrel re-exporting
 * them. Import the factory from its own module: a function's bundle then holds the clients
 * it uses by construction, not by whatever tree shaking can prove about a shared module.
 */
import type {
  HandlerExecutionContext,
  HttpHandlerOptions,
  InitializeHandler,
  InitializeHandlerArguments,
  InitializeHandlerOutput,
  MetadataBearer,
} from '@smithy/types';
import { DependencyBudget } from '../../../common/defaults';
import { EndpointEnv } from '../../../common/names';
import { classifyDependencyError, isTransactionCancellation } from '../dependency-errors';
import { currentDeadline } from './deadline';
import { untilAborted } from '../../../common/abort';

export type Environment = Readonly<Record<string, string | undefined>>;

/** Overrides of `DependencyBudget` for one client. */
export interface ClientBounds {
  readonly attemptTimeoutMs?: number;
  readonly maxAttempts?: number;
}

/** Client options for one service: bounded timeouts and retries; a local endpoint where one is set. */
export function clientOptions(service: keyof typeof EndpointEnv, env: Environment = process.env, overrides: ClientBounds = {}) {
  const bounds = {
    maxAttempts: overrides.maxAttempts ?? DependencyBudget.maxAttempts,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: DependencyBudget.connectionTimeoutMs,
      requestTimeout: overrides.attemptTimeoutMs ?? DependencyBudget.attemptTimeoutMs,
      throwOnRequestTimeout: true,
    },
  } as const;
  const endpoint = env[EndpointEnv[service]];
  if (!endpoint) return bounds;
  // Local stand-ins accept any credentials; never let a developer's real ones leave the machine.
  return { ...bounds, endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}

interface RequestHandlerLike {
  handle(request: unknown, options?: HttpHandlerOptions): Promise<unknown>;
}

/** What `bounded` needs of a client: its resolved config and its middleware stack. */
export interface BoundableClient {
  readonly config: { requestHandler: unknown };
  readonly middlewareStack: {
    add(
      middleware: (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) => InitializeHandler<object, MetadataBearer>,
      options: object,
    ): void;
  };
}

/**
 * Makes `client` keep the request's budget and classify its failures. Call it once on each
 * client, before wrapping it (`DynamoDBDocumentClient.from` shares the client's stack and
 * request handler).
 */
export function bounded<C extends BoundableClient>(client: C, dependency: string): C {
  client.config.requestHandler = withBudgetSignal(client.config.requestHandler as RequestHandlerLike);
  client.middlewareStack.add((next, context) => (args) => withinBudget(next, args, dependency, context as AttemptRecord), {
    step: 'initialize',
    priority: 'high',
    name: 'tollgateDependencyBudget',
  });
  // Inside the retry loop: remembers each attempt's failure, so a budget spent while the SDK
  // backs off from throttling is reported as throttling (with its longer Retry-After).
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        (context as AttemptRecord)[LAST_ATTEMPT_ERROR] = error;
        throw error;
      }
    },
    { step: 'deserialize', priority: 'high', name: 'tollgateLastAttemptError' },
  );
  return client;
}

const LAST_ATTEMPT_ERROR = Symbol('tollgateLastAttemptError');
/** The handler execution context one call's middlewares share. */
interface AttemptRecord {
  [LAST_ATTEMPT_ERROR]?: unknown;
}

/** The request handler, with the budget's signal on every attempt so a spent budget aborts the socket. */
function withBudgetSignal(handler: RequestHandlerLike): RequestHandlerLike {
  return new Proxy(handler, {
    get(target, property) {
      if (property === 'handle') {
        return (request: unknown, options: HttpHandlerOptions = {}) => {
          const deadline = currentDeadline();
          if (!deadline) return target.handle(request, options);
          const signal = options.abortSignal ? AbortSignal.any([options.abortSignal as AbortSignal, deadline.signal]) : deadline.signal;
          return target.handle(request, { ...options, abortSignal: signal });
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function withinBudget(
  next: InitializeHandler<object, MetadataBearer>,
  args: InitializeHandlerArguments<object>,
  dependency: string,
  context: AttemptRecord,
): Promise<InitializeHandlerOutput<MetadataBearer>> {
  const deadline = currentDeadline();
  try {
    if (!deadline) return await next(args);
    if (deadline.signal.aborted) throw deadline.signal.reason;
    return await untilAborted(next(args), deadline.signal);
  } catch (error) {
    // A cancelled transaction reaches its store as it is: its reasons are the store's answer
    // (a failed condition) or retry (a conflict); the HTTP layer classifies what is left.
    const classified = isTransactionCancellation(error) ? undefined : classifyDependencyError(error, dependency);
    if (classified && deadline?.signal.aborted && error === deadline.signal.reason) {
      // The budget ran out: if the SDK was backing off from throttling, say so.
      const lastAttempt = classifyDependencyError(context[LAST_ATTEMPT_ERROR], dependency);
      if (lastAttempt?.failure === 'throttled') throw lastAttempt;
    }
    throw classified ?? error;
  }
}
