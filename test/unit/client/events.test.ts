/** The onEvent sink is informational: one that throws changes nothing callers see. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateApiKey } from '../../../lambda/core/credentials/api-keys';
import { TollgateClient, type TollgateClientEvent } from '../../../client/index';
import { startTokenStub, unavailable, type TokenStub } from './token-stub';

const KEY = generateApiKey().apiKey;
const START_MS = Date.UTC(2025, 0, 1);

let stub: TokenStub;
let nowMs: number;
let seen: TollgateClientEvent['type'][];
beforeEach(async () => {
  stub = await startTokenStub();
  nowMs = START_MS;
  seen = [];
});
afterEach(() => stub.close());

const client = () =>
  new TollgateClient({
    tokenUrl: stub.tokenUrl,
    apiKeys: [{ apiKey: KEY }],
    now: () => nowMs,
    sleep: async (ms) => {
      nowMs += ms;
    },
    random: () => 0,
    onEvent: (event) => {
      seen.push(event.type);
      throw new Error(`logger down while handling ${event.type}`);
    },
    retry: { maxAttempts: 3 },
  });

describe('a throwing onEvent', () => {
  it('does not fail a successful exchange, nor stop its retries', async () => {
    stub.script.push(unavailable('1'), unavailable('1'));
    const tollgate = client();

    expect(await tollgate.getToken()).toBe(stub.issued[0]);
    expect(seen).toEqual(['retry_scheduled', 'retry_scheduled', 'token_issued']);
    expect(stub.tokenRequests()).toHaveLength(3);
  });

  it('does not turn a failed background refresh into a rejection, nor stop the next one', async () => {
    const tollgate = client();
    const first = await tollgate.getToken();
    stub.script.push(unavailable(), unavailable(), unavailable());

    nowMs = START_MS + 850_000;
    expect(await tollgate.getToken()).toBe(first);
    await vi.waitFor(() => expect(seen).toContain('refresh_failed_using_cached_token'));

    nowMs += 5000;
    expect(await tollgate.getToken()).toBe(first);
    await vi.waitFor(() => expect(seen.filter((type) => type === 'token_issued')).toHaveLength(2));
    tollgate.invalidate();
    expect(seen.at(-1)).toBe('token_invalidated');
  });
});
