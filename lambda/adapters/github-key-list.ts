/**
 * Fetches GitHub's secret-scanning key list over HTTPS (`secretScanningKeysUrl`), bounded
 * in time (the request waits on it) and in size (the answer is parsed in memory).
 */
import { LeakLimits } from '../../common/leaks';
import type { KeyListSource } from '../core/leaks/github-signature';

export function httpKeyList(url: string, timeoutMs: number = LeakLimits.keysFetchTimeoutMs): KeyListSource {
  return async () => {
    const response = await fetch(url, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > LeakLimits.maxKeyListBytes) throw new Error(`the key list is larger than ${LeakLimits.maxKeyListBytes} bytes`);
    const text = await response.text();
    if (Buffer.byteLength(text) > LeakLimits.maxKeyListBytes) throw new Error(`the key list is larger than ${LeakLimits.maxKeyListBytes} bytes`);
    return JSON.parse(text) as unknown;
  };
}
