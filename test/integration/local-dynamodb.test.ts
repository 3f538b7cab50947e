import { describe, expect, it } from 'vitest';
import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Tables, type TableKey } from '../../common/tables';
import { createTables, JavaMissingError, LOCAL_AWS, localDynamoClient, startDynamoDbLocal, tableNames } from '../../local/dynamodb';
import { isAlive } from '../../local/state';
import { freshTables } from '../support/aws';
import { descendants } from '../support/local-process';
import { tempDirs } from '../support/temp-dirs';

/** A start under a loaded CI machine (two suites, several JVMs starting at once) can take 15 s or more. */
const START = { startTimeoutMs: 120_000 };
const tempDir = tempDirs('tollgate-ddb-');

const isDynamoDbLocal = (args: string) => /^\S*java\b/.test(args) && args.includes('DynamoDBLocal.jar');

/** Command lines of the DynamoDB Local JVMs started for `port` (given explicitly: `-port 0` names none). */
function javaOnPort(port: number): string[] {
  const processes = execFileSync('ps', ['-A', '-o', 'args='], { encoding: 'utf8' }).split('\n');
  return processes.filter((args) => isDynamoDbLocal(args) && new RegExp(`-port ${port}(\\s|$)`).test(args));
}

/** Pids of the DynamoDB Local JVMs below the shell guard `guardPid` (the guard's pid is not Java's). */
async function javaUnder(guardPid: number): Promise<number[]> {
  return (await descendants(guardPid)).filter((p) => isDynamoDbLocal(p.command)).map((p) => p.pid);
}

async function readStream(endpoint: string, streamArn: string, until: (records: _Record[]) => boolean): Promise<_Record[]> {
  const streams = new DynamoDBStreamsClient({ endpoint, ...LOCAL_AWS });
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const shardId = StreamDescription!.Shards![0]!.ShardId!;
  let { ShardIterator: iterator } = await streams.send(
    new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  const records: _Record[] = [];
  // DynamoDB Local's TTL sweep runs about every second on an instance with few tables.
  const deadline = Date.now() + 60_000;
  while (iterator && Date.now() < deadline) {
    const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
    records.push(...(page.Records ?? []));
    if (until(records)) break;
    iterator = page.NextShardIterator;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  streams.destroy();
  return records;
}

describe('DynamoDB Local harness', () => {
  it('creates every table from the shared definitions, with keys, indexes, TTL and streams', async () => {
    const { client, names } = await freshTables();
    for (const key of Object.keys(Tables) as TableKey[]) {
      const spec = Tables[key];
      const { Table } = await client.send(new DescribeTableCommand({ TableName: names[key] }));
      expect(Table?.KeySchema?.[0]).toEqual({ AttributeName: spec.partitionKey.name, KeyType: 'HASH' });
      const indexes = Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort() ?? [];
      expect(indexes).toEqual(spec.indexes.map((i) => i.indexName).sort());
      expect(Table?.StreamSpecification?.StreamEnabled ?? false).toBe(spec.stream);
      const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: names[key] }));
      expect(ttl.TimeToLiveDescription?.AttributeName).toBe('ttlAttribute' in spec ? spec.ttlAttribute : undefined);
    }
  });

  // Real DynamoDB streams a TTL deletion as `REMOVE` from the `dynamodb.amazonaws.com` service
  // principal. DynamoDB Local 3.3.0 sends `eventName: "UNKNOWN_TO_SDK_VERSION"` without
  // `userIdentity` instead (seen on the wire); the local stream poller restores the real shape.
  it("streams writes, and TTL deletions arrive as DynamoDB Local's old-image-only records", async () => {
    // The TTL sweeper falls minutes behind on an instance holding the run's hundreds of tables
    // (CI saw no deletion within 90 s), so this test gets an instance with one set of tables.
    const ddb = await startDynamoDbLocal(START);
    const client = localDynamoClient(ddb.endpoint);
    try {
      const names = tableNames('ttl-');
      await createTables(client, names);
      const doc = DynamoDBDocumentClient.from(client);
      const now = Math.floor(Date.now() / 1000);
      await doc.send(new PutCommand({ TableName: names.tokens, Item: { jti: 'live', exp: now + 900, purgeAt: now + 1200 } }));
      await doc.send(new PutCommand({ TableName: names.tokens, Item: { jti: 'stale', exp: now - 400, purgeAt: now - 100 } }));
      const { Table } = await client.send(new DescribeTableCommand({ TableName: names.tokens }));

      const isTtlDeletion = (r: _Record) => (r.eventName as string) === 'UNKNOWN_TO_SDK_VERSION' && !r.dynamodb?.NewImage;
      const records = await readStream(ddb.endpoint, Table!.LatestStreamArn!, (rs) => rs.some(isTtlDeletion));

      expect(records.filter((r) => r.eventName === 'INSERT').map((r) => r.dynamodb?.Keys?.jti?.S)).toEqual(['live', 'stale']);
      const removal = records.find(isTtlDeletion);
      expect(removal?.dynamodb?.Keys?.jti?.S).toBe('stale');
      expect(removal?.dynamodb?.OldImage?.purgeAt?.N).toBe(String(now - 100));
      const live = await doc.send(new GetCommand({ TableName: names.tokens, Key: { jti: 'live' } }));
      expect(live.Item?.exp).toBe(now + 900);
    } finally {
      client.destroy();
      await ddb.stop();
    }
  }, 120_000);

  it('fails with an install instruction when java is not on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startDynamoDbLocal()).rejects.toThrow(JavaMissingError);
      await expect(startDynamoDbLocal()).rejects.toThrow(/apt-get install -y openjdk-17-jdk-headless/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('fails with a JDK install instruction when the java on PATH is a JRE (no compiler for the loopback launcher)', async () => {
    // A stand-in `java` that lists the modules of a headless JRE: no jdk.compiler.
    const bin = tempDir('jre-');
    writeFileSync(join(bin, 'java'), '#!/bin/sh\nprintf "java.base@17.0.15\\njava.logging@17.0.15\\njdk.unsupported@17.0.15\\n"\n', { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = bin;
    try {
      await expect(startDynamoDbLocal()).rejects.toThrow(/has no compiler \(module jdk\.compiler; a JRE\).*openjdk-17-jdk-headless/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('fails fast and leaves no JVM behind when its port is taken on 127.0.0.1', async () => {
    const busy = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      // Well inside the start timeout: the launcher exits and says so instead of idling.
      await expect(startDynamoDbLocal({ port, startTimeoutMs: 60_000 })).rejects.toThrow(/loopback launcher: .*Failed to bind/s);
      expect(javaOnPort(port)).toEqual([]);
    } finally {
      busy.close();
    }
  }, 120_000);

  it('persists data across a restart when given a data folder, and stops its process', async () => {
    const dataDir = tempDir('persist-');
    const names = tableNames('persist-');
    const write = async (endpoint: string) => {
      const client = localDynamoClient(endpoint);
      await createTables(client, names);
      await DynamoDBDocumentClient.from(client).send(new PutCommand({ TableName: names.clients, Item: { clientId: 'acme' } }));
      client.destroy();
    };
    const read = async (endpoint: string) => {
      const client = localDynamoClient(endpoint);
      await createTables(client, names);
      const { Item } = await DynamoDBDocumentClient.from(client).send(new GetCommand({ TableName: names.clients, Key: { clientId: 'acme' } }));
      client.destroy();
      return Item;
    };

    const first = await startDynamoDbLocal({ ...START, dataDir });
    const java = await javaUnder(first.pid);
    try {
      expect(java).toHaveLength(1);
      await write(first.endpoint);
    } finally {
      await first.stop();
    }
    // Stopped means Java is gone, not only the shell guard whose pid `first.pid` is.
    expect(isAlive(first.pid)).toBe(false);
    expect(isAlive(java[0]!)).toBe(false);

    const second = await startDynamoDbLocal({ ...START, dataDir });
    try {
      expect(await read(second.endpoint)).toEqual({ clientId: 'acme' });
    } finally {
      await second.stop();
    }
  }, 120_000);
});
