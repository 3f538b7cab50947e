/** Checks of `TollgateClient`'s options: each refuses a bad value with a `TypeError` naming the option. */
import { assertApiKeyShape, type ApiKeyCredential } from './token-endpoint';

/** The longest delay `setTimeout` (and `AbortSignal.timeout`) can wait: 2³¹ − 1 ms, about 24.8 days. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** RFC 6749 §3.2 and RFC 6750 §5.3: keys and tokens travel over TLS; plain HTTP only to this machine. */
export function secureHttpUrl(value: string | URL, name: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${name} must be an absolute URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`${name} must be an http(s) URL.`);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new TypeError(`${name} must use https: (plain http is allowed only on a loopback host: 127.0.0.0/8, ::1, localhost).`);
  }
  return url;
}

/** Whether a URL's (WHATWG-parsed) host name is this machine: the only place plain http may go. */
export function isLoopbackHost(hostname: string): boolean {
  // WHATWG URL parsing has already normalised IPv4 forms (127.1 → 127.0.0.1) and brackets IPv6.
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

export function allowedOrigins(values: readonly (string | URL)[] | undefined, tokenOrigin: string): readonly string[] {
  if (values === undefined) return [tokenOrigin];
  if (!Array.isArray(values) || values.length === 0) throw new TypeError('apiOrigins must list at least one origin when given.');
  return values.map((value, position) => {
    const url = secureHttpUrl(value, `apiOrigins[${position}]`);
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      throw new TypeError(`apiOrigins[${position}] must be an origin only (scheme, host and port), e.g. https://api.example.com.`);
    }
    return url.origin;
  });
}

export function validatedKeys(keys: readonly ApiKeyCredential[] | undefined): readonly ApiKeyCredential[] {
  if (!Array.isArray(keys) || keys.length === 0) throw new TypeError('apiKeys must list at least one API key.');
  return keys.map((credential, position) => {
    assertApiKeyShape(credential?.apiKey, `apiKeys[${position}].apiKey`);
    if (credential.clientId !== undefined && (typeof credential.clientId !== 'string' || credential.clientId === '')) {
      throw new TypeError(`apiKeys[${position}].clientId must be a non-empty string when given.`);
    }
    return { ...credential };
  });
}

export function optionalNonNegative(value: number | undefined, name: string, scale: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number.`);
  return value * scale;
}

/** A timeout or delay in milliseconds: positive, and one a timer can wait (refused above {@link MAX_TIMER_MS}). */
export function timerMs(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS)
    throw new TypeError(`${name} must be a number of milliseconds above 0 and at most ${MAX_TIMER_MS}.`);
  return value;
}
