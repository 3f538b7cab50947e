/** Commands outside cli/commands/ parse option values with cli/arguments.ts, as those do. */
import { expect, it } from 'vitest';
import { tollgate } from './harness';

it.each([
  [['smoke', '--scopes', ' , '], "option '--scopes <list>' argument ' , ' is invalid. name at least one scope, e.g. --scopes orders:read,orders:write."],
  [['usage', 'credits', 'orders-service', '--remaining', '1e3'], "option '--remaining <n>' argument '1e3' is invalid. must be a whole number."],
])('%j: the message of cli/arguments.ts, exit 2', async (argv, message) => {
  expect(await tollgate(argv)).toEqual({ code: 2, stdout: '', stderr: `tollgate: ${message}\n` });
});
