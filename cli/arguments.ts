/** Parsers of command-line option values: each refuses a bad value with a one-line reason. */
import { InvalidArgumentError } from 'commander';
import { QUOTA_PERIODS, type QuotaPeriod } from '../common/credential-items';

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
