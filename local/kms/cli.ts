/**
 * The local KMS endpoint on its own, as a process:
 *
 *   npx tsx local/kms/cli.ts --port 4599 [--persist .local/kms.json] [--host 127.0.0.1] [--region us-east-1]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { onStopSignal } from '../signals';
import { startLocalKms, type LocalKmsOptions } from './server';

const USAGE = 'usage: tsx local/kms/cli.ts [--port 4599] [--host 127.0.0.1] [--persist FILE] [--region us-east-1]';

function cliOptions(args: string[]): LocalKmsOptions {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      persist: { type: 'string' },
      region: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = Number(values.port ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  return { port, host: values.host, persistPath: values.persist, region: values.region };
}

async function main(args: string[]): Promise<void> {
  let options: LocalKmsOptions;
  try {
    options = cliOptions(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const kms = await startLocalKms(options);
  console.log(`kms ready on ${kms.endpoint}`);
  onStopSignal(() => void kms.close());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(`local KMS failed to start: ${error.message}`);
    process.exitCode = 1;
  });
}
