/**
 * One cold start, in a fresh `node` process without tsx, with the functions' NODE_OPTIONS
 * (as Lambda runs the bundle; `bench/lib/cold-start.ts` starts it so):
 *
 *   node bench/cold-start.mjs bundle <index.mjs>            # env: the authorizer's, BENCH_AUTHORIZER_EVENT
 *   node bench/cold-start.mjs sdk-floor <endpoint> <table> <partition attribute> <partition value>
 *   node bench/cold-start.mjs first-error <index.mjs>        # no environment
 *
 * `bundle` imports an authorizer bundle and waits for its first decision, which waits for
 * the cold start's key-ring and revocation-feed reads. `sdk-floor` is what any authorizer
 * that reads its keys through the AWS SDK pays at least: import the SDK and run the same
 * one strongly consistent Query. `first-error` imports a function's bundle without the
 * environment its stack gives it, so its configuration check throws at the end of the
 * import, then reads that error's stack, which is when `--enable-source-maps` decodes the
 * bundle's source map (bench/function-cold-start.ts). Timings (ms) go to fd 3, so the handler's own log lines
 * on stdout cannot be mistaken for them.
 */
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const started = performance.now();
const [mode, ...rest] = process.argv.slice(2);
const elapsed = () => performance.now() - started;

const importSdk = () => Promise.all([import('@aws-sdk/client-dynamodb'), import('@aws-sdk/lib-dynamodb')]);

async function bundle([file]) {
  const module = await import(pathToFileURL(file).href);
  const importMs = elapsed();
  const result = await module.handler(JSON.parse(process.env.BENCH_AUTHORIZER_EVENT));
  const initMs = elapsed();
  if (result?.policyDocument?.Statement?.[0]?.Effect !== 'Allow') throw new Error('the first decision was not an allow');
  return { importMs, initMs };
}

async function sdkFloor([endpoint, table, attribute, value]) {
  const [{ DynamoDBClient }, { DynamoDBDocumentClient, QueryCommand }] = await importSdk();
  const importMs = elapsed();
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, region: 'us-east-1', credentials }));
  const { Items } = await doc.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: '#p = :p',
      ExpressionAttributeNames: { '#p': attribute },
      ExpressionAttributeValues: { ':p': value },
      ConsistentRead: true,
    }),
  );
  if (!Items?.length) throw new Error(`no items in ${table}`);
  return { importMs, initMs: elapsed() };
}

async function firstError([file]) {
  let error;
  try {
    await import(pathToFileURL(file).href);
  } catch (thrown) {
    error = thrown;
  }
  const importMs = elapsed();
  if (error?.name !== 'ConfigurationError') throw new Error(`expected the bundle's configuration check to throw, got ${error}`);
  const before = performance.now();
  const stack = error.stack;
  return { importMs, firstStackMs: performance.now() - before, stackLines: stack.split('\n').length };
}

const modes = { bundle, 'sdk-floor': sdkFloor, 'first-error': firstError };
if (!modes[mode]) {
  process.stderr.write(`usage: node bench/cold-start.mjs bundle <file> | sdk-floor <endpoint> <table> <attribute> <value> | first-error <file>\n`);
  process.exit(2);
}
writeSync(3, JSON.stringify(await modes[mode](rest)));
// SDK keep-alive sockets would hold the process open; the measurement is done.
process.exit(0);
