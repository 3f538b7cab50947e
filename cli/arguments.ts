/** Parsers of command-line option values, and checks of flags that go together: each refuses bad input with a one-line reason. */
import { InvalidArgumentError } from 'commander';
import { QUOTA_PERIODS, type QuotaPeriod } from '../common/credential-items';
import { UsageError } from './errors';
import { pastedKey } from './scan-redact';

export function wholeNumber(value: string): number {
  // Ten digits hold every quota limit (up to 2^31 - 1) and stay far below 2^53; the server checks ranges.
  if (!/^\d{1,10}$/.test(value)) throw new InvalidArgumentError('must be a whole number.');
  return Number(value);
}

/** Requests per second: fractions allowed (API Gateway's `rateLimit` is a double); the server checks the range. */
export function requestRate(value: string): number {
  const rate = Number(value);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value) || !(rate > 0)) throw new InvalidArgumentError('must be a positive number of requests per second, e.g. 5 or 0.5.');
  return rate;
}

/**
 * An earlier change's `Idempotency-Key`, as the server takes one: 22 to 255 printable ASCII
 * characters. An API key, plain or base64-encoded, is refused: it would go out in a header and
 * come back in the hint to run the change again, which is printed whole.
 */
export function idempotencyKey(value: string): string {
  if (!/^[\x21-\x7e]{22,255}$/.test(value))
    throw new InvalidArgumentError('must be the Idempotency-Key an earlier command printed (22 to 255 printable ASCII characters).');
  if (pastedKey(value)) throw new InvalidArgumentError('is an API key, not an Idempotency-Key; nothing was sent.');
  return value;
}

/** `a, b or c` */
export function inWords(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

export const PERIODS_IN_WORDS = inWords(QUOTA_PERIODS);

export function quotaPeriod(value: string): QuotaPeriod {
  const period = QUOTA_PERIODS.find((candidate) => candidate === value.toUpperCase());
  if (period === undefined) throw new InvalidArgumentError(`must be ${PERIODS_IN_WORDS}.`);
  return period;
}

/**
 * A period upper-cased and otherwise left to the server, whose refusal names the field
 * (`invalid_request: … quota.period`): what `usage quota` sends, so the operator sees the
 * API's own answer (test/e2e/usage-quota.test.ts).
 */
export function serverCheckedPeriod(value: string): QuotaPeriod {
  return value.toUpperCase() as QuotaPeriod;
}

/** A quota as its flags give it: `limit` and `period` go together; `remove` goes alone. */
export interface QuotaFlags {
  readonly limit?: number;
  readonly period?: QuotaPeriod;
  readonly remove?: boolean;
}

/**
 * Checks a quota's flags before anything is sent, so a half-given quota never reaches the
 * server as NaN, '' or "no quota": absent (undefined) without quota flags, `null` for
 * `remove`, else the pair. `names` are the command's own flags for the limit and removal.
 */
export function quotaPair(
  flags: QuotaFlags,
  names: { readonly limit: string; readonly remove: string },
): { limit: number; period: QuotaPeriod } | null | undefined {
  if (flags.remove === true) {
    if (flags.limit !== undefined) throw new UsageError(`${names.limit} <n> goes with --period, not with ${names.remove}`);
    if (flags.period !== undefined) throw new UsageError(`--period goes with ${names.limit} <n>, not with ${names.remove}`);
    return null;
  }
  if (flags.limit === undefined && flags.period === undefined) return undefined;
  if (flags.limit === undefined) throw new UsageError(`--period needs ${names.limit} <n>, the number of requests allowed per period`);
  if (flags.period === undefined) throw new UsageError(`${names.limit} needs --period ${QUOTA_PERIODS.join('|')}`);
  return { limit: flags.limit, period: flags.period };
}

/** Credits as `usage credits` flags give them: `--remaining` (with optional `--refill`, `--period`), or `--remove` alone. */
export interface CreditFlags {
  readonly remaining?: number;
  readonly refill?: number;
  readonly period?: QuotaPeriod;
  readonly remove?: boolean;
}

/** The body's `credits`, checked before anything is sent: `null` for `--remove`; refill 0 and period MONTH by default. */
export function creditsInput(flags: CreditFlags): { remaining: number; refill: number; period: QuotaPeriod } | null {
  const others = [flags.remaining !== undefined && '--remaining', flags.refill !== undefined && '--refill', flags.period !== undefined && '--period'].filter(
    (flag): flag is string => flag !== false,
  );
  if (flags.remove === true) {
    if (others.length > 0) throw new UsageError(`--remove goes alone, not with ${inWords(others)}`);
    return null;
  }
  if (flags.remaining === undefined) throw new UsageError('give --remaining <n> (with --refill <n> and --period if wanted), or --remove');
  return { remaining: flags.remaining, refill: flags.refill ?? 0, period: flags.period ?? 'MONTH' };
}

export function scopeList(value: string): string[] {
  const scopes = value.split(/[\s,]+/).filter((scope) => scope !== '');
  if (scopes.length === 0) throw new InvalidArgumentError('name at least one scope, e.g. --scopes orders:read,orders:write.');
  return scopes;
}

export function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`is not valid JSON (${(error as Error).message}).`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`must be a JSON object, e.g. '{"team":"orders"}'.`);
  }
  return parsed as Record<string, unknown>;
}
