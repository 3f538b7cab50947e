/**
 * The leak-response commands: `scan` (find keys, optionally submit them for revocation) and
 * `scanner-rules` (rules for gitleaks, trufflehog and GitHub's partner program, generated from
 * the key format itself). Registered by `program.ts`.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { Command as CommandType } from 'commander';
import { isLeakResponse, LEAK_RESPONSES, LeakPath, type LeakResponse } from '../common/leaks';
import { apiKeyPrefixProblem, DEFAULT_API_KEY_PREFIX } from '../common/tokens';
import { CliError, ExitCode } from './errors';
import { action, type CliDeps, type Context } from './context';
import { RULE_FORMATS, scannerRules, type RuleFormat } from './scanner-rules';
import { renderScan, ScanIncomplete, scan, scanCommand, submitForRevocation, type ScanResult } from './scan-command';
import { redactKeys } from './scan-redact';

/** `scan` found keys: exit 1, after the findings were printed. */
export class KeysFound extends CliError {
  readonly exitCode = ExitCode.refused;
}

export function leakCommands(deps: CliDeps): CommandType[] {
  const scanning = scanCommand().action(
    action(deps, async (ctx, paths: string[], { revoke, prefix }: { revoke?: boolean; prefix?: string[] }) => {
      const { result, keys } = await scan(paths, {
        ...(prefix === undefined ? {} : { prefixes: prefix }),
        cwd: deps.cwd,
        stderr: deps.stderr,
        stdinIsPiped: deps.stdinIsPiped,
        stdinBytes: deps.stdinBytes,
      });
      if (revoke && keys.length > 0) {
        // The findings come first: what CI must learn is that a key was found, whatever the submission meets.
        if (!ctx.json) deps.stdout(`${renderScan(result, 'revoking')}\n`);
        const failure = await submit(ctx, keys);
        const outcome: ScanResult = { ...result, revokeSubmitted: failure === undefined };
        if (ctx.json) ctx.print(outcome, () => '');
        else if (failure === undefined) deps.stdout(`Submitted ${keys.length} key(s) for revocation.\n`);
        if (failure !== undefined)
          deps.stderr(redactKeys(`tollgate: --revoke: ${failure}; revoke them with npx tollgate keys revoke <keyId>, or run scan --revoke again\n`));
      } else {
        ctx.print(result, () => renderScan(result, 'advise'));
      }
      if (result.findings.length > 0) throw new KeysFound(`found ${result.findings.length} Tollgate API key(s)`);
      // Exit 0 means "no key in what you named": not true of a tree only partly read.
      if (result.unreadable) throw new ScanIncomplete(`${result.unreadable.length} file(s) or director(ies) could not be read (above): the scan is incomplete`);
    }),
  );

  const rules = new Command('scanner-rules')
    .description('print a rule that finds this deployment’s API keys, for gitleaks, trufflehog or GitHub’s partner program')
    .requiredOption('--format <format>', `one of ${RULE_FORMATS.join(', ')}`, ruleFormat)
    .option('--prefix <prefix>', `the deployment's apiKeyPrefix (default ${DEFAULT_API_KEY_PREFIX})`, prefixOption, DEFAULT_API_KEY_PREFIX)
    .option('--verify-url <url>', `trufflehog: where its verifier sends matches (default: the target API's ${LeakPath.revoke}, which revokes them)`)
    .option('--no-verify', 'trufflehog: detect only, no verify webhook')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  npx tollgate scanner-rules --format gitleaks --prefix acme_ >> .gitleaks.toml',
        '  npx tollgate scanner-rules --format trufflehog --prefix acme_ --verify-url https://api.example.com/v1/oauth/token > tollgate.yaml',
        '  npx tollgate scanner-rules --format github --prefix acme_',
      ].join('\n'),
    )
    .action(
      action(deps, async (ctx, { format, prefix, verifyUrl, verify }: { format: RuleFormat; prefix: string; verifyUrl?: string; verify: boolean }) => {
        const url = async (path: string) => ctx.http(await ctx.connect()).url({ path }).href;
        if (format === 'trufflehog') {
          const webhook = verify ? (verifyUrl ?? (await url(LeakPath.revoke))) : undefined;
          deps.stdout(scannerRules(format, { prefix, ...(webhook === undefined ? {} : { verifyUrl: webhook }) }));
        } else {
          deps.stdout(scannerRules(format, { prefix, ...(format === 'github' ? { alertUrl: await url(LeakPath.github) } : {}) }));
        }
      }),
    );
  const leakResponse = new Command('leak-response')
    .description('show or set what a leak report of one of a client’s live keys does: revoke it (default) or only notify')
    .argument('<clientId>', 'the client')
    .argument('[mode]', `${LEAK_RESPONSES.join(' or ')}; absent: show the current setting`, leakResponseMode)
    .addHelpText(
      'after',
      [
        '',
        'revoke: the key is revoked at once (a KeyLeaked event says so). notify: the key stays live and',
        'only the KeyLeaked event and the audit line report it, for a client that must not go down before',
        'someone has looked (it then rolls its key). Examples:',
        '  npx tollgate leak-response payment-terminals notify',
        '  npx tollgate leak-response payment-terminals',
      ].join('\n'),
    )
    .action(
      action(deps, async (ctx, clientId: string, mode: LeakResponse | undefined) => {
        const admin = await ctx.admin();
        const view = mode === undefined ? await admin.getLeakResponse(clientId) : await admin.setLeakResponse(clientId, mode);
        ctx.print(
          view,
          () => `Client ${view.clientId}: a leaked live key is ${view.leakResponse === 'revoke' ? 'revoked at once' : 'reported only (notify)'}.`,
        );
      }),
    );
  return [scanning, rules, leakResponse];
}

/** Submits `keys` for revocation; what went wrong, or undefined when the endpoint took them all. */
async function submit(ctx: Context, keys: readonly string[]): Promise<string | undefined> {
  try {
    await submitForRevocation(ctx.http(await ctx.connect()), keys);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function leakResponseMode(value: string): LeakResponse {
  if (!isLeakResponse(value)) throw new InvalidArgumentError(`must be ${LEAK_RESPONSES.join(' or ')}.`);
  return value;
}

function ruleFormat(value: string): RuleFormat {
  if (!(RULE_FORMATS as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${RULE_FORMATS.join(', ')}.`);
  return value as RuleFormat;
}

function prefixOption(value: string): string {
  const problem = apiKeyPrefixProblem(value);
  if (problem) throw new InvalidArgumentError(`${problem}.`);
  return value;
}
