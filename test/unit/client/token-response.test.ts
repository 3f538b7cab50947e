/** Reading the token endpoint's answer: a body that cannot be read is a network failure, retried. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { InvalidTokenResponse, TollgateClient, type FetchLike, type TollgateClientEvent } from '../../../client/index';
import { startTokenStub, type TokenStub } from './token-stub';

const KEY = generateApiKey().apiKey;

let stub: TokenStub;
let events: TollgateClientEvent[];
beforeEach(async () => {
  stub = await startTokenStub();
  events = [];
});
afterEach(() => stub.close());

/** A 200 whose body breaks off after its first bytes, as on a connection reset. */
function brokenBody(): Response {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"access_token":"tok_'));
      controller.error(new TypeError('terminated: other side closed'));
    },
  });
  return new Response(stream, { status: 200, headers: { 'Content-Type': 'application/json' } });
}

function client(send: FetchLike): TollgateClient {
  return new TollgateClient({
    tokenUrl: stub.tokenUrl,
    apiKeys: [{ apiKey: KEY }],
    fetch: send,
    sleep: async () => undefined,
    random: () => 0,
    onEvent: (event) => events.push(event),
  });
}

describe('token response body', () => {
  it('retries a 200 whose body cannot be read, like a network error', async () => {
    let calls = 0;
    const token = await client(async (input, init) => {
      calls += 1;
      return calls === 1 ? brokenBody() : fetch(input, init);
    }).getToken();

    expect(token).toBe(stub.issued[0]);
    expect(events).toContainEqual({ type: 'retry_scheduled', attempt: 1, delayMs: 0, reason: 'network' });
  });

  it('still rejects a 200 whose body was read but is not JSON, without retrying', async () => {
    let calls = 0;
    const error = await client(async () => {
      calls += 1;
      return new Response('<html>proxy login</html>', { status: 200 });
    })
      .getToken()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidTokenResponse);
    expect(calls).toBe(1);
  });
});
