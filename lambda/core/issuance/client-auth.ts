/**
 * Client authentication at the token and revocation endpoints: which credential the request
 * carries (RFC 6749 §2.3), then whether it names a live API key of a live client.
 */
import { CLIENT_ID_PATTERN } from '../../../common/setting-checks';
import { CredentialStatus } from '../../../common/credential-items';

import { hashApiKey, hashesEqual, isWellFormedApiKey, keyIdOf } from '../credentials/api-keys';
import { isPastExpiry, type ApiKeyReader, type ClientReader, type StoredApiKey, type StoredClient } from '../credentials/credentials';
import { InvalidClient, InvalidClientReason, InvalidRequest, type ChallengeScheme } from '../shared/issuance-errors';

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'bearer';

/** The `Authorization` scheme of each method, whose failure is challenged in it (RFC 6749 §5.2); `client_secret_post` has none. */
const CHALLENGE: { readonly [M in AuthMethod]: ChallengeScheme | undefined } = {
  client_secret_basic: 'Basic',
  bearer: 'Bearer',
  client_secret_post: undefined,
};

export interface ClientCredentials {
  readonly method: AuthMethod;
  /** The API key: a secret, never logged. */
  readonly apiKey: string;
  /** Named by Basic and post; a bearer API key names its client through its record. */
  readonly clientId?: string;
  /** A `client_id` form field beside a bearer key: it must name the key's client, known once the key authenticates. */
  readonly bodyClientId?: string;
}

const CLIENT_ID_MISMATCH = 'client_id in the body does not match the authenticated client.';

/** Form parameters, each present at most once (RFC 6749 §3.1). */
export type FormParams = ReadonlyMap<string, string>;

/**
 * The one credential of a request. RFC 6749 §2.3: a client MUST NOT use more than one
 * authentication method per request, so two are `invalid_request`, not a guess.
 */
export function extractCredentials(authorization: string | undefined, form: FormParams): ClientCredentials {
  const formSecret = form.get('client_secret');
  const formClientId = form.get('client_id');
  const fromHeader = authorization === undefined ? undefined : headerCredentials(authorization);
  if (fromHeader && formSecret !== undefined) {
    throw new InvalidRequest('Use exactly one client authentication method: an Authorization header or client_id/client_secret form fields.');
  }
  if (fromHeader) {
    // A client_id field beside the header is tolerated only when it names the same client.
    if (formClientId === undefined) return fromHeader;
    if (fromHeader.method === 'bearer') return { ...fromHeader, bodyClientId: formClientId };
    if (formClientId !== fromHeader.clientId) throw new InvalidRequest(CLIENT_ID_MISMATCH);
    return fromHeader;
  }
  if (formSecret === undefined) throw new InvalidClient(InvalidClientReason.noCredentials, undefined);
  if (formClientId === undefined) throw new InvalidRequest('client_secret requires client_id.');
  return { method: 'client_secret_post', clientId: formClientId, apiKey: formSecret };
}

function headerCredentials(authorization: string): ClientCredentials {
  // The scheme alone (`Basic`, `Bearer` without a value) is still that scheme, malformed.
  const match = /^([A-Za-z]+)(?: +(\S+))? *$/.exec(authorization);
  const scheme = match?.[1]?.toLowerCase();
  const value = match?.[2];
  if (scheme === 'basic' && value !== undefined) return basicCredentials(value);
  // An access token (a JWS, `eyJ…`) never starts with a lowercase prefix and `_`.
  if (scheme === 'bearer' && value !== undefined && /^[a-z0-9]{2,10}_/.test(value)) return { method: 'bearer', apiKey: value };
  if (scheme === 'basic') throw new InvalidClient(InvalidClientReason.malformedCredentials, 'Basic');
  // A bearer value that is not an API key (e.g. an access token) still used the Bearer scheme.
  if (scheme === 'bearer') throw new InvalidClient(InvalidClientReason.malformedCredentials, 'Bearer');
  throw new InvalidClient(InvalidClientReason.unsupportedScheme, undefined);
}

/**
 * RFC 6749 §2.3.1: client id and secret are each application/x-www-form-urlencoded, then
 * joined by `:` and base64-encoded (RFC 7617), so decode in the reverse order.
 */
function basicCredentials(encoded: string): ClientCredentials {
  const malformed = () => new InvalidClient(InvalidClientReason.malformedCredentials, 'Basic');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw malformed();
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw malformed();
  try {
    const clientId = formDecode(decoded.slice(0, colon));
    const apiKey = formDecode(decoded.slice(colon + 1));
    return { method: 'client_secret_basic', clientId, apiKey };
  } catch {
    throw malformed();
  }
}

function formDecode(component: string): string {
  return decodeURIComponent(component.replace(/\+/g, ' '));
}

export interface AuthenticatedClient {
  readonly key: StoredApiKey;
  readonly client: StoredClient;
  readonly method: AuthMethod;
}

export interface AuthenticationPorts {
  readonly apiKeys: ApiKeyReader;
  readonly clients: ClientReader;
}

/**
 * Checks the credential: offline format and checksum first (no database read for a typo),
 * then key and client in parallel where the client is named, then hash, status, expiry,
 * client status and client match. Every failure is the same `invalid_client` to the caller;
 * a bearer key's `client_id` field naming another client is then `invalid_request`, as
 * beside Basic.
 */
export async function authenticate(credentials: ClientCredentials, ports: AuthenticationPorts, nowSeconds: number): Promise<AuthenticatedClient> {
  const challenge = CHALLENGE[credentials.method];
  // A client that swapped its fields sends the API key as client_id: never echo that into a log.
  const namedClientId = credentials.clientId !== undefined && looksLikeApiKey(credentials.clientId) ? undefined : credentials.clientId;
  const fail = (reason: InvalidClientReason, context: { keyId?: string; clientId?: string } = {}) =>
    new InvalidClient(reason, challenge, { clientId: namedClientId, ...context });

  if (credentials.clientId !== undefined && !CLIENT_ID_PATTERN.test(credentials.clientId)) {
    throw new InvalidClient(InvalidClientReason.malformedCredentials, challenge);
  }
  if (!isWellFormedApiKey(credentials.apiKey)) throw fail(InvalidClientReason.badChecksum);

  const presentedHash = hashApiKey(credentials.apiKey);
  const keyId = keyIdOf(presentedHash);
  const [key, namedClient] = await Promise.all([
    ports.apiKeys.get(keyId),
    credentials.clientId === undefined ? undefined : ports.clients.get(credentials.clientId),
  ]);
  if (!key) throw fail(InvalidClientReason.unknownKey, { keyId });
  if (!hashesEqual(key.keyHash, presentedHash)) throw fail(InvalidClientReason.hashMismatch, { keyId });
  const context = { keyId, clientId: key.clientId };
  if (key.status !== CredentialStatus.Active) throw fail(InvalidClientReason.keyRevoked, context);
  if (isPastExpiry(key, nowSeconds)) throw fail(InvalidClientReason.keyExpired, context);
  if (credentials.clientId !== undefined && credentials.clientId !== key.clientId) {
    throw fail(InvalidClientReason.clientMismatch, { keyId });
  }
  const client = namedClient ?? (await ports.clients.get(key.clientId));
  if (!client) throw fail(InvalidClientReason.clientUnknown, context);
  if (client.status !== CredentialStatus.Active) throw fail(InvalidClientReason.clientRevoked, context);
  if (credentials.bodyClientId !== undefined && credentials.bodyClientId !== key.clientId) throw new InvalidRequest(CLIENT_ID_MISMATCH);
  return { key, client, method: credentials.method };
}

/**
 * Whether a value is meant as an API key of any prefix (a typo in it included): a prefix
 * and a long base62 run. Such a value is checked as a key, and never logged as a client id.
 */
function looksLikeApiKey(value: string): boolean {
  return /^[a-z0-9]{2,10}_[0-9A-Za-z]{40}/.test(value);
}
