/**
 * Usage metering's shared facts (docs/usage.md): the usage table's attribute names and row keys, the
 * granularities and their retention settings, the outcome and denial-reason vocabulary. The
 * stack (`lib/config.ts`), `npm start` (`local/start-input.ts`), the metering function and
 * the admin API all read them here.
 *
 * Plain data only: this module imports neither aws-cdk-lib nor the AWS SDK.
 */
import { SECONDS_PER_DAY } from './defaults';
import { usageDayRetentionDays, usageHourRetentionDays, usageMinuteRetentionDays } from './settings';

/**
 * The usage table (docs/usage.md): per-minute counters of what the gateway's access log saw,
 * with hour and day roll-ups, written by the usage meter with atomic `ADD`s. Partition
 * `series` names granularity, dimension and subject (`usageSeries`, `common/usage.ts`); sort
 * key `period` is the bucket start in epoch seconds, zero-padded so text order is time order.
 */
export const UsageAttr = {
  series: 'series',
  period: 'period',
  requests: 'requests',
  allowed: 'allowed',
  throttled: 'throttled',
  serverErrors: 'serverErrors',
  /** Total denials; each reason also has its own counter, `denied_<reason>`. */
  denied: 'denied',
  /** String set of distinct source networks (/24 or /48), minute and hour client rows only. */
  networks: 'networks',
  /** String set of the batch markers applied to a client-minute row: a redelivered batch changes nothing. */
  batches: 'batches',
  /** String set of the API keys (keyIds) a client used in the minute: what an anomaly response `revoke` revokes. */
  keys: 'keys',
  /**
   * String set of `<keyId> <wide network>` pairs (client-minute rows only): the /16 (IPv4) or
   * /32 (IPv6) each key was used from in the minute, for the `key_network_spread` rule.
   */
  keyNetworks: 'keyNetworks',
  /** TTL: the bucket's end plus its granularity's retention. */
  expiresAt: 'expiresAt',
} as const;

/**
 * Context keys of the authorizer's Deny for a suspended client or API key: the gateway renders its
 * refusal from them (locally `local/gateway-answers.ts`), and the access log records the refusal as
 * `$context.authorizer.refusal` (field `refusal`), which the meter counts as a `quota_exceeded` or
 * `suspended` denial. Not `error`: `$context.authorizer.error` is also API Gateway's own variable
 * (the authorizer's error message), and which of the two a template would read is not documented.
 */
export const SuspensionContextKey = { refusal: 'refusal', retryAfter: 'retryAfter' } as const;

/**
 * What a suspended client is answered (docs/usage.md): 403, the code in the body, and
 * `Retry-After` with the seconds until the suspension ends (RFC 9110 §10.2.3). 403, not 429:
 * an API Gateway gateway response has one fixed status per type, and the authorizer's Deny
 * is ACCESS_DENIED, whose status is 403 for scope refusals too; the body tells them apart.
 */
export const SUSPENDED_RESPONSES = {
  quota_exceeded: {
    statusCode: 403,
    body: { error: 'quota_exceeded', error_description: 'The metered quota of this client, or of this API key, for the current period is used up.' },
  },
  suspended: {
    statusCode: 403,
    body: { error: 'client_suspended', error_description: 'This client is suspended for unusual use; an operator can resume it.' },
  },
} as const;

/**
 * How the metering function's deliveries are retried before they go to its dead-letter queue:
 * Lambda's asynchronous invocation, two retries (about one and two minutes apart), kept at
 * most an hour. Local mode's stand-in for the subscription follows the same rule.
 */
export const MeteringDeliveryRetry = { retryAttempts: 2, retryWindowMs: 3 * 60_000, maxEventAgeHours: 1 } as const;

export const GRANULARITIES = ['minute', 'hour', 'day'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export const GRANULARITY_SECONDS: { readonly [G in Granularity]: number } = { minute: 60, hour: 3600, day: SECONDS_PER_DAY };

/** What a series counts: a whole client, one of its API keys, or one of its routes. */
export type UsageDimension = 'client' | 'key' | 'route';

const GRANULARITY_CODE: { readonly [G in Granularity]: string } = { minute: 'm', hour: 'h', day: 'd' };
const DIMENSION_CODE: { readonly [D in UsageDimension]: string } = { client: 'c', key: 'k', route: 'r' };

/**
 * `|` separates the parts of a series key: client ids (`CLIENT_ID_PATTERN`), key ids and
 * route labels (`METHOD /path`) never hold it.
 */
const SEP = '|';

/** The partition of one series: `m|c|<clientId>`, `h|k|<clientId>|<keyId>`, `d|r|<clientId>|GET /orders`. */
export function usageSeries(granularity: Granularity, dimension: UsageDimension, clientId: string, subject?: string): string {
  const parts = [GRANULARITY_CODE[granularity], DIMENSION_CODE[dimension], clientId];
  if (dimension !== 'client') parts.push(subject ?? '');
  return parts.join(SEP);
}

/**
 * The partition of the per-period client index `usage top` reads: one item per client
 * active in the hour or day starting at `periodStart`, sort key the client id.
 */
export function usageTopPartition(granularity: 'hour' | 'day', periodStart: number): string {
  return ['top', GRANULARITY_CODE[granularity], usagePeriodKey(periodStart)].join(SEP);
}

/** The last bucket start whose ten-digit key sorts as time does (2286-11-20T17:46:39Z); keys start at 0. */
export const USAGE_PERIOD_KEY_MAX = 9_999_999_999;

/** Sort key of a bucket: its start in epoch seconds, ten digits (text order is time order up to {@link USAGE_PERIOD_KEY_MAX}). */
export function usagePeriodKey(periodStart: number): string {
  return String(Math.trunc(periodStart)).padStart(10, '0');
}

export function bucketStart(epochSeconds: number, granularity: Granularity): number {
  const size = GRANULARITY_SECONDS[granularity];
  return Math.floor(epochSeconds / size) * size;
}

/**
 * Why a request was refused by the gateway, from the access log's `errorType` (API Gateway's
 * gateway-response type), lower-cased. Others fall under `other` so the set of counters, and
 * so the size of a row, stays bounded.
 */
export const DENIAL_REASONS = [
  'unauthorized',
  'access_denied',
  'quota_exceeded',
  'suspended',
  'invalid_api_key',
  'missing_authentication_token',
  'other',
] as const;
export type DenialReason = (typeof DENIAL_REASONS)[number];

/** The counter attribute of one denial reason. */
export function deniedAttribute(reason: DenialReason): string {
  return `denied_${reason}`;
}

/**
 * A row holds at most this many distinct networks; beyond it the set stops growing and the
 * count reads as "at least" this many (a DynamoDB item is at most 400 KB).
 */
export const USAGE_NETWORKS_MAX = 1000;

export interface UsageRetention {
  readonly minuteDays: number;
  readonly hourDays: number;
  readonly dayDays: number;
}

/**
 * The retention settings' defaults (`common/settings.ts`). Getters, so that a bundle importing
 * this module without using them keeps no retention descriptor.
 */
export const UsageRetentionDefaults: UsageRetention = {
  get minuteDays() {
    return usageMinuteRetentionDays.default;
  },
  get hourDays() {
    return usageHourRetentionDays.default;
  },
  get dayDays() {
    return usageDayRetentionDays.default;
  },
};

type RetentionName = (typeof usageMinuteRetentionDays | typeof usageHourRetentionDays | typeof usageDayRetentionDays)['name'];

/** The retention `settings` (values by setting name) give; the defaults for those they leave out. */
export function usageRetentionFrom(settings: { readonly [N in RetentionName]?: unknown }): UsageRetention {
  const days = (setting: { readonly name: RetentionName; readonly default: number }) => (settings[setting.name] as number | undefined) ?? setting.default;
  return { minuteDays: days(usageMinuteRetentionDays), hourDays: days(usageHourRetentionDays), dayDays: days(usageDayRetentionDays) };
}

/**
 * Which retention setting breaks the order and why, or undefined: each value already within its
 * descriptor's bounds, a coarser granularity must be kept at least as long as a finer one (a
 * roll-up that expired before its minutes would leave a range readable at minute granularity
 * but not at hour). The stack's rule, `npm start` and the metering function all check it.
 */
export function usageRetentionProblem(
  retention: UsageRetention,
): { readonly setting: typeof usageHourRetentionDays | typeof usageDayRetentionDays; readonly problem: string } | undefined {
  const { minuteDays, hourDays, dayDays } = retention;
  if (hourDays < minuteDays)
    return { setting: usageHourRetentionDays, problem: `must be at least ${usageMinuteRetentionDays.name} (${minuteDays}), got ${hourDays}` };
  if (dayDays < hourDays) return { setting: usageDayRetentionDays, problem: `must be at least ${usageHourRetentionDays.name} (${hourDays}), got ${dayDays}` };
  return undefined;
}

/** How long a bucket of each granularity is kept, in seconds. */
export function retentionSeconds(retention: UsageRetention, granularity: Granularity): number {
  const days = granularity === 'minute' ? retention.minuteDays : granularity === 'hour' ? retention.hourDays : retention.dayDays;
  return days * SECONDS_PER_DAY;
}

/** Anomaly detection's thresholds (docs/usage.md, "Anomaly detection"). */
export interface AnomalySettings {
  /** Weight of the newest minute in the EWMA (0–1): 0.05 remembers about the last hour. */
  readonly alpha: number;
  readonly spikeFactor: number;
  readonly spikeMinRequests: number;
  readonly spikeMinutes: number;
  readonly newNetworks: number;
  readonly probingDenials: number;
  readonly idleDays: number;
  readonly warmupMinutes: number;
  /** How many networks a baseline remembers (the least recently seen are forgotten first). */
  readonly knownNetworksMax: number;
  /** How long the response `suspend` suspends a flagged client, unless an operator resumes it first. */
  readonly suspendMinutes: number;
  /**
   * `key_network_spread`: how many distinct wide networks (/16 IPv4, /32 IPv6) one key may be
   * used from within {@link spreadMinutes} before a network the client never used among them is flagged.
   */
  readonly spreadNetworks: number;
  /** `key_network_spread`: the window, in minutes, in which one key's wide networks are counted together. */
  readonly spreadMinutes: number;
}

export const ANOMALY_DEFAULTS: AnomalySettings = {
  alpha: 0.05,
  spikeFactor: 10,
  spikeMinRequests: 30,
  spikeMinutes: 2,
  newNetworks: 5,
  probingDenials: 20,
  idleDays: 30,
  warmupMinutes: 60,
  knownNetworksMax: 200,
  suspendMinutes: 60,
  spreadNetworks: 2,
  spreadMinutes: 5,
};

/** Bounds of each threshold: [min, max, whole number]. */
const ANOMALY_BOUNDS: { readonly [K in keyof AnomalySettings]: readonly [number, number, boolean] } = {
  alpha: [0.001, 1, false],
  spikeFactor: [2, 1000, false],
  spikeMinRequests: [1, 1_000_000, true],
  spikeMinutes: [1, 60, true],
  newNetworks: [1, 1000, true],
  probingDenials: [1, 1_000_000, true],
  idleDays: [1, 3650, true],
  warmupMinutes: [0, 10_080, true],
  knownNetworksMax: [10, 1000, true],
  suspendMinutes: [1, 10_080, true],
  spreadNetworks: [2, 100, true],
  spreadMinutes: [1, 60, true],
};

/** The thresholds an override object makes, or why it is invalid (naming the key). */
export function anomalySettingsFrom(raw: unknown): { readonly settings: AnomalySettings } | { readonly problem: string } {
  if (raw === undefined) return { settings: ANOMALY_DEFAULTS };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { problem: `must be an object of thresholds (${Object.keys(ANOMALY_DEFAULTS).join(', ')})` };
  const settings: Record<string, number> = { ...ANOMALY_DEFAULTS };
  for (const [key, value] of Object.entries(raw)) {
    const bounds = (ANOMALY_BOUNDS as Record<string, readonly [number, number, boolean]>)[key];
    if (bounds === undefined) return { problem: `has an unknown threshold "${key}"; the thresholds are ${Object.keys(ANOMALY_DEFAULTS).join(', ')}` };
    const [min, max, whole] = bounds;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (whole && !Number.isInteger(value))) {
      return { problem: `threshold ${key} must be a ${whole ? 'whole number' : 'number'} from ${min} to ${max}, got ${JSON.stringify(value)}` };
    }
    settings[key] = value;
  }
  return { settings: settings as unknown as AnomalySettings };
}
