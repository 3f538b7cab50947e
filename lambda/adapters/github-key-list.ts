/**
 * Fetches GitHub's secret-scanning key list over HTTPS (`secretScanningKeysUrl`), bounded
 * in time (the request waits on it) and in size (the answer is parsed in memory). The size is
 * counted as the body streams in, so an answer without `Content-Length` (chunked) is cut off
 * at the bound instead of being buffered whole first.
 */
import { LeakLimits } from '../../common/leaks';
import type { KeyListSource } from '../core/leaks/github-signature';

export function httpKeyList(url: string, timeoutMs: number = LeakLimits.keysFetchTimeoutMs): KeyListSource {
  return async () => {
    const response = await fetch(url, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`GET ${url} answered ${response.status}`);
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > LeakLimits.maxKeyListBytes) {
      await response.body?.cancel();
      throw tooLarge();
    }
    return JSON.parse(await boundedText(response, LeakLimits.maxKeyListBytes)) as unknown;
  };
}

/** The body as UTF-8, read chunk by chunk; past `maxBytes` the stream (and its connection) is cancelled. */
async function boundedText(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(): Error {
  return new Error(`the key list is larger than ${LeakLimits.maxKeyListBytes} bytes`);
}
