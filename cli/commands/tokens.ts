/** `tollgate tokens revoke`, and `tollgate token`: an API key exchanged for an access token. */
import { Command, InvalidArgumentError } from 'commander';
import { InvalidTokenResponse, buildTokenRequest, parseTokenResponse } from '../../client/index';
import { assertResourceIndicator } from '../../client/token-endpoint';
import { UnexpectedResponse } from '../../client/api-errors';
import { ApiPath } from '../../common/gateway-contract';
import { action, CommandGroup, type CliDeps } from '../context';
import { DEFAULT_API_KEY_ENV, readApiKey } from '../secret-input';
import { addRevoke } from './revoke';

export function tokensCommand(deps: CliDeps): Command {
  const tokens = new CommandGroup('tokens').description('revoke access tokens');
  addRevoke(deps, tokens, {
    description: 'revoke one access token by its jti (idempotent)',
    argument: '<jti>',
    revoke: (api, jti) => api.revokeToken(jti),
    done: (jti) => `Revoked access token ${jti}.`,
  });
  return tokens;
}

export function tokenCommand(deps: CliDeps): Command {
  return new Command('token')
    .description('exchange an API key for an access token (printed on stdout)')
    .option('--api-key-env <VAR>', `environment variable holding the API key (default ${DEFAULT_API_KEY_ENV})`)
    .option('--api-key-stdin', 'read the API key from standard input')
    .option('--client-id <id>', 'authenticate with HTTP Basic as this client (default: the key as a bearer credential)')
    .option('--scope <scopes>', 'space-separated scopes to request (default: all of the key’s)')
    .option('--resource <url>', 'the service the token is for (RFC 8707): its URL or audience; required with several services', resourceIndicator)
    .addHelpText(
      'after',
      [
        '',
        'The key is never taken as an argument (shell history, ps). Examples:',
        '  TOLLGATE_API_KEY=tg_… npx tollgate token',
        '  npx tollgate token --api-key-stdin < key.txt',
        '  TOKEN=$(npx tollgate token --scope orders:read)',
        '  TOKEN=$(npx tollgate token --resource https://api.example.com/v1/billing)',
      ].join('\n'),
    )
    .action(
      action(deps, async (ctx, opts: { apiKeyEnv?: string; apiKeyStdin?: boolean; clientId?: string; scope?: string; resource?: string }) => {
        const apiKey = await readApiKey(opts, deps);
        const http = ctx.http(await ctx.connect());
        const request = buildTokenRequest({ apiKey, ...(opts.clientId === undefined ? {} : { clientId: opts.clientId }) }, opts.scope, opts.resource);
        const { body } = await http.send({ method: 'POST', path: ApiPath.token, raw: request });
        const grant = tokenGrant(body, http.url({ path: ApiPath.token }));
        // Only the token goes to stdout, so `TOKEN=$(npx tollgate token)` captures exactly it.
        ctx.print(body, () => {
          deps.stderr(`Access token expires in ${grant.expiresInSeconds} s; scope: ${grant.scope || '(none)'}\n`);
          return grant.accessToken;
        });
      }),
    );
}

/** Commander parser for `--resource`: refused before the API key is read or sent. */
export function resourceIndicator(value: string): string {
  try {
    assertResourceIndicator(value, '--resource');
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message.replace(/^--resource /, ''));
  }
  return value;
}

function tokenGrant(body: unknown, url: URL) {
  try {
    return parseTokenResponse(body);
  } catch (error) {
    if (error instanceof InvalidTokenResponse) throw new UnexpectedResponse(`${url.href}: ${error.message}`);
    throw error;
  }
}
