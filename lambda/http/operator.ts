/**
 * Who made an admin request: the IAM principal API Gateway authenticated (SigV4) before
 * the event reached the function, as `$context.identity` names it. Every admin audit line
 * carries it (`loggerAudit`), so a key created or a client revoked is attributable.
 *
 * These fields are API Gateway's only when API Gateway invoked the function: a principal
 * allowed `lambda:InvokeFunction` on the admin function can write any event, identity
 * included, which is why that permission is operator-equivalent (docs/deploy.md#operators);
 * the `requestId` of such an event is in no access log. An event with no request context at
 * all is marked `via: 'direct-invoke'` instead of naming nobody.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { APIGatewayProxyEvent } from 'aws-lambda';

export interface Operator {
  /** `apigateway`: signed and authorized by the stage; `direct-invoke`: an event without API Gateway's request context. */
  readonly via: 'apigateway' | 'direct-invoke';
  /** `$context.identity.userArn`: the signing principal (an assumed role appears as its session ARN). */
  readonly arn: string | null;
  readonly accountId: string | null;
  /** `$context.identity.caller`: the principal id (for a role session, `role-id:session-name`). */
  readonly caller: string | null;
  readonly sourceIp: string | null;
  /** The request's id in the stage's access log (`$context.extendedRequestId`, else `requestId`). */
  readonly requestId: string | null;
}

export type OperatorEvent = Partial<Pick<APIGatewayProxyEvent, 'requestContext'>>;

export function operatorOf(event: OperatorEvent): Operator {
  const context = event.requestContext;
  if (!context) return { via: 'direct-invoke', arn: null, accountId: null, caller: null, sourceIp: null, requestId: null };
  const identity = context.identity;
  return {
    via: 'apigateway',
    arn: identity?.userArn ?? null,
    accountId: identity?.accountId ?? null,
    caller: identity?.caller ?? null,
    sourceIp: identity?.sourceIp ?? null,
    requestId: context.extendedRequestId ?? context.requestId ?? null,
  };
}

/**
 * The operator of the request being handled. One function instance handles one request at
 * a time in Lambda, but local mode runs many at once in one process, so the operator is
 * bound to the request's asynchronous context rather than kept in a variable.
 */
export class OperatorScope {
  private readonly store = new AsyncLocalStorage<Operator>();

  run<T>(event: OperatorEvent, handle: () => T): T {
    return this.store.run(operatorOf(event), handle);
  }

  current(): Operator | undefined {
    return this.store.getStore();
  }
}
