/**
 * Human-readable output: aligned tables, ISO 8601 times. (`--json` bypasses all of this
 * and prints the server's JSON.) Only {@link issuedKey} ever renders a secret.
 */
import type { ApiKeyRecord, ClientLimitsView, IssuedKey, RotationReport, SigningKey } from '../client/admin-api';

const NONE = '-';

/** Epoch seconds, or an ISO 8601 string, → ISO 8601 without a zero fraction (the API has whole seconds). */
export function isoTime(value: number | string | undefined): string {
  if (value === undefined) return NONE;
  const text = typeof value === 'string' ? value : new Date(value * 1000).toISOString();
  return text.replace(/\.000Z$/, 'Z');
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** A two-column "field  value" block for one record. */
export function fields(entries: readonly (readonly [string, string | undefined])[]): string {
  const present = entries.filter((entry): entry is readonly [string, string] => entry[1] !== undefined);
  return table(
    ['FIELD', 'VALUE'],
    present.map(([name, value]) => [name, value]),
  );
}

export function keysTable(keys: readonly ApiKeyRecord[]): string {
  return table(
    ['KEY ID', 'STATUS', 'SCOPES', 'CREATED', 'EXPIRES', 'LAST USED', 'DESCRIPTION'],
    keys.map((key) => [
      key.keyId,
      key.status,
      key.scopes.join(','),
      isoTime(key.createdAt),
      isoTime(key.expiresAt),
      isoTime(key.lastUsedAt),
      key.description ?? NONE,
    ]),
  );
}

export function keyRecord(key: ApiKeyRecord): string {
  return fields([
    ['keyId', key.keyId],
    ['clientId', key.clientId],
    ['status', key.status],
    ['scopes', key.scopes.join(' ')],
    ['description', key.description],
    ['metadata', key.metadata === undefined ? undefined : JSON.stringify(key.metadata)],
    ['createdAt', isoTime(key.createdAt)],
    ['expiresAt', key.expiresAt === undefined ? 'never' : isoTime(key.expiresAt)],
    ['lastUsedAt', optionalTime(key.lastUsedAt)],
    ['revokedAt', optionalTime(key.revokedAt)],
    ['rolledFrom', key.rolledFrom],
    ['rolledTo', key.rolledTo],
  ]);
}

/** The only output that shows an API key: once, with the warning that it cannot be shown again. */
export function issuedKey(issued: IssuedKey, headline: string): string {
  return [
    `${headline}`,
    '',
    `  ${issued.apiKey}`,
    '',
    'Store it now: it will not be shown again (Tollgate keeps only its SHA-256).',
    '',
    keyRecord(issued.key),
  ].join('\n');
}

/** A client's limits; when API Gateway does not apply them (yet), a closing line says so. */
export function clientLimits(view: ClientLimitsView): string {
  const { limits } = view;
  const record = fields([
    ['clientId', view.clientId],
    ['rateLimit', `${limits.rateLimit} requests/s`],
    ['burstLimit', String(limits.burstLimit)],
    ['quota', limits.quota === undefined ? 'none' : `${limits.quota.limit} requests per ${limits.quota.period} (UTC)`],
    ['plan', view.plan],
    ['usageKeyRegistered', view.usageKeyRegistered ? 'yes' : 'no'],
    ['usageError', view.usageError],
  ]);
  if (view.usageKeyRegistered) return record;
  return `${record}\n\nAPI Gateway does not apply exactly these limits to ${view.clientId} yet; \`tollgate limits set\` again retries the registration.`;
}

export function signingKeysTable(keys: readonly SigningKey[]): string {
  if (keys.length === 0) return 'The signing-key ring is empty (the rotation schedule creates the first key).';
  return table(
    ['KID', 'STATE', 'ALG', 'CREATED', 'ACTIVATES', 'ACTIVATED', 'RETIRING', 'VERIFIES UNTIL', 'RETIRED', 'COMPROMISED'],
    keys.map((key) => [
      key.kid,
      key.state,
      key.alg ?? NONE,
      isoTime(key.createdAt),
      isoTime(key.activateAt),
      isoTime(key.activatedAt),
      isoTime(key.retiringAt),
      isoTime(key.verifyUntil),
      isoTime(key.retiredAt),
      isoTime(key.compromisedAt),
    ]),
  );
}

export function rotationReport(report: RotationReport): string {
  const sections = [`Ran rotation action "${report.action ?? 'rotate'}".`];
  if (report.ring) sections.push(signingKeysTable(report.ring.keys));
  const changes = report.changes ?? [];
  sections.push(changes.length === 0 ? 'Changes: none.' : ['Changes:', ...changes.map((change) => `  ${describeChange(change)}`)].join('\n'));
  if (report.next) sections.push(`Next: ${report.next.action}${report.next.kid ? ` ${report.next.kid}` : ''} at ${isoTime(report.next.at)}`);
  const problems = report.problems ?? [];
  if (problems.length > 0) sections.push(['Problems (the next run retries):', ...problems.map((problem) => `  ${problem}`)].join('\n'));
  return sections.join('\n\n');
}

/** One line per change of the rotation report; unknown shapes print as JSON rather than vanish. */
function describeChange(change: unknown): string {
  const record = (typeof change === 'object' && change !== null ? change : {}) as Record<string, unknown>;
  const text = (name: string) => (typeof record[name] === 'string' ? (record[name] as string) : undefined);
  const reason = text('reason') === undefined ? '' : ` (${text('reason')})`;
  if (record.kind === 'state' && text('kid') && text('to')) return `${text('kid')}: ${text('from') ?? 'new'} → ${text('to')}${reason}`;
  if (typeof record.kind === 'string') return `${record.kind}${text('kid') ? ` ${text('kid')}` : ''}${reason}`;
  return JSON.stringify(change);
}

function optionalTime(value: number | undefined): string | undefined {
  return value === undefined ? undefined : isoTime(value);
}
