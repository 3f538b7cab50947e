/**
 * Usage metering (docs/usage.md): access-log lines in, per-client counts per minute out.
 *
 * The gateway's access log is the one record of every request, those decided from API
 * Gateway's authorizer cache included (they never reach the authorizer, so counting there
 * would miss most of them). The deployed stage and the local gateway write the same line
 * (`common/access-log.ts`), so one aggregator serves both. Pure: no clock, no I/O; a batch
 * of lines becomes one {@link MeteredBatch}, which a {@link UsageSink} applies atomically
 * and idempotently per batch.
 */
import { ACCESS_LOG_CLIENT_TEXT, ACCESS_LOG_FIELDS, ACCESS_LOG_NO_VALUE, type AccessLogFieldName } from '../../../common/access-log';
import { CLIENT_ID_PATTERN } from '../../../common/setting-checks';
import type { RouteRule } from '../../../common/gateway-contract';
import { RoutePolicy } from '../authorizer/route-policy';
import { DENIAL_REASONS, USAGE_NETWORKS_MAX, bucketStart, type DenialReason } from '../../../common/usage';

/** The fields of an access-log line the meter reads. */
export interface AccessRecord {
  readonly epochMs: number;
  readonly method: string;
  readonly path: string;
  readonly resourcePath: string;
  readonly status: number;
  /** API Gateway's gateway-response type when it answered itself; undefined when the integration did. */
  readonly errorType: string | undefined;
  readonly clientId: string | undefined;
  readonly keyId: string | undefined;
  readonly sourceIp: string | undefined;
  /** `$context.authorizer.refusal`: names a suspension's refusal on an ACCESS_DENIED. */
  readonly refusal: string | undefined;
}

type RawLine = Partial<Record<AccessLogFieldName, unknown>>;

const value = (raw: unknown): string | undefined => (typeof raw === 'string' && raw !== '' && raw !== ACCESS_LOG_NO_VALUE ? raw : undefined);

/** Where the client-chosen text starts: the line's last member (`common/access-log.ts`). */
const CLIENT_TEXT_MEMBER = `,"${ACCESS_LOG_CLIENT_TEXT}":"`;
const LINE_END = '"}';
/** The members before it, in the order API Gateway writes them. */
const TRUSTED_FIELDS = Object.keys(ACCESS_LOG_FIELDS).filter((name) => name !== ACCESS_LOG_CLIENT_TEXT);

/**
 * One access-log line, or undefined for anything else the log group holds (the local
 * gateway's `gateway_failure` lines, a truncated line, a line of another format): every
 * access-log line has a numeric `requestTimeEpoch` and `status`, which API Gateway renders
 * for every request.
 *
 * API Gateway does not escape what it substitutes, and the path is the client's text, so a
 * path holding `","clientId":"victim` would add a second `clientId` to the line, which
 * `JSON.parse` keeps. The path is the line's last member: every field the meter counts by is
 * parsed from the text before it, which must hold exactly the format's other members, each
 * once, and nothing else; the path is taken from what follows (see {@link pathText}).
 */
export function parseAccessLogLine(line: string): AccessRecord | undefined {
  const cut = line.indexOf(CLIENT_TEXT_MEMBER);
  if (cut < 0 || !line.endsWith(LINE_END)) return undefined;
  const raw = trustedMembers(line.slice(0, cut));
  if (raw === undefined) return undefined;
  const { requestTimeEpoch, status } = raw;
  if (typeof requestTimeEpoch !== 'number' || !Number.isFinite(requestTimeEpoch) || typeof status !== 'number' || !Number.isInteger(status)) return undefined;
  const clientId = value(raw.clientId);
  return {
    epochMs: requestTimeEpoch,
    method: value(raw.httpMethod) ?? ACCESS_LOG_NO_VALUE,
    path: value(pathText(line.slice(cut + CLIENT_TEXT_MEMBER.length, line.length - LINE_END.length))) ?? ACCESS_LOG_NO_VALUE,
    resourcePath: value(raw.resourcePath) ?? ACCESS_LOG_NO_VALUE,
    status,
    errorType: value(raw.errorType),
    // Only a client id the issuer could have minted is a series key (it also keeps `|` out of them).
    clientId: clientId !== undefined && CLIENT_ID_PATTERN.test(clientId) ? clientId : undefined,
    keyId: value(raw.keyId),
    sourceIp: value(raw.sourceIp),
    refusal: value(raw.refusal),
  };
}

/**
 * The line's members before the path, or undefined unless they are exactly
 * {@link TRUSTED_FIELDS} in order, each once. `JSON.parse` keeps the last of two equal keys,
 * so a repeated key is found by counting: each member has one `":` between its name and its
 * value, and none of these values can hold a `"`.
 */
function trustedMembers(head: string): RawLine | undefined {
  // Text that parses and ends in `}` is an object.
  let raw: object;
  try {
    raw = JSON.parse(`${head}}`) as object;
  } catch {
    return undefined;
  }
  const names = Object.keys(raw);
  if (names.length !== TRUSTED_FIELDS.length || names.some((name, i) => name !== TRUSTED_FIELDS[i])) return undefined;
  let separators = 0;
  for (let at = head.indexOf('":'); at !== -1; at = head.indexOf('":', at + 2)) separators += 1;
  return separators === TRUSTED_FIELDS.length ? (raw as RawLine) : undefined;
}

/**
 * The path as the line holds it: JSON-unescaped where it is a valid JSON string's body (the
 * local gateway's lines, and API Gateway's should it escape), else as written. Either way it
 * only labels the request's route; who made the request comes from the fields before it.
 */
function pathText(written: string): string {
  if (!written.includes('\\')) return written;
  try {
    return JSON.parse(`"${written}"`) as string;
  } catch {
    return written;
  }
}

export type Outcome = { readonly kind: 'allowed' | 'throttled' | 'serverError' } | { readonly kind: 'denied'; readonly reason: DenialReason };

const ALLOWED: Outcome = { kind: 'allowed' };
const THROTTLED: Outcome = { kind: 'throttled' };
const SERVER_ERROR: Outcome = { kind: 'serverError' };
const DENIED = new Map<string, Outcome>(DENIAL_REASONS.map((reason) => [reason, { kind: 'denied', reason }]));

/**
 * Exactly one outcome per request: any 5xx (the gateway's or the upstream's) is a server
 * error; API Gateway's THROTTLED response is throttling; any other response the gateway made
 * itself is a denial under its type; the rest the upstream answered, which is an allowed request.
 */
export function classify(record: AccessRecord): Outcome {
  if (record.status >= 500) return SERVER_ERROR;
  const type = record.errorType;
  if (type === undefined) return ALLOWED;
  if (type === 'THROTTLED') return THROTTLED;
  // A suspended client's Deny is an ACCESS_DENIED whose context names the suspension.
  if (type === 'ACCESS_DENIED' && (record.refusal === 'quota_exceeded' || record.refusal === 'suspended')) return DENIED.get(record.refusal)!;
  return DENIED.get(type.toLowerCase()) ?? DENIED.get('other')!;
}

/**
 * The source network of an address: its /24 for IPv4, its /48 for IPv6 (the usual
 * allocation to one site), so addresses rotating within one network count once.
 */
export function sourceNetwork(ip: string | undefined): string | undefined {
  if (ip === undefined) return undefined;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) return v4.slice(1).every((octet) => Number(octet) <= 255) ? `${Number(v4[1])}.${Number(v4[2])}.${Number(v4[3])}.0/24` : undefined;
  const groups = ipv6Groups(ip);
  if (groups === undefined) return undefined;
  // An IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 client it maps.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.0/24`;
  }
  return `${groups
    .slice(0, 3)
    .map((g) => g.toString(16))
    .join(':')}::/48`;
}

/**
 * The wide network of a source network ({@link sourceNetwork}): the /16 of an IPv4 /24, the
 * /32 of an IPv6 /48. Two requests from different wide networks come from different
 * operators' address blocks far more often than from one site's NAT pool, which stays
 * within one /16 (RIRs allocate IPv4 to providers in blocks of /22 to /8, and a /32 is the
 * usual minimum IPv6 allocation to a provider, RFC 6177): the access log has no location,
 * so this is the distance the meter can see.
 */
export function wideNetwork(network: string): string {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.0\/24$/.exec(network);
  if (v4) return `${v4[1]}.${v4[2]}.0.0/16`;
  const v6 = /^([0-9a-f]{1,4}):([0-9a-f]{1,4}):[0-9a-f]{1,4}::\/48$/.exec(network);
  if (v6) return `${v6[1]}:${v6[2]}::/32`;
  return network;
}

/** One entry of a client-minute's `keyNetworks`: key ids and networks hold no space. */
export function keyNetwork(keyId: string, wide: string): string {
  return `${keyId} ${wide}`;
}

export function parseKeyNetwork(entry: string): { readonly keyId: string; readonly network: string } | undefined {
  const space = entry.indexOf(' ');
  return space > 0 && space < entry.length - 1 ? { keyId: entry.slice(0, space), network: entry.slice(space + 1) } : undefined;
}

function ipv6Groups(ip: string): number[] | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(ip) || ip.split('::').length > 2) return undefined;
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const parse = (part: string | undefined): number[] | undefined => {
    if (part === undefined || part === '') return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      const dotted = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(group);
      if (dotted) {
        const b = dotted.slice(1).map(Number);
        if (b.some((x) => x > 255)) return undefined;
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(group)) {
        out.push(parseInt(group, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const left = parse(head);
  const right = parse(tail);
  if (!left || !right) return undefined;
  if (tail === undefined) return left.length === 8 ? left : undefined;
  const missing = 8 - left.length - right.length;
  return missing >= 1 ? [...left, ...new Array<number>(missing).fill(0), ...right] : undefined;
}

/** The route label of a request no route rule names. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Names a request by the route rule it falls under (`GET /orders/{proxy+}`), so the route
 * dimension has as many values as there are rules, whatever the paths requested. The rule
 * is found as the authorizer matches rules (`RoutePolicy`: segments decoded and case-folded,
 * HEAD under GET rules, ambiguous paths under none). Tollgate's own routes (token, admin,
 * JWKS) keep the gateway's resource path.
 */
export class RouteLabeler {
  private readonly policy: RoutePolicy;
  private readonly labels: readonly string[];

  constructor(rules: readonly RouteRule[]) {
    this.policy = new RoutePolicy(rules, 'deny');
    this.labels = rules.map((rule) => `${rule.method} ${rule.path}`);
  }

  label(record: Pick<AccessRecord, 'method' | 'path' | 'resourcePath'>): string {
    if (record.resourcePath !== ACCESS_LOG_NO_VALUE && record.resourcePath !== '/' && record.resourcePath !== '/{proxy+}') {
      return `${record.method} ${record.resourcePath}`;
    }
    return this.labels[this.policy.ruleIndex(record.method, record.path)] ?? UNMATCHED_ROUTE;
  }
}

export interface Counts {
  requests: number;
  allowed: number;
  throttled: number;
  serverErrors: number;
  /** Every denial; {@link deniedBy} splits it by reason. */
  denied: number;
  deniedBy: Partial<Record<DenialReason, number>>;
}

export function emptyCounts(): Counts {
  return { requests: 0, allowed: 0, throttled: 0, serverErrors: 0, denied: 0, deniedBy: {} };
}

export function addOutcome(counts: Counts, outcome: Outcome, n = 1): void {
  counts.requests += n;
  if (outcome.kind === 'denied') {
    counts.denied += n;
    counts.deniedBy[outcome.reason] = (counts.deniedBy[outcome.reason] ?? 0) + n;
  } else {
    counts[outcome.kind === 'allowed' ? 'allowed' : outcome.kind === 'throttled' ? 'throttled' : 'serverErrors'] += n;
  }
}

/** One client's requests in one minute of a batch. */
export interface ClientMinute {
  readonly clientId: string;
  /** Start of the minute, epoch seconds. */
  readonly minute: number;
  readonly total: Counts;
  readonly keys: Map<string, Counts>;
  readonly routes: Map<string, Counts>;
  /** Distinct source networks, at most {@link USAGE_NETWORKS_MAX}. */
  readonly networks: Set<string>;
  /** Distinct `<keyId> <wide network>` pairs ({@link wideNetwork}), at most {@link USAGE_NETWORKS_MAX}. */
  readonly keyNetworks: Set<string>;
}

export interface MeteredBatch {
  readonly minutes: readonly ClientMinute[];
  /** Access-log lines read. */
  readonly lines: number;
  /** Lines without a client (refused before a token was verified, Tollgate's own routes). */
  readonly unattributed: number;
  /** Lines that were not access-log lines. */
  readonly ignored: number;
}

/** Aggregates one batch of lines; lines may come in any order and span any minutes. */
export function meterLines(lines: Iterable<string>, routes: RouteLabeler): MeteredBatch {
  const minutes = new Map<string, ClientMinute>();
  let read = 0;
  let unattributed = 0;
  let ignored = 0;
  for (const line of lines) {
    const record = parseAccessLogLine(line);
    if (record === undefined) {
      ignored += 1;
      continue;
    }
    read += 1;
    if (record.clientId === undefined) {
      unattributed += 1;
      continue;
    }
    const minute = bucketStart(Math.floor(record.epochMs / 1000), 'minute');
    const id = `${record.clientId}|${minute}`;
    let entry = minutes.get(id);
    if (entry === undefined) {
      entry = { clientId: record.clientId, minute, total: emptyCounts(), keys: new Map(), routes: new Map(), networks: new Set(), keyNetworks: new Set() };
      minutes.set(id, entry);
    }
    const outcome = classify(record);
    addOutcome(entry.total, outcome);
    if (record.keyId !== undefined) addOutcome(countsOf(entry.keys, record.keyId), outcome);
    addOutcome(countsOf(entry.routes, routes.label(record)), outcome);
    const network = sourceNetwork(record.sourceIp);
    if (network !== undefined && entry.networks.size < USAGE_NETWORKS_MAX) entry.networks.add(network);
    if (network !== undefined && record.keyId !== undefined && entry.keyNetworks.size < USAGE_NETWORKS_MAX)
      entry.keyNetworks.add(keyNetwork(record.keyId, wideNetwork(network)));
  }
  return { minutes: [...minutes.values()], lines: read, unattributed, ignored };
}

function countsOf(map: Map<string, Counts>, key: string): Counts {
  let counts = map.get(key);
  if (counts === undefined) {
    counts = emptyCounts();
    map.set(key, counts);
  }
  return counts;
}

/** What applying a batch did. */
export interface ApplyResult {
  /** Client-minutes whose counts were added by this call. */
  readonly applied: number;
  /** Client-minutes this batch had already added (a redelivery): left as they were. */
  readonly duplicates: number;
}

/** Where metered batches go (the usage table). */
export interface UsageSink {
  /**
   * Adds a batch's counts. Applying the same `batchId` again changes nothing, even after a
   * failure part-way: each client-minute is one atomic write holding its own marker. The
   * allowed requests of `creditClients` are also added to their client records' `creditsUsed`
   * in the same write, so credits are counted exactly once too.
   */
  apply(batchId: string, batch: MeteredBatch, creditClients?: ReadonlySet<string>): Promise<ApplyResult>;
}
