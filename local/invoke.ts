/**
 * Lambda's JSON boundary. Lambda hands a handler an event parsed from the invocation's JSON
 * and serializes what it returns, so across it a key whose value is `undefined` is gone, a
 * `Date` is a string, every string is a flat one as `JSON.parse` makes it, and neither side
 * holds the other's objects: a handler that mutates its event, or an answer that only works
 * as a live object, behaves in local mode (and in the benchmarks) as it would in AWS.
 */
export type LambdaHandler = (event: never) => Promise<unknown>;

/** `value` as it arrives on the other side of the boundary. */
export function asDelivered<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * `handler` behind the boundary, with its own type: a drop-in for the handler itself. An
 * error thrown is passed on as it is (the gateway reads its message, as API Gateway does);
 * a handler that returns nothing still returns nothing.
 */
export function asInvoked<H extends LambdaHandler>(handler: H): H {
  const invoke: LambdaHandler = async (event) => {
    const result = await handler(asDelivered(event) as never);
    return result === undefined ? result : asDelivered(result);
  };
  return invoke as H;
}
