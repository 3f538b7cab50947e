/**
 * One cold start, in a fresh `node` process without tsx (as Lambda runs the bundle):
 *
 *   node bench/cold-start.mjs bundle <index.mjs>            # env: the authorizer's, BENCH_AUTHORIZER_EVENT
 *   node bench/cold-start.mjs sdk-floor <endpoint> <table> <partition attribute> <partition value>
 *
 * `bundle` imports an authorizer bundle and waits for its first decision, which waits for
 * the cold start's key-ring and revocation-feed reads. `sdk-floor` is what any authorizer
 * that reads its keys through the AWS SDK pays at least: import the SDK and run the same
 * one strongly consistent Query. Timings (ms) go to fd 3, so the handler's own log lines
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

const modes = { bundle, 'sdk-floor': sdkFloor };
if (!modes[mode]) {
  process.stderr.write(`usage: node bench/cold-start.mjs bundle <file> | sdk-floor <endpoint> <table> <attribute> <value>\n`);
  process.exit(2);
}
writeSync(3, JSON.stringify(await modes[mode](rest)));
// SDK keep-alive sockets would hold the process open; the measurement is done.
process.exit(0);
