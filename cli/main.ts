/**
 * Entry point of `npx tollgate` (through `cli/tollgate.mjs`). Sets the exit status rather
 * than calling `process.exit`, so pending output is flushed before the process ends.
 */
import { nodeDeps, runCli } from './program';

process.exitCode = await runCli(process.argv.slice(2), nodeDeps());
