/** `tollgate limits`: a client's request rate, burst and quota (per-client throttling). */
import type { Command } from 'commander';
import type { SetLimitsInput } from '../../client/admin-api';
import { Defaults, Limits } from '../../common/defaults';
import type { QuotaPeriod } from '../../common/credential-items';
import { PERIODS_IN_WORDS, quotaPair, quotaPeriod, requestRate, wholeNumber } from '../arguments';
import { action, CommandGroup, type CliDeps } from '../context';
import { clientLimits } from '../format';

interface SetLimitsOptions {
  readonly rate: number;
  readonly burst: number;
  /** `false`: `--no-quota`. */
  readonly quota?: number | false;
  readonly period?: QuotaPeriod;
}

/** The body's `quota`: absent without quota flags, `null` for `--no-quota` (both mean "no quota" to the server). */
function quotaInput(opts: SetLimitsOptions): SetLimitsInput['quota'] {
  return quotaPair(
    { ...(typeof opts.quota === 'number' && { limit: opts.quota }), ...(opts.period !== undefined && { period: opts.period }), remove: opts.quota === false },
    { limit: '--quota', remove: '--no-quota' },
  );
}

export function limitsCommand(deps: CliDeps): Command {
  const limits = new CommandGroup('limits').description("show and set a client's request rate, burst and quota (per-client throttling)");

  limits
    .command('show')
    .description("show a client's limits, its usage plan and whether API Gateway applies them")
    .argument('<clientId>')
    .addHelpText('after', '\nExample:\n  npx tollgate limits show orders-service')
    .action(
      action(deps, async (ctx, clientId: string) => {
        const view = await (await ctx.admin()).getLimits(clientId);
        ctx.print(view, () => clientLimits(view));
      }),
    );

  limits
    .command('set')
    .description("set all of a client's limits (the client must have had a key)")
    .argument('<clientId>')
    .requiredOption('--rate <n>', 'requests per second, > 0 (fractions allowed, e.g. 0.5)', requestRate)
    .requiredOption('--burst <n>', 'token-bucket size: a whole number, at least the rate rounded up', wholeNumber)
    .option('--quota <n>', 'requests allowed per --period (needs --period)', wholeNumber)
    .option('--period <period>', `quota period, UTC: ${PERIODS_IN_WORDS} (needs --quota)`, quotaPeriod)
    .option('--no-quota', 'no quota: what leaving out --quota does too')
    .addHelpText(
      'after',
      [
        '',
        'Every call sets all of the client\'s limits. The API takes an absent quota as "no quota",',
        'so leaving out --quota removes a quota the client had (--no-quota says so explicitly).',
        `The defaults (${Defaults.rateLimit} requests/s, burst ${Defaults.burstLimit}, no quota) move the client back to the shared`,
        `default plan. The server checks the ranges: rate up to ${Limits.rateLimitMax}, burst 1-${Limits.burstLimitMax} and at least`,
        'the rate rounded up. When API Gateway cannot be updated the limits are still stored',
        '(usageKeyRegistered no, with usageError); running the command again retries.',
        '',
        'Examples:',
        '  npx tollgate limits set orders-service --rate 5 --burst 10 --quota 10000 --period DAY',
        '  npx tollgate limits set orders-service --rate 0.5 --burst 1',
        `  npx tollgate limits set orders-service --rate ${Defaults.rateLimit} --burst ${Defaults.burstLimit} --no-quota   # back to the defaults`,
      ].join('\n'),
    )
    .action(
      action(deps, async (ctx, clientId: string, opts: SetLimitsOptions) => {
        // Checked before anything is sent: a half-given quota must not become "no quota".
        const quota = quotaInput(opts);
        const view = await (await ctx.admin()).setLimits(clientId, {
          rateLimit: opts.rate,
          burstLimit: opts.burst,
          ...(quota === undefined ? {} : { quota }),
        });
        ctx.print(view, () => `Set the limits of client ${view.clientId}:\n\n${clientLimits(view)}`);
      }),
    );
  return limits;
}
