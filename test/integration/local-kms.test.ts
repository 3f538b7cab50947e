import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  TagResourceCommand,
  type CreateKeyCommandInput,
  type KeyMetadata,
  type KeySpec,
  type KeyUsageType,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { LocalKeyStore, startLocalKms, type LocalKms } from '../../local/kms';
import { tempDirs } from '../support/temp-dirs';

const UNKNOWN_KEY = '00000000-0000-4000-8000-000000000000';

let kms: LocalKms;
let client: KMSClient;

function clientFor(endpoint: string, region = 'us-east-1'): KMSClient {
  return new KMSClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
}

async function createKey(input: Partial<CreateKeyCommandInput> = {}, on = client): Promise<KeyMetadata> {
  const { KeyMetadata } = await on.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', ...input }));
  return KeyMetadata!;
}

async function publicKey(keyId: string, on = client): Promise<KeyObject> {
  const { PublicKey } = await on.send(new GetPublicKeyCommand({ KeyId: keyId }));
  return createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' });
}

async function signature(keyId: string, message: Uint8Array, algorithm: SigningAlgorithmSpec, messageType: 'RAW' | 'DIGEST' = 'RAW', on = client) {
  const { Signature } = await on.send(new SignCommand({ KeyId: keyId, Message: message, MessageType: messageType, SigningAlgorithm: algorithm }));
  return Buffer.from(Signature!);
}

function sha(bits: number, message: Buffer): Buffer {
  return createHash(`sha${bits}`).update(message).digest();
}

/** A hand-made request, for protocol behaviour the SDK never exhibits. */
async function rawRequest(target: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(kms.endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.1',
      'X-Amz-Target': target,
      Authorization: 'AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00',
      ...headers,
    },
    body,
  });
  return { status: response.status, errorType: response.headers.get('x-amzn-errortype'), body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  kms = await startLocalKms({ port: 0 });
  client = clientFor(kms.endpoint);
});

afterAll(async () => {
  client.destroy();
  await kms.close();
});

describe('local KMS: CreateKey and DescribeKey', () => {
  it('creates an ECC_NIST_P256 signing key with full metadata and tags', async () => {
    const before = Date.now();
    const key = await createKey({ Description: 'ring key', Tags: [{ TagKey: 'tollgate:kid', TagValue: 'k1' }] });
    expect(key).toMatchObject({
      AWSAccountId: '000000000000',
      Enabled: true,
      Description: 'ring key',
      KeyState: 'Enabled',
      KeyUsage: 'SIGN_VERIFY',
      KeySpec: 'ECC_NIST_P256',
      CustomerMasterKeySpec: 'ECC_NIST_P256',
      SigningAlgorithms: ['ECDSA_SHA_256'],
      KeyManager: 'CUSTOMER',
      Origin: 'AWS_KMS',
      MultiRegion: false,
    });
    expect(key.KeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(key.Arn).toBe(`arn:aws:kms:us-east-1:000000000000:key/${key.KeyId}`);
    expect(key.CreationDate!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    const { Tags } = await client.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
    expect(Tags).toEqual([{ TagKey: 'tollgate:kid', TagValue: 'k1' }]);
  });

  it('creates an RSA_2048 signing key offering the PKCS#1 v1.5 and PSS algorithms', async () => {
    const key = await createKey({ KeySpec: 'RSA_2048' });
    expect(key.KeySpec).toBe('RSA_2048');
    expect(key.SigningAlgorithms).toEqual([
      'RSASSA_PKCS1_V1_5_SHA_256',
      'RSASSA_PKCS1_V1_5_SHA_384',
      'RSASSA_PKCS1_V1_5_SHA_512',
      'RSASSA_PSS_SHA_256',
      'RSASSA_PSS_SHA_384',
      'RSASSA_PSS_SHA_512',
    ]);
  });

  it('rejects key specs, usages and options it cannot honour with the KMS error types', async () => {
    await expect(createKey({ KeyUsage: 'ENCRYPT_DECRYPT' })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(createKey({ KeySpec: 'NOT_A_SPEC' as KeySpec })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(createKey({ KeyUsage: 'SIGN_ONLY' as KeyUsageType })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
    await expect(client.send(new CreateKeyCommand({}))).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
    await expect(createKey({ Tags: [{ TagKey: 'aws:reserved', TagValue: 'x' }] })).rejects.toMatchObject({ name: 'TagException' });
  });

  it('describes a key by id or ARN and reports unknown keys and aliases as NotFoundException', async () => {
    const key = await createKey();
    const byId = await client.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    const byArn = await client.send(new DescribeKeyCommand({ KeyId: key.Arn }));
    expect(byId.KeyMetadata).toEqual(key);
    expect(byArn.KeyMetadata).toEqual(key);
    for (const KeyId of [UNKNOWN_KEY, 'not-a-key-id', 'alias/tollgate', `arn:aws:kms:us-east-1:000000000000:key/${UNKNOWN_KEY}`]) {
      await expect(client.send(new DescribeKeyCommand({ KeyId }))).rejects.toMatchObject({ name: 'NotFoundException' });
    }
  });

  it('keeps keys regional and takes the region from the SigV4 credential scope', async () => {
    const west = clientFor(kms.endpoint, 'eu-west-1');
    const key = await createKey({}, west);
    expect(key.Arn).toBe(`arn:aws:kms:eu-west-1:000000000000:key/${key.KeyId}`);
    await expect(client.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(client.send(new DescribeKeyCommand({ KeyId: key.Arn }))).rejects.toMatchObject({ name: 'NotFoundException' });
    west.destroy();
  });
});

describe('local KMS: GetPublicKey and Sign', () => {
  const message = Buffer.from('header.payload');

  it('returns a DER SubjectPublicKeyInfo with the key ARN and algorithms', async () => {
    const key = await createKey();
    const response = await client.send(new GetPublicKeyCommand({ KeyId: key.KeyId }));
    expect(response).toMatchObject({ KeyId: key.Arn, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'] });
    const spki = createPublicKey({ key: Buffer.from(response.PublicKey!), format: 'der', type: 'spki' });
    expect(spki.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    await expect(client.send(new GetPublicKeyCommand({ KeyId: UNKNOWN_KEY }))).rejects.toMatchObject({ name: 'NotFoundException' });
  });

  it('signs ES256 over a RAW message and over its SHA-256 DIGEST, DER-encoded', async () => {
    const key = await createKey();
    const spki = await publicKey(key.KeyId!);
    for (const [input, type] of [
      [message, 'RAW'],
      [sha(256, message), 'DIGEST'],
    ] as const) {
      for (let round = 0; round < 8; round += 1) {
        const sig = await signature(key.KeyId!, input, 'ECDSA_SHA_256', type);
        expect(sig[0]).toBe(0x30);
        expect(verify('sha256', message, { key: spki, dsaEncoding: 'der' }, sig)).toBe(true);
      }
    }
    const { KeyId, SigningAlgorithm } = await client.send(new SignCommand({ KeyId: key.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }));
    expect({ KeyId, SigningAlgorithm }).toEqual({ KeyId: key.Arn, SigningAlgorithm: 'ECDSA_SHA_256' });
  });

  it('signs RS256 over a RAW message and over its SHA-256 DIGEST', async () => {
    const key = await createKey({ KeySpec: 'RSA_2048' });
    const spki = await publicKey(key.Arn!);
    const raw = await signature(key.Arn!, message, 'RSASSA_PKCS1_V1_5_SHA_256', 'RAW');
    const digest = await signature(key.Arn!, sha(256, message), 'RSASSA_PKCS1_V1_5_SHA_256', 'DIGEST');
    expect(raw).toHaveLength(256);
    expect(verify('sha256', message, spki, raw)).toBe(true);
    // PKCS#1 v1.5 is deterministic, so both modes must give the very same bytes.
    expect(digest.equals(raw)).toBe(true);
  });

  it.each([
    ['RSASSA_PKCS1_V1_5_SHA_384', 384, false],
    ['RSASSA_PKCS1_V1_5_SHA_512', 512, false],
    ['RSASSA_PSS_SHA_256', 256, true],
    ['RSASSA_PSS_SHA_384', 384, true],
    ['RSASSA_PSS_SHA_512', 512, true],
  ] as const)('signs %s in RAW and DIGEST mode', async (algorithm, bits, pss) => {
    const key = await createKey({ KeySpec: 'RSA_2048' });
    const spki = await publicKey(key.KeyId!);
    const verifier = pss ? { key: spki, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 } : spki;
    for (const [input, type] of [
      [message, 'RAW'],
      [sha(bits, message), 'DIGEST'],
    ] as const) {
      expect(verify(`sha${bits}`, message, verifier, await signature(key.KeyId!, input, algorithm, type))).toBe(true);
    }
  });

  it('rejects wrong algorithms, oversized messages and mis-sized digests', async () => {
    const ec = await createKey();
    const rsa = await createKey({ KeySpec: 'RSA_2048' });
    await expect(signature(ec.KeyId!, message, 'RSASSA_PKCS1_V1_5_SHA_256')).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
    await expect(signature(rsa.KeyId!, message, 'ECDSA_SHA_256')).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
    await expect(signature(ec.KeyId!, message, 'ECDSA_SHA_384')).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
    await expect(signature(ec.KeyId!, message, 'ES256' as SigningAlgorithmSpec)).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(signature(ec.KeyId!, Buffer.alloc(4097), 'ECDSA_SHA_256')).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(signature(ec.KeyId!, Buffer.alloc(4096, 1), 'ECDSA_SHA_256')).resolves.toBeInstanceOf(Buffer);
    await expect(signature(ec.KeyId!, Buffer.alloc(31), 'ECDSA_SHA_256', 'DIGEST')).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(signature(rsa.KeyId!, sha(256, message), 'RSASSA_PKCS1_V1_5_SHA_512', 'DIGEST')).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(signature(UNKNOWN_KEY, message, 'ECDSA_SHA_256')).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(client.send(new SignCommand({ KeyId: ec.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256', DryRun: true }))).rejects.toMatchObject({
      name: 'DryRunOperationException',
    });
  });
});

describe('local KMS: key lifecycle', () => {
  const message = Buffer.from('m');

  it('refuses Sign and GetPublicKey with a disabled key until it is enabled again', async () => {
    const key = await createKey();
    await client.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    expect((await client.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    await expect(signature(key.KeyId!, message, 'ECDSA_SHA_256')).rejects.toMatchObject({ name: 'DisabledException' });
    await expect(publicKey(key.KeyId!)).rejects.toMatchObject({ name: 'DisabledException' });
    await client.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    await expect(signature(key.KeyId!, message, 'ECDSA_SHA_256')).resolves.toBeInstanceOf(Buffer);
    await expect(client.send(new DisableKeyCommand({ KeyId: UNKNOWN_KEY }))).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(client.send(new EnableKeyCommand({ KeyId: UNKNOWN_KEY }))).rejects.toMatchObject({ name: 'NotFoundException' });
  });

  it('schedules deletion, blocks use of the key, and cancels back to Disabled', async () => {
    const key = await createKey();
    const before = Date.now();
    const scheduled = await client.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    const after = Date.now();
    expect(scheduled).toMatchObject({ KeyId: key.Arn, KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    // Seven days from the server's clock during the call, bracketed by ours; 1 s for whole-second stamps.
    expect(scheduled.DeletionDate!.getTime()).toBeGreaterThanOrEqual(before + 7 * 86_400_000 - 1_000);
    expect(scheduled.DeletionDate!.getTime()).toBeLessThanOrEqual(after + 7 * 86_400_000 + 1_000);
    const { KeyMetadata } = await client.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    expect(KeyMetadata).toMatchObject({ KeyState: 'PendingDeletion', Enabled: false, PendingDeletionWindowInDays: 7 });
    expect(KeyMetadata!.DeletionDate).toEqual(scheduled.DeletionDate);

    await expect(signature(key.KeyId!, message, 'ECDSA_SHA_256')).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await expect(publicKey(key.KeyId!)).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await expect(client.send(new DisableKeyCommand({ KeyId: key.KeyId }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await expect(client.send(new EnableKeyCommand({ KeyId: key.KeyId }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await expect(client.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await expect(client.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'a', TagValue: 'b' }] }))).rejects.toMatchObject({
      name: 'KMSInvalidStateException',
    });

    const cancelled = await client.send(new CancelKeyDeletionCommand({ KeyId: key.Arn }));
    expect(cancelled.KeyId).toBe(key.Arn);
    const restored = (await client.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!;
    expect(restored).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    expect(restored.DeletionDate).toBeUndefined();
  });

  it('defaults the waiting period to 30 days and bounds it to 7..30', async () => {
    const key = await createKey();
    await expect(client.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 3 }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(client.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 31 }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(client.send(new ScheduleKeyDeletionCommand({ KeyId: UNKNOWN_KEY }))).rejects.toMatchObject({ name: 'NotFoundException' });
    expect((await client.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }))).PendingWindowInDays).toBe(30);
  });

  it('refuses to cancel the deletion of a key that is not pending deletion', async () => {
    const key = await createKey();
    await expect(client.send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }))).rejects.toMatchObject({ name: 'KMSInvalidStateException' });
    await expect(client.send(new CancelKeyDeletionCommand({ KeyId: UNKNOWN_KEY }))).rejects.toMatchObject({ name: 'NotFoundException' });
  });

  it('deletes a key for good once its waiting period has passed', async () => {
    const store = LocalKeyStore.open();
    const key = await store.create({ region: 'us-east-1', keySpec: 'ECC_NIST_P256', description: '', tags: [] });
    store.scheduleDeletion(key, 7, Date.now() - 8 * 86_400_000);
    expect(() => store.find(key.keyId, 'us-east-1')).toThrow(expect.objectContaining({ type: 'NotFoundException' }));
    expect(store.list('us-east-1')).toEqual([]);
  });
});

describe('local KMS: ListKeys and tags', () => {
  it('pages through keys with Limit, Truncated and NextMarker', async () => {
    // A region of its own keeps the other tests' keys off these pages.
    const sydney = clientFor(kms.endpoint, 'ap-southeast-2');
    const created = [];
    for (let i = 0; i < 5; i += 1) created.push(await createKey({}, sydney));
    const pages = [];
    let marker: string | undefined;
    do {
      const page = await sydney.send(new ListKeysCommand({ Limit: 2, Marker: marker }));
      pages.push(page);
      marker = page.NextMarker;
      expect(page.Truncated).toBe(marker !== undefined);
    } while (marker);
    expect(pages.map((page) => page.Keys!.length)).toEqual([2, 2, 1]);
    expect(pages.flatMap((page) => page.Keys)).toEqual(created.map((key) => ({ KeyId: key.KeyId, KeyArn: key.Arn })));
    await expect(sydney.send(new ListKeysCommand({ Marker: 'bm90LWEta2V5' }))).rejects.toMatchObject({ name: 'InvalidMarkerException' });
    await expect(sydney.send(new ListKeysCommand({ Limit: 0 }))).rejects.toMatchObject({ name: 'ValidationException' });
    sydney.destroy();
  });

  it('adds and overwrites tags, and reports unknown keys', async () => {
    const key = await createKey({ Tags: [{ TagKey: 'ring', TagValue: 'a' }] });
    await client.send(
      new TagResourceCommand({
        KeyId: key.Arn,
        Tags: [
          { TagKey: 'ring', TagValue: 'b' },
          { TagKey: 'kid', TagValue: 'k2' },
        ],
      }),
    );
    const { Tags, Truncated } = await client.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
    expect(Tags).toEqual([
      { TagKey: 'ring', TagValue: 'b' },
      { TagKey: 'kid', TagValue: 'k2' },
    ]);
    expect(Truncated).toBe(false);
    await expect(client.send(new TagResourceCommand({ KeyId: UNKNOWN_KEY, Tags: [{ TagKey: 'a', TagValue: 'b' }] }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
    await expect(client.send(new ListResourceTagsCommand({ KeyId: UNKNOWN_KEY }))).rejects.toMatchObject({ name: 'NotFoundException' });
    await expect(client.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: undefined }))).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('local KMS: wire protocol', () => {
  it('answers errors as KMS does: status 400, __type in the body and x-amzn-ErrorType', async () => {
    const response = await rawRequest('TrentService.DescribeKey', JSON.stringify({ KeyId: UNKNOWN_KEY }));
    expect(response.status).toBe(400);
    expect(response.errorType).toBe('NotFoundException');
    expect(response.body).toEqual({ __type: 'NotFoundException', message: expect.stringContaining(UNKNOWN_KEY) });
  });

  it('refuses unsigned requests', async () => {
    const response = await rawRequest('TrentService.ListKeys', '{}', { Authorization: '' });
    expect(response).toMatchObject({ status: 400, body: { __type: 'MissingAuthenticationTokenException' } });
  });

  it('rejects unknown operations, malformed JSON, mistyped members and oversized bodies', async () => {
    expect((await rawRequest('TrentService.Encrypt', '{}')).body.__type).toBe('UnsupportedOperationException');
    expect((await rawRequest('TrentService.toString', '{}')).body.__type).toBe('UnsupportedOperationException');
    expect((await rawRequest('TrentService.ListKeys', '{not json')).body.__type).toBe('SerializationException');
    expect((await rawRequest('TrentService.ListKeys', '[]')).body.__type).toBe('SerializationException');
    expect((await rawRequest('TrentService.ListKeys', '{"Limit":"2"}')).body.__type).toBe('SerializationException');
    expect((await rawRequest('TrentService.DescribeKey', '{}')).body.__type).toBe('ValidationException');
    const big = await rawRequest('TrentService.ListKeys', JSON.stringify({ Marker: 'x'.repeat(1024 * 1024) }));
    expect(big).toMatchObject({ status: 413, body: { __type: 'ValidationException' } });
  });
});

describe('local KMS: persistence and CLI', () => {
  const tempDir = tempDirs('tollgate-kms-');

  it('keeps keys, state and tags across a restart, in an owner-only file written atomically', async () => {
    const dir = tempDir('persist-');
    const persistPath = join(dir, 'state', 'kms.json');
    const message = Buffer.from('survives restarts');

    const first = await startLocalKms({ port: 0, persistPath });
    const firstClient = clientFor(first.endpoint);
    const { ec, rsa, ecPublic, rsaPublic, pending } = await (async () => {
      const ec = await createKey({ Description: 'persisted', Tags: [{ TagKey: 'kid', TagValue: 'k9' }] }, firstClient);
      const rsa = await createKey({ KeySpec: 'RSA_2048' }, firstClient);
      const ecPublic = await publicKey(ec.KeyId!, firstClient);
      const rsaPublic = await publicKey(rsa.KeyId!, firstClient);
      const pending = await createKey({}, firstClient);
      await firstClient.send(new ScheduleKeyDeletionCommand({ KeyId: pending.KeyId, PendingWindowInDays: 10 }));
      return { ec, rsa, ecPublic, rsaPublic, pending };
    })().finally(async () => {
      firstClient.destroy();
      await first.close();
    });

    const second = await startLocalKms({ port: 0, persistPath });
    const secondClient = clientFor(second.endpoint);
    try {
      const ecSignature = await signature(ec.KeyId!, message, 'ECDSA_SHA_256', 'RAW', secondClient);
      const rsaSignature = await signature(rsa.Arn!, sha(256, message), 'RSASSA_PKCS1_V1_5_SHA_256', 'DIGEST', secondClient);
      expect(verify('sha256', message, ecPublic, ecSignature)).toBe(true);
      expect(verify('sha256', message, rsaPublic, rsaSignature)).toBe(true);
      expect((await secondClient.send(new DescribeKeyCommand({ KeyId: ec.KeyId }))).KeyMetadata).toEqual(ec);
      expect((await secondClient.send(new ListResourceTagsCommand({ KeyId: ec.KeyId }))).Tags).toEqual([{ TagKey: 'kid', TagValue: 'k9' }]);
      const restored = (await secondClient.send(new DescribeKeyCommand({ KeyId: pending.KeyId }))).KeyMetadata!;
      expect(restored).toMatchObject({ KeyState: 'PendingDeletion', PendingDeletionWindowInDays: 10 });
    } finally {
      secondClient.destroy();
      await second.close();
    }
    expect(statSync(persistPath).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'state'))).toEqual(['kms.json']);
  });

  it('refuses to start over an unreadable state file rather than overwrite it', async () => {
    const persistPath = join(tempDir('unreadable-'), 'kms.json');
    writeFileSync(persistPath, '{"version":1,"keys":[{"keyId":');
    await expect(startLocalKms({ port: 0, persistPath })).rejects.toThrow(/not readable/);
  });

  it('runs from the command line, prints one ready line and stops on SIGTERM', async () => {
    // node with tsx's loader, not tsx's CLI: that relays SIGTERM and SIGKILLs a child that does
    // not acknowledge it within 30 ms, which a loaded machine can miss.
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/kms/cli.ts', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(child, 'exit');
    try {
      // Bounded on its own (and by an early exit), so a child that never prints fails with a reason.
      const firstLine = once(createInterface({ input: child.stdout }), 'line') as Promise<[string]>;
      const [line] = await Promise.race([
        firstLine,
        exited.then(([code]) => Promise.reject(new Error(`tsx local/kms/cli.ts exited with ${String(code)} before printing a line`))),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('tsx local/kms/cli.ts printed nothing within 45 s')), 45_000).unref()),
      ]);
      expect(line).toMatch(/^kms ready on http:\/\/127\.0\.0\.1:\d+$/);
      const cliClient = clientFor(line.replace('kms ready on ', ''));
      await expect(createKey({}, cliClient)).resolves.toMatchObject({ KeyState: 'Enabled' });
      cliClient.destroy();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toEqual([0, null]);
  }, 60_000);
});
