/**
 * A function's handler as Lambda invokes it. Lambda hands the handler an event parsed from
 * the invocation's JSON and serializes what it returns, so across that boundary a key whose
 * value is `undefined` is gone, a `Date` is a string, and neither side holds the other's
 * objects: a handler that mutates its event, or an answer that only works as a live object,
 * behaves here as it would in AWS. An error thrown is passed on as it is (the gateway reads
 * its message, as API Gateway does); a handler that returns nothing still returns nothing.
 */
export type LambdaHandler = (event: never) => Promise<unknown>;

/** `handler` behind Lambda's JSON boundary, with its own type: a drop-in for the handler itself. */
export function asInvoked<H extends LambdaHandler>(handler: H): H {
  const invoke: LambdaHandler = async (event) => {
    const result = await handler(JSON.parse(JSON.stringify(event)) as never);
    return result === undefined ? result : JSON.parse(JSON.stringify(result));
  };
  return invoke as H;
}
