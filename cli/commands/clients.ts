/** `tollgate clients`: revoke a client, and grant it scopes per service. */
import type { Command } from 'commander';
import type { GrantsView } from '../../client/admin-api';
import { action, CommandGroup, type CliDeps } from '../context';
import { addRevoke } from './revoke';

function grantsText(view: GrantsView): string {
  if (view.grants === null) return `Client ${view.clientId} has no per-service grants: its keys' scopes decide.`;
  const lines = Object.entries(view.grants).map(
    ([service, scopes]) => `  ${service}: ${scopes.length ? scopes.join(' ') : '(none: the service is withdrawn)'}`,
  );
  return [`Client ${view.clientId}, scopes per service:`, ...lines].join('\n');
}

export function clientsCommand(deps: CliDeps): Command {
  const clients = new CommandGroup('clients').description('revoke clients, and grant them scopes per service');
  addRevoke(deps, clients, {
    description: 'revoke every API key and access token of a client',
    argument: '<clientId>',
    revoke: (api, clientId) => api.revokeClient(clientId),
    done: (clientId) => `Revoked client ${clientId}: every API key and access token it holds.`,
  });
  clients
    .command('grant')
    .description('set the scopes a client may hold on one service (docs/services.md); --scopes "" withdraws the service')
    .argument('<clientId>', 'the client')
    .requiredOption('--service <name>', 'the service, by name')
    .requiredOption('--scopes <a,b>', 'comma-separated scopes of that service', (value: string) =>
      value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .action(
      action(deps, async (ctx, clientId: string, opts: { service: string; scopes: string[] }) => {
        const view = await (await ctx.admin()).grant(clientId, opts.service, opts.scopes);
        ctx.print(view, () => grantsText(view));
      }),
    );
  clients
    .command('grants')
    .description("show a client's scopes per service")
    .argument('<clientId>', 'the client')
    .action(
      action(deps, async (ctx, clientId: string) => {
        const view = await (await ctx.admin()).getGrants(clientId);
        ctx.print(view, () => grantsText(view));
      }),
    );
  return clients;
}
