/** `tollgate signing-keys`: the signing-key ring's status, and a rotation on demand. */
import type { Command } from 'commander';
import { action, CommandGroup, type CliDeps } from '../context';
import { rotationReport, signingKeysTable } from '../format';

export function signingKeysCommand(deps: CliDeps): Command {
  const signingKeys = new CommandGroup('signing-keys').description('the signing-key ring');
  signingKeys
    .command('status')
    .description('show every key of the ring with its state and timestamps')
    .action(
      action(deps, async (ctx) => {
        const ring = await (await ctx.admin()).signingKeys();
        ctx.print(ring, () => signingKeysTable(ring.keys));
      }),
    );
  signingKeys
    .command('rotate')
    .description('start a rotation now (a new pending key; it becomes active once every verifier knows it)')
    .action(
      action(deps, async (ctx) => {
        const report = await (await ctx.admin()).rotateSigningKeys();
        ctx.print(report, () => rotationReport(report));
      }),
    );
  return signingKeys;
}
