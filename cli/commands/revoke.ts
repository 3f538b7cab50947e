import type { Command } from 'commander';
import type { AdminApi } from '../../client/admin-api';
import { action, type CliDeps } from '../context';

export interface RevokeSpec {
  readonly description: string;
  readonly argument: string;
  readonly revoke: (api: AdminApi, id: string) => Promise<void>;
  readonly done: (id: string) => string;
}

/** A `revoke <id>` subcommand: the server answers 204, so `--json` prints nothing. */
export function addRevoke(deps: CliDeps, parent: Command, spec: RevokeSpec): void {
  parent
    .command('revoke')
    .description(spec.description)
    .argument(spec.argument)
    .action(
      action(deps, async (ctx, id: string) => {
        await spec.revoke(await ctx.admin(), id);
        ctx.print(undefined, () => spec.done(id));
      }),
    );
}
