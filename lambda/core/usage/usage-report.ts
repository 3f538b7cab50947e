/**
 * Reading the meters (docs/usage.md): `GET /admin/clients/{clientId}/usage` (one series of
 * a client, per minute, hour or day, optionally one key or one route) and
 * `GET /admin/usage/top` (the busiest clients of a recent window). Every query parameter is
 * checked before any read; a bad one is `invalid_request` naming it, and nothing is read.
 */
import { z } from 'zod';
import { SECONDS_PER_DAY } from '../../../common/defaults';
import { KEY_ID_PATTERN } from '../../../common/tokens';
import {
  DENIAL_REASONS,
  GRANULARITIES,
  GRANULARITY_SECONDS,
  USAGE_PERIOD_KEY_MAX,
  UsageAttr,
  bucketStart,
  deniedAttribute,
  usagePeriodKey,
  usageSeries,
  type DenialReason,
  type Granularity,
} from '../../../common/usage';
import { parseInput, requireClientIdParameter } from '../admin/admin-input';
import { InvalidRequest } from '../shared/issuance-errors';

/** Where rows are read from (the usage table). */
export interface UsageReader {
  /** Rows of one series with bucket starts from `from` to `to` (epoch seconds, inclusive). */
  series(series: string, from: number, to: number): Promise<Record<string, unknown>[]>;
  /** Every client's entry in one hour's or day's top index. */
  top(granularity: 'hour' | 'day', periodStart: number): Promise<Record<string, unknown>[]>;
}

/** Points one usage query may return: a day of minutes, two months of hours, years of days. */
export const USAGE_POINTS_MAX = 1440;
/** Points returned when `from` is absent. */
export const USAGE_POINTS_DEFAULT = 60;
export const TOP_LIMIT_DEFAULT = 10;
export const TOP_LIMIT_MAX = 100;
/** `window` of `usage top`: up to 48 hours from the hour index, up to 90 days from the day index. */
export const TOP_WINDOW_HOURS_MAX = 48;
export const TOP_WINDOW_DAYS_MAX = 90;

export interface UsagePoint {
  /** Bucket start, ISO 8601. */
  readonly start: string;
  readonly requests: number;
  readonly allowed: number;
  readonly throttled: number;
  readonly serverErrors: number;
  readonly denied: number;
  readonly deniedBy: Partial<Record<DenialReason, number>>;
  /** Distinct source networks (/24, /48): client series at minute and hour granularity only. */
  readonly networks?: number;
}

export interface UsageSeriesView {
  readonly clientId: string;
  readonly granularity: Granularity;
  readonly keyId?: string;
  readonly route?: string;
  readonly from: string;
  readonly to: string;
  /** One point per bucket from `from` to `to`, oldest first; buckets without traffic are zeros. */
  readonly points: readonly UsagePoint[];
  readonly totals: Omit<UsagePoint, 'start' | 'networks'>;
}

export type TopMeasure = 'requests' | 'denied' | 'throttled';

export interface TopView {
  readonly by: TopMeasure;
  readonly window: string;
  readonly from: string;
  readonly to: string;
  readonly clients: readonly { readonly clientId: string; readonly requests: number; readonly denied: number; readonly throttled: number }[];
}

/** The instants a bucket can start at: its ten-digit key sorts as time only from 0 to {@link USAGE_PERIOD_KEY_MAX}. */
const INSTANT_RANGE = `${new Date(0).toISOString().replace('.000', '')} and ${new Date(USAGE_PERIOD_KEY_MAX * 1000).toISOString().replace('.000', '')}`;

/** An instant: ISO 8601 with a time zone, or epoch seconds, within the range bucket keys sort in. */
const instant = z.string().transform((raw, context) => {
  const seconds = /^\d{1,11}$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(raw) ? Date.parse(raw) / 1000 : Number.NaN;
  if (!Number.isFinite(seconds)) {
    context.addIssue({ code: 'custom', message: 'must be an ISO 8601 time with a zone (2026-12-06T20:00:00Z) or epoch seconds' });
    return z.NEVER;
  }
  if (seconds < 0 || seconds > USAGE_PERIOD_KEY_MAX) {
    context.addIssue({ code: 'custom', message: `must be between ${INSTANT_RANGE}` });
    return z.NEVER;
  }
  return Math.floor(seconds);
});

const UsageQuery = z.strictObject({
  from: instant.optional(),
  to: instant.optional(),
  granularity: z.enum(GRANULARITIES).optional(),
  keyId: z.string().regex(KEY_ID_PATTERN, 'must be a key id (key_ and 20 hex digits)').optional(),
  route: z
    .string()
    .max(300)
    .regex(/^([A-Z]+ \/[^\s|]*|unmatched)$/, 'must be a route label as usage reports it ("GET /orders/{proxy+}", or "unmatched")')
    .optional(),
});

const TopQuery = z.strictObject({
  by: z.enum(['requests', 'denied', 'throttled']).optional(),
  window: z
    .string()
    .regex(/^[1-9]\d{0,2}[hd]$/, 'must be a number of hours or days, like 1h, 24h or 7d')
    .refine((w) => (w.endsWith('h') ? Number(w.slice(0, -1)) <= TOP_WINDOW_HOURS_MAX : Number(w.slice(0, -1)) <= TOP_WINDOW_DAYS_MAX), {
      message: `must be at most ${TOP_WINDOW_HOURS_MAX}h or ${TOP_WINDOW_DAYS_MAX}d`,
    })
    .optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(TOP_LIMIT_MAX))
    .optional(),
});

type Query = Readonly<Record<string, string | undefined>> | null | undefined;

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const count = (row: Record<string, unknown> | undefined, attribute: string) => Number(row?.[attribute] ?? 0);

export class UsageReports {
  constructor(
    private readonly reader: UsageReader,
    /** Epoch milliseconds. */
    private readonly now: () => number,
  ) {}

  async clientUsage(clientIdParameter: string | undefined, query: Query): Promise<UsageSeriesView> {
    const clientId = requireClientIdParameter(clientIdParameter);
    const input = parseInput(UsageQuery, query ?? {}, 'query');
    if (input.keyId !== undefined && input.route !== undefined)
      throw new InvalidRequest('Invalid query: give keyId or route, not both (a series counts one dimension).');
    const granularity = input.granularity ?? 'minute';
    const size = GRANULARITY_SECONDS[granularity];
    const to = bucketStart(input.to ?? Math.floor(this.now() / 1000), granularity);
    const from = bucketStart(input.from ?? to - (USAGE_POINTS_DEFAULT - 1) * size, granularity);
    if (from > to) throw new InvalidRequest('Invalid query: from must not be after to.');
    const points = (to - from) / size + 1;
    if (points > USAGE_POINTS_MAX) {
      throw new InvalidRequest(
        `Invalid query: from..to spans ${points} ${granularity}s; at most ${USAGE_POINTS_MAX} points per request (use a coarser granularity).`,
      );
    }
    const series =
      input.keyId !== undefined
        ? usageSeries(granularity, 'key', clientId, input.keyId)
        : input.route !== undefined
          ? usageSeries(granularity, 'route', clientId, input.route)
          : usageSeries(granularity, 'client', clientId);
    const rows = new Map((await this.reader.series(series, from, to)).map((row) => [String(row[UsageAttr.period]), row]));
    const withNetworks = input.keyId === undefined && input.route === undefined && granularity !== 'day';
    const list: UsagePoint[] = [];
    for (let start = from; start <= to; start += size) list.push(pointOf(start, rows.get(usagePeriodKey(start)), withNetworks));
    return {
      clientId,
      granularity,
      ...(input.keyId !== undefined && { keyId: input.keyId }),
      ...(input.route !== undefined && { route: input.route }),
      from: iso(from),
      to: iso(to),
      points: list,
      totals: totalsOf(list),
    };
  }

  async top(query: Query): Promise<TopView> {
    const input = parseInput(TopQuery, query ?? {}, 'query');
    const by = input.by ?? 'requests';
    const window = input.window ?? '24h';
    const n = Number(window.slice(0, -1));
    const granularity = window.endsWith('h') ? 'hour' : 'day';
    const size = granularity === 'hour' ? 3600 : SECONDS_PER_DAY;
    const to = bucketStart(Math.floor(this.now() / 1000), granularity);
    const from = to - (n - 1) * size;
    const sums = new Map<string, { clientId: string; requests: number; denied: number; throttled: number }>();
    const periods: number[] = [];
    for (let start = from; start <= to; start += size) periods.push(start);
    for (const rows of await Promise.all(periods.map((start) => this.reader.top(granularity, start)))) {
      for (const row of rows) {
        const clientId = String(row[UsageAttr.period]);
        const sum = sums.get(clientId) ?? { clientId, requests: 0, denied: 0, throttled: 0 };
        sum.requests += count(row, UsageAttr.requests);
        sum.denied += count(row, UsageAttr.denied);
        sum.throttled += count(row, UsageAttr.throttled);
        sums.set(clientId, sum);
      }
    }
    const clients = [...sums.values()]
      .filter((c) => c[by] > 0)
      .sort((a, b) => b[by] - a[by] || a.clientId.localeCompare(b.clientId))
      .slice(0, input.limit ?? TOP_LIMIT_DEFAULT);
    return { by, window, from: iso(from), to: iso(to + size), clients };
  }
}

function pointOf(start: number, row: Record<string, unknown> | undefined, withNetworks: boolean): UsagePoint {
  const deniedBy: Partial<Record<DenialReason, number>> = {};
  for (const reason of DENIAL_REASONS) {
    const n = count(row, deniedAttribute(reason));
    if (n > 0) deniedBy[reason] = n;
  }
  const networks = row?.[UsageAttr.networks];
  return {
    start: iso(start),
    requests: count(row, UsageAttr.requests),
    allowed: count(row, UsageAttr.allowed),
    throttled: count(row, UsageAttr.throttled),
    serverErrors: count(row, UsageAttr.serverErrors),
    denied: count(row, UsageAttr.denied),
    deniedBy,
    ...(withNetworks && { networks: networks instanceof Set ? networks.size : 0 }),
  };
}

function totalsOf(points: readonly UsagePoint[]): UsageSeriesView['totals'] {
  const deniedBy: Partial<Record<DenialReason, number>> = {};
  for (const point of points)
    for (const [reason, n] of Object.entries(point.deniedBy)) deniedBy[reason as DenialReason] = (deniedBy[reason as DenialReason] ?? 0) + n;
  const sum = (field: 'requests' | 'allowed' | 'throttled' | 'serverErrors' | 'denied') => points.reduce((n, p) => n + p[field], 0);
  return {
    requests: sum('requests'),
    allowed: sum('allowed'),
    throttled: sum('throttled'),
    serverErrors: sum('serverErrors'),
    denied: sum('denied'),
    deniedBy,
  };
}
