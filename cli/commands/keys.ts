/** `tollgate keys`: create, list, show, roll, revoke and resume API keys. */
import type { Command } from 'commander';
import { Defaults } from '../../common/defaults';
import { jsonObject, scopeList, wholeNumber } from '../arguments';
import { action, CommandGroup, type CliDeps } from '../context';
import { UsageError } from '../errors';
import { issuedKey, keyRecord, keysTable } from '../format';
import { addRevoke } from './revoke';

export function keysCommand(deps: CliDeps): Command {
  const keys = new CommandGroup('keys').description('create, list, show, roll, revoke and resume API keys');

  keys
    .command('create')
    .description('create an API key for a client (the key is printed once)')
    .argument('<clientId>', 'the client the key belongs to (created on its first key)')
    .requiredOption('--scopes <list>', 'comma-separated scopes the key may request', scopeList)
    .option('--expires-in-days <n>', 'the key stops working after this many days (default: never)', wholeNumber)
    .option('--description <text>', 'free text shown in listings')
    .option('--metadata <json>', 'a JSON object of string/number/boolean values kept with the key', jsonObject)
    .addHelpText('after', '\nExample:\n  npx tollgate keys create orders-service --scopes orders:read,orders:write --expires-in-days 90')
    .action(
      action(
        deps,
        async (ctx, clientId: string, opts: { scopes: string[]; expiresInDays?: number; description?: string; metadata?: Record<string, unknown> }) => {
          const issued = await (await ctx.admin()).createKey(clientId, {
            scopes: opts.scopes,
            ...(opts.expiresInDays === undefined ? {} : { expiresInDays: opts.expiresInDays }),
            ...(opts.description === undefined ? {} : { description: opts.description }),
            ...(opts.metadata === undefined ? {} : { metadata: opts.metadata }),
          });
          ctx.print(issued, () => issuedKey(issued, `Created API key ${issued.key.keyId} for client ${issued.key.clientId}:`));
        },
      ),
    );

  keys
    .command('list')
    .description("list a client's API keys (records only, never the keys themselves)")
    .argument('<clientId>')
    .option('--limit <n>', 'keys per page', wholeNumber)
    .option('--next-token <token>', 'continue a previous listing')
    .option('--all', 'follow every page')
    .action(
      action(deps, async (ctx, clientId: string, opts: { limit?: number; nextToken?: string; all?: boolean }) => {
        if (opts.all && opts.nextToken !== undefined) throw new UsageError('use either --all or --next-token, not both');
        const api = await ctx.admin();
        const limit = opts.limit === undefined ? {} : { limit: opts.limit };
        const list = opts.all
          ? await api.listAllKeys(clientId, limit)
          : await api.listKeys(clientId, { ...limit, ...(opts.nextToken === undefined ? {} : { nextToken: opts.nextToken }) });
        ctx.print(list, () => {
          if (list.keys.length === 0) return `No API keys for client ${clientId}.`;
          const more = list.nextToken === undefined ? '' : `\n\nMore keys: add --next-token ${list.nextToken}, or use --all.`;
          return keysTable(list.keys) + more;
        });
      }),
    );

  keys
    .command('show')
    .description("show one API key's record")
    .argument('<keyId>', 'e.g. key_0123456789abcdef0123')
    .action(
      action(deps, async (ctx, keyId: string) => {
        const key = await (await ctx.admin()).getKey(keyId);
        ctx.print(key, () => keyRecord(key));
      }),
    );

  keys
    .command('roll')
    .description('replace a key with a new one (same client and scopes); the old one keeps working for a grace period')
    .argument('<keyId>')
    .option('--grace-seconds <n>', `how long the old key keeps working (default ${Defaults.rollGraceSeconds}; 0 stops it now)`, wholeNumber)
    .action(
      action(deps, async (ctx, keyId: string, opts: { graceSeconds?: number }) => {
        const issued = await (await ctx.admin()).rollKey(keyId, opts.graceSeconds === undefined ? {} : { graceSeconds: opts.graceSeconds });
        const grace = opts.graceSeconds ?? Defaults.rollGraceSeconds;
        ctx.print(issued, () => issuedKey(issued, `Rolled ${keyId} to ${issued.key.keyId}; ${keyId} keeps working for at most ${grace} s. New API key:`));
      }),
    );

  addRevoke(deps, keys, {
    description: 'revoke an API key and every access token it minted (idempotent)',
    argument: '<keyId>',
    revoke: (api, keyId) => api.revokeKey(keyId),
    done: (keyId) => `Revoked API key ${keyId} and every access token it minted.`,
  });
  return keys;
}
