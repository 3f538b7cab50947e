/**
 * `tollgate usage <clientId>` and `tollgate usage top` (docs/usage.md, docs/cli.md): the
 * admin API's usage reports as tables, one sparkline per row, or the server's JSON with
 * `--json`. The server checks every parameter and names a bad one (exit 1).
 */
import { Command, InvalidArgumentError } from 'commander';
import type { AnomalyList, KeyQuotaView, QuotaView, UsagePoint, UsageSeries, UsageTop } from '../client/admin-api';
import type { QuotaPeriod } from '../common/credential-items';
import { type CreditFlags, creditsInput, PERIODS_IN_WORDS, quotaPair, quotaPeriod, serverCheckedPeriod, wholeNumber } from './arguments';
import { action, type CliDeps } from './context';
import { isoTime, table } from './format';
import { UsageError } from './errors';

const BARS = '▁▂▃▄▅▆▇█';
/** A bucket without requests: unlike a blank, it keeps the columns of a table apart. */
const NONE = '·';
/** A sparkline is at most this wide; more points are summed into this many columns. */
export const SPARKLINE_WIDTH = 60;

/** Values as bars scaled to the largest, `·` for none; more than `width` values are summed into `width` columns. */
export function sparkline(values: readonly number[], width = SPARKLINE_WIDTH): string {
  const columns =
    values.length <= width
      ? [...values]
      : Array.from({ length: width }, (_, i) => sumOf(values.slice(Math.floor((i * values.length) / width), Math.floor(((i + 1) * values.length) / width))));
  const max = Math.max(0, ...columns);
  return columns.map((v) => (max === 0 || v === 0 ? NONE : BARS[Math.min(BARS.length - 1, Math.ceil((v / max) * BARS.length) - 1)])).join('');
}

function sumOf(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

const shortTime = (iso: string) => iso.replace(/:00\.000Z$/, 'Z').replace(/\.000Z$/, 'Z');

/** One row per outcome (and per denial reason): its total over the range and its trend. */
export function usageTable(view: UsageSeries): string {
  const subject = view.keyId !== undefined ? ` key ${view.keyId}` : view.route !== undefined ? ` route ${view.route}` : '';
  const head = `Usage of ${view.clientId}${subject} per ${view.granularity}, ${shortTime(view.from)} to ${shortTime(view.to)} (${view.points.length} points)`;
  const row = (name: string, pick: (p: UsagePoint) => number | undefined, total: number) => [
    name,
    String(total),
    sparkline(view.points.map((p) => pick(p) ?? 0)),
  ];
  const rows = [
    row('requests', (p) => p.requests, view.totals.requests),
    row('allowed', (p) => p.allowed, view.totals.allowed),
    row('denied', (p) => p.denied, view.totals.denied),
    ...Object.entries(view.totals.deniedBy).map(([reason, n]) => row(`  ${reason}`, (p) => p.deniedBy[reason], n)),
    row('throttled', (p) => p.throttled, view.totals.throttled),
    row('5xx', (p) => p.serverErrors, view.totals.serverErrors),
  ];
  if (view.points.some((p) => p.networks !== undefined)) {
    rows.push(['networks (max)', String(Math.max(0, ...view.points.map((p) => p.networks ?? 0))), sparkline(view.points.map((p) => p.networks ?? 0))]);
  }
  return `${head}\n${table(['OUTCOME', 'TOTAL', 'TREND'], rows)}`;
}

export function topTable(view: UsageTop): string {
  const head = `Top clients by ${view.by}, ${shortTime(view.from)} to ${shortTime(view.to)} (${view.window})`;
  if (view.clients.length === 0) return `${head}\nNo client has ${view.by} in this window.`;
  return `${head}\n${table(
    ['CLIENT', 'REQUESTS', 'DENIED', 'THROTTLED'],
    view.clients.map((c) => [c.clientId, String(c.requests), String(c.denied), String(c.throttled)]),
  )}`;
}

function positiveWhole(value: string): number {
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a whole number from 1.');
  return Number(value);
}

export function usageCommand(deps: CliDeps): Command {
  const usage = new Command('usage')
    .description("show a client's metered requests over time, or the busiest clients (`usage top`)")
    .argument('<clientId>')
    .option('--from <time>', 'start: ISO 8601 with a zone, or epoch seconds (default: 59 buckets before --to)')
    .option('--to <time>', 'end, inclusive (default: now)')
    .option('--granularity <g>', 'minute, hour or day (default minute)')
    .option('--key <keyId>', "only this API key's requests")
    .option('--route <route>', 'only this route, as reported: "GET /orders/{proxy+}" or "unmatched"')
    .addHelpText(
      'after',
      '\nExamples:\n  npx tollgate usage orders-service\n  npx tollgate usage orders-service --granularity hour --from 2026-12-01T00:00:00Z',
    )
    .action(
      action(deps, async (ctx, clientId: string, opts: { from?: string; to?: string; granularity?: string; key?: string; route?: string }) => {
        const view = await (await ctx.admin()).usage(clientId, {
          ...(opts.from !== undefined && { from: opts.from }),
          ...(opts.to !== undefined && { to: opts.to }),
          ...(opts.granularity !== undefined && { granularity: opts.granularity }),
          ...(opts.key !== undefined && { keyId: opts.key }),
          ...(opts.route !== undefined && { route: opts.route }),
        });
        ctx.print(view, () => usageTable(view));
      }),
    );
  addLimits(deps, usage);
  usage
    .command('top')
    .description('the busiest clients of a recent window')
    .option('--by <measure>', 'requests, denied or throttled (default requests)')
    .option('--window <w>', 'hours (1h-48h) or days (1d-90d), ending now (default 24h)')
    .option('--limit <n>', 'how many clients (default 10, at most 100)', positiveWhole)
    .action(
      action(deps, async (ctx, opts: { by?: string; window?: string; limit?: number }) => {
        const view = await (await ctx.admin()).usageTop({
          ...(opts.by !== undefined && { by: opts.by }),
          ...(opts.window !== undefined && { window: opts.window }),
          ...(opts.limit !== undefined && { limit: opts.limit }),
        });
        ctx.print(view, () => topTable(view));
      }),
    );
  return usage;
}

export function anomaliesTable(list: AnomalyList): string {
  if (list.anomalies.length === 0) return 'No anomaly flagged in this window.';
  return table(
    ['MINUTE', 'CLIENT', 'RULE', 'BASELINE', 'OBSERVED', 'RESPONSE'],
    list.anomalies.map((a) => [
      isoTime(a.minute),
      a.clientId,
      a.keyId === undefined ? a.rule : `${a.rule} (${a.keyId})`,
      String(a.baseline),
      String(a.observed),
      a.suspendedUntil ? `suspended until ${isoTime(a.suspendedUntil)}` : a.response,
    ]),
  );
}

/** What `clients resume` and `keys resume` say of `subject` (a client or key id) after the call. */
export function resumed(subject: string, view: { readonly suspendedUntil?: number | undefined }): string {
  return view.suspendedUntil === undefined
    ? `${subject} is not suspended; its tokens are served (within the revocation bound).`
    : `${subject} is still suspended until ${isoTime(view.suspendedUntil)}.`;
}

/** An API key's own metered quota, what is left of it, and its own suspension. */
export function keyQuotaView(view: KeyQuotaView): string {
  const rows: [string, string][] = [
    ['key', view.keyId],
    ['client', view.clientId],
    ['quota', view.quota ? `${view.quota.limit} per ${view.quota.period}` : 'none'],
  ];
  if (view.period) rows.push(periodRow(view.period));
  return table(['FIELD', 'VALUE'], [...rows, ...standingRows(view)]);
}

/** What a quota period has used and left. */
function periodRow(period: NonNullable<KeyQuotaView['period']>): [string, string] {
  return ['this period', `${period.used} used, ${period.remaining} left, until ${isoTime(period.end)}`];
}

/** A client's or a key's waiver (while a resume waives the period) and suspension. */
function standingRows(view: Pick<KeyQuotaView, 'quotaWaivedUntil' | 'suspendedUntil'>): [string, string][] {
  return [
    ...(view.quotaWaivedUntil === undefined ? [] : [['waived', `until ${isoTime(view.quotaWaivedUntil)} (resumed)`] as [string, string]]),
    ['suspended', view.suspendedUntil === undefined ? 'no' : `until ${isoTime(view.suspendedUntil)}`],
  ];
}

/** `keys resume <keyId>`, added to the program's `keys` group: lifts a key's own suspension (its per-key quota). */
export function addKeyResume(deps: CliDeps, keys: Command): void {
  keys
    .command('resume')
    .description("lift the key's own suspension (its per-key quota) now; a key that is not suspended is left as it is")
    .argument('<keyId>')
    .action(
      action(deps, async (ctx, keyId: string) => {
        const view = await (await ctx.admin()).resumeKey(keyId);
        ctx.print(view, () => resumed(view.keyId, view));
      }),
    );
}

/** A client's metered quota and credits, what is left of them, and its suspension. */
export function quotaView(view: QuotaView): string {
  const rows: [string, string][] = [['client', view.clientId]];
  if (view.quota) rows.push(['quota', `${view.quota.limit} per ${view.quota.period}`]);
  if (view.period) rows.push(periodRow(view.period));
  if (view.credits)
    rows.push([
      'credits',
      `${view.credits.remaining} left of ${view.credits.granted} (${view.credits.used} used), +${view.credits.refill} per ${view.credits.period} from ${isoTime(view.credits.nextRefill)}`,
    ]);
  if (!view.quota && !view.credits) rows.push(['quota', 'none']);
  return table(['FIELD', 'VALUE'], [...rows, ...standingRows(view)]);
}

/** `usage quota <clientId>` (or `usage quota --key <keyId>`) and `usage credits <clientId>`, added to `usage`. */
function addLimits(deps: CliDeps, usage: Command): void {
  usage
    .command('quota')
    .description("show a client's (or with --key one API key's) metered quota, or set it (--limit and --period) or remove it (--remove)")
    .argument('[clientId]', 'the client; omit it with --key')
    .option('--key <keyId>', "one API key's own quota instead of the client's (key_…)")
    .option('--limit <n>', 'requests per period (needs --period)', wholeNumber)
    .option('--period <period>', `quota period, UTC: ${PERIODS_IN_WORDS} (needs --limit)`, serverCheckedPeriod)
    .option('--remove', 'remove the metered quota')
    .action(
      action(deps, async (ctx, clientId: string | undefined, options: { key?: string; limit?: number; period?: QuotaPeriod; remove?: boolean }) => {
        // `usage` has a --key of its own (a filter), and Commander hands an option to the first command that knows it.
        // .enablePositionalOptions() would fix that only on the program, where it would also refuse the program's
        // own options (--url, --json…) after a subcommand; on `usage` alone it does not change what `usage` parses.
        const opts = { ...options, key: options.key ?? usage.opts<{ key?: string }>().key };
        if ((clientId === undefined) === (opts.key === undefined)) throw new UsageError('give either a client id or --key <keyId>, not both or neither.');
        // Checked before anything is sent: a half-given quota must not reach the server.
        const quota = quotaPair(opts, { limit: '--limit', remove: '--remove' });
        const api = await ctx.admin();
        if (opts.key !== undefined) {
          const view = quota === undefined ? await api.getKeyQuota(opts.key) : await api.setKeyQuota(opts.key, quota);
          ctx.print(view, () => keyQuotaView(view));
          return;
        }
        const view = quota === undefined ? await api.getQuota(clientId!) : await api.setQuota(clientId!, quota);
        ctx.print(view, () => quotaView(view));
      }),
    );
  usage
    .command('credits')
    .description("set a client's credits: --remaining N [--refill M --period P], or --remove")
    .argument('<clientId>')
    .option('--remaining <n>', 'requests it may make from now', wholeNumber)
    .option('--refill <n>', 'added at the start of every period (default 0)', wholeNumber)
    .option('--period <period>', `refill period, UTC: ${PERIODS_IN_WORDS} (default MONTH)`, quotaPeriod)
    .option('--remove', 'remove the credits')
    .action(
      action(deps, async (ctx, clientId: string, opts: CreditFlags) => {
        const credits = creditsInput(opts);
        const view = await (await ctx.admin()).setCredits(clientId, credits);
        ctx.print(view, () => quotaView(view));
      }),
    );
}

export function anomaliesCommand(deps: CliDeps): Command {
  return new Command('anomalies')
    .description('list recent usage anomalies (docs/usage.md): rule, baseline, observed, response')
    .option('--days <n>', 'how many UTC days back, today included (default 1, at most 30)', positiveWhole)
    .option('--client <clientId>', 'only this client')
    .action(
      action(deps, async (ctx, opts: { days?: number; client?: string }) => {
        const list = await (await ctx.admin()).anomalies({
          ...(opts.days !== undefined && { days: opts.days }),
          ...(opts.client !== undefined && { clientId: opts.client }),
        });
        ctx.print(list, () => anomaliesTable(list));
      }),
    );
}

/** `clients resume <clientId>` and `clients anomaly-policy <clientId> <policy>`, added to the program's `clients` group. */
export function addResume(deps: CliDeps, clients: Command): void {
  clients
    .command('anomaly-policy')
    .description('what a usage anomaly of the client does: notify, suspend (an hour) or revoke (the keys it used)')
    .argument('<clientId>')
    .argument('<policy>', 'notify, suspend or revoke')
    .action(
      action(deps, async (ctx, clientId: string, policy: string) => {
        const result = await (await ctx.admin()).setAnomalyPolicy(clientId, policy);
        ctx.print(
          result,
          () =>
            `Anomalies of ${result.clientId} now ${result.policy === 'notify' ? 'notify only' : result.policy === 'suspend' ? 'suspend it for an hour' : 'revoke the keys it used'}.`,
        );
      }),
    );
  clients
    .command('resume')
    .description('lift a suspension (quota or anomaly) now; a client that is not suspended is left as it is')
    .argument('<clientId>')
    .action(
      action(deps, async (ctx, clientId: string) => {
        const view = await (await ctx.admin()).resumeClient(clientId);
        ctx.print(view, () => resumed(view.clientId, view));
      }),
    );
}
