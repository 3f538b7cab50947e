/**
 * Validation of admin API input: bodies are strict (an unknown field is a typo or a client
 * built for another version, so it is refused, not ignored), ids are checked before any
 * database access, and every refusal says which field is wrong.
 */
import { z } from 'zod';
import { CLIENT_ID_PATTERN, SCOPE_TOKEN_PATTERN } from '../../../common/setting-checks';
import { Limits } from '../../../common/defaults';
import { KEY_ID_PATTERN } from '../../../common/tokens';
import type { KeyListCursor } from '../credentials/credentials';
import { ErrorCode, InvalidRequest, NotFound } from '../shared/issuance-errors';

/** Page size of `GET /admin/clients/{clientId}/keys` when `limit` is absent. */
export const ADMIN_PAGE_SIZE_DEFAULT = 25;
/** Longest metadata key; values are scalars so an item can never exceed DynamoDB's nesting limits. */
const METADATA_KEY_MAX = 64;

const scope = z
  .string()
  .max(Limits.maxScopeLength)
  .regex(SCOPE_TOKEN_PATTERN, 'must be an RFC 6749 scope-token (printable ASCII, no space, quote or backslash)');

/**
 * Keys a JavaScript object does not hold as plain data. zod's record drops `__proto__`
 * silently, so they are refused before it runs: metadata comes back exactly as sent, or not at all.
 */
const RESERVED_METADATA_KEYS = ['__proto__', 'constructor', 'prototype'];

const metadata = z
  .unknown()
  .superRefine((value, context) => {
    const reserved = typeof value === 'object' && value !== null ? RESERVED_METADATA_KEYS.filter((key) => Object.hasOwn(value, key)) : [];
    if (reserved.length > 0)
      context.addIssue({ code: 'custom', message: `must not use the key(s) ${reserved.join(', ')} (reserved: ${RESERVED_METADATA_KEYS.join(', ')})` });
  })
  .pipe(z.record(z.string().min(1).max(METADATA_KEY_MAX), z.union([z.string(), z.number(), z.boolean()])))
  .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= Limits.maxMetadataBytes, {
    message: `must be at most ${Limits.maxMetadataBytes} bytes as JSON`,
  });

export const CreateKeyBody = z.strictObject({
  scopes: z.array(scope).min(1).max(Limits.maxScopesPerKey),
  expiresInDays: z.number().int().min(1).max(Limits.apiKeyExpiresInDaysMax).optional(),
  description: z.string().max(Limits.maxDescriptionLength).optional(),
  metadata: metadata.optional(),
});
export type CreateKeyBody = z.infer<typeof CreateKeyBody>;

export const RollKeyBody = z.strictObject({
  graceSeconds: z.number().int().min(0).max(Limits.rollGraceSecondsMax).optional(),
});
export type RollKeyBody = z.infer<typeof RollKeyBody>;

/**
 * The body of a route that takes no parameters (rotate, resume, the revocations): `{}` or no
 * body at all; anything else is refused, as every body is strict.
 */
export const EmptyBody = z.strictObject({});

/** Refuses any body but `{}` (or none): a route without parameters still reads what it was sent. */
export function requireEmptyBody(body: unknown): void {
  parseInput(EmptyBody, body, 'body');
}

const ListQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(Limits.adminPageSizeMax))
    .optional(),
  nextToken: z.string().max(512).optional(),
});

/** The client the listing was for travels with the position: a cursor only continues its own client's list. */
const CursorPayload = z.strictObject({ clientId: z.string(), keyId: z.string().regex(KEY_ID_PATTERN), createdAt: z.number().int().min(0) });

/**
 * Validates `input` against `schema`; a failure is `invalid_request` naming each bad field.
 * No input at all (`undefined`: an absent or empty body) is `{}`; a JSON `null` is not.
 */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input === undefined ? {} : input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : what;
    return `${path}: ${issue.message}`;
  });
  throw new InvalidRequest(`Invalid ${what}: ${problems.join('; ')}.`);
}

/** The 404s of the admin routes that name a client or an API key in their path. */
export const clientNotFound = () => new NotFound(ErrorCode.clientNotFound, 'No client has this clientId.');
export const keyNotFound = () => new NotFound(ErrorCode.keyNotFound, 'No API key has this keyId.');

/** A key id path parameter; anything that is not one names no key (404, as `GET /admin/keys/{keyId}`). */
export function requireKeyIdParameter(keyId: string | undefined): string {
  if (keyId === undefined || !KEY_ID_PATTERN.test(keyId)) throw keyNotFound();
  return keyId;
}

export function requireClientIdParameter(clientId: string | undefined): string {
  if (clientId === undefined || !CLIENT_ID_PATTERN.test(clientId)) {
    throw new InvalidRequest(`clientId must match ${CLIENT_ID_PATTERN.source}.`);
  }
  return clientId;
}

export interface ListOptions {
  readonly limit: number;
  readonly cursor?: KeyListCursor;
}

export function parseListQuery(clientId: string, query: Readonly<Record<string, string | undefined>> | null | undefined): ListOptions {
  const parsed = parseInput(ListQuery, query ?? {}, 'query');
  const limit = parsed.limit ?? ADMIN_PAGE_SIZE_DEFAULT;
  return parsed.nextToken === undefined ? { limit } : { limit, cursor: decodeCursor(clientId, parsed.nextToken) };
}

/** Opaque to callers: the index position and the client whose list it is in. */
export function encodeCursor(cursor: KeyListCursor): string {
  return Buffer.from(JSON.stringify({ clientId: cursor.clientId, keyId: cursor.keyId, createdAt: cursor.createdAt })).toString('base64url');
}

function decodeCursor(clientId: string, token: string): KeyListCursor {
  const invalid = () => new InvalidRequest('nextToken is not a token this endpoint returned.');
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw invalid();
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const result = CursorPayload.safeParse(payload);
  if (!result.success) throw invalid();
  // Another client's cursor would start this client's list at a foreign position and skip keys.
  if (result.data.clientId !== clientId) throw new InvalidRequest(`nextToken belongs to another client's list, not ${clientId}'s.`);
  return { clientId, keyId: result.data.keyId, createdAt: result.data.createdAt };
}
