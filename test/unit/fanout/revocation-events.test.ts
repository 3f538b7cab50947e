import { describe, expect, it } from 'vitest';
import { Defaults } from '../../../common/defaults';
import { RevocationKind } from '../../../common/revocation-feed';
import { RING_HEAD_KID, RING_PARTITION } from '../../../common/signing-key-items';
import {
  MalformedStreamRecord,
  MAX_REVOKED_VALUE_BYTES,
  revocationFromRecord,
  sourceTable,
  UnknownStreamSource,
  type RevocationClock,
  type StreamTableNames,
} from '../../../lambda/core/revocation/revocation-events';
import { streamArn, streamRecord, type RecordSpec } from '../../support/stream-records';
import * as Setting from '../../../common/settings';

const names: StreamTableNames = { apiKeys: 'x-ApiKeys', clients: 'x-Clients', tokens: 'x-Tokens', signingKeys: 'x-SigningKeys' };
const NOW_MS = 1_800_000_123_456;
const NOW_S = Math.floor(NOW_MS / 1000);
const clock: RevocationClock = { nowMs: NOW_MS, clockSkewSeconds: Defaults.clockSkewSeconds };
const longest = NOW_S + Setting.tokenTtlSeconds.max + Defaults.clockSkewSeconds;

const classify = (spec: RecordSpec, clockOverride = clock) => revocationFromRecord(streamRecord(spec), names, clockOverride);

const revoke = (tableName: string, key: Record<string, string>, extra: Record<string, string | number> = {}): RecordSpec => ({
  tableName,
  eventName: 'MODIFY',
  keys: key,
  oldImage: { ...key, status: 'active', ...extra },
  newImage: { ...key, status: 'revoked', revokedAt: NOW_S - 2, ...extra },
});

describe('revocationFromRecord: what is a revocation', () => {
  it('an API key whose status became revoked revokes every token it minted (cid), for the longest token lifetime', () => {
    expect(classify(revoke(names.apiKeys, { keyId: 'key_0123456789abcdef0123' }, { clientId: 'acme' }))).toEqual({
      kind: RevocationKind.ApiKey,
      value: 'key_0123456789abcdef0123',
      revokedAtMs: (NOW_S - 2) * 1000,
      purgeAt: longest,
    });
  });

  it('a client whose status became revoked revokes every token of the client (sub)', () => {
    expect(classify(revoke(names.clients, { clientId: 'acme' }))).toEqual({
      kind: RevocationKind.Client,
      value: 'acme',
      revokedAtMs: (NOW_S - 2) * 1000,
      purgeAt: longest,
    });
  });

  it('a token whose status became revoked is remembered until its own exp plus the clock skew', () => {
    const exp = NOW_S + 600;
    expect(classify(revoke(names.tokens, { jti: 'tok-1' }, { exp, clientId: 'acme' }))).toEqual({
      kind: RevocationKind.Token,
      value: 'tok-1',
      revokedAtMs: (NOW_S - 2) * 1000,
      purgeAt: exp + Defaults.clockSkewSeconds,
    });
  });

  it('uses the configured clock skew, not only the default', () => {
    const exp = NOW_S + 600;
    const entry = classify(revoke(names.tokens, { jti: 'tok-1' }, { exp }), { nowMs: NOW_MS, clockSkewSeconds: 120 });
    expect(entry?.purgeAt).toBe(exp + 120);
    expect(classify(revoke(names.clients, { clientId: 'acme' }), { nowMs: NOW_MS, clockSkewSeconds: 120 })?.purgeAt).toBe(
      NOW_S + Setting.tokenTtlSeconds.max + 120,
    );
  });

  it('a token record without exp is remembered for the longest token lifetime', () => {
    expect(classify(revoke(names.tokens, { jti: 'tok-2' }))?.purgeAt).toBe(longest);
  });

  it('an INSERT that is already revoked (no old image) is a revocation', () => {
    const spec: RecordSpec = { tableName: names.tokens, eventName: 'INSERT', keys: { jti: 't' }, newImage: { jti: 't', status: 'revoked', exp: NOW_S + 60 } };
    expect(classify(spec)).toMatchObject({ kind: RevocationKind.Token, value: 't', purgeAt: NOW_S + 60 + Defaults.clockSkewSeconds });
  });

  it('a signing key whose compromisedAt became set revokes every token it signed (kid), for as long as KMS may still sign with it', () => {
    const key = { ring: RING_PARTITION, kid: 'k-2026' };
    const spec: RecordSpec = {
      tableName: names.signingKeys,
      eventName: 'MODIFY',
      keys: key,
      oldImage: { ...key, state: 'active', version: 3 },
      newImage: { ...key, state: 'retired', compromisedAt: NOW_S - 1, version: 4 },
    };
    // Past the longest KMS deletion window (scheduled by the same run) and the tokens signed just before it ends.
    const purgeAt = longest + Setting.keyDeletionWindowDays.max * 86_400;
    expect(classify(spec)).toEqual({ kind: RevocationKind.SigningKey, value: 'k-2026', revokedAtMs: (NOW_S - 1) * 1000, purgeAt });
  });

  it('without revokedAt, the lag is measured from the stream record time', () => {
    const spec: RecordSpec = {
      tableName: names.clients,
      eventName: 'MODIFY',
      keys: { clientId: 'acme' },
      oldImage: { clientId: 'acme', status: 'active' },
      newImage: { clientId: 'acme', status: 'revoked' },
      approximateCreationSeconds: NOW_S - 5,
    };
    expect(classify(spec)?.revokedAtMs).toBe((NOW_S - 5) * 1000);
  });
});

describe('revocationFromRecord: what is not', () => {
  const ignored: Array<[string, RecordSpec]> = [
    ['an active key created', { tableName: names.apiKeys, eventName: 'INSERT', keys: { keyId: 'k' }, newImage: { keyId: 'k', status: 'active' } }],
    [
      'lastUsedAt sampled on an active key',
      {
        tableName: names.apiKeys,
        eventName: 'MODIFY',
        keys: { keyId: 'k' },
        oldImage: { keyId: 'k', status: 'active' },
        newImage: { keyId: 'k', status: 'active', lastUsedAt: NOW_S },
      },
    ],
    [
      'a revoked key written again (already fanned out)',
      {
        tableName: names.apiKeys,
        eventName: 'MODIFY',
        keys: { keyId: 'k' },
        oldImage: { keyId: 'k', status: 'revoked', revokedAt: NOW_S - 100 },
        newImage: { keyId: 'k', status: 'revoked', revokedAt: NOW_S - 100, rolledTo: 'k2' },
      },
    ],
    [
      'a TTL deletion of an expired token',
      { tableName: names.tokens, eventName: 'REMOVE', keys: { jti: 't' }, oldImage: { jti: 't', status: 'revoked' }, ttlDeletion: true },
    ],
    [
      'a TTL deletion of an expired API key',
      { tableName: names.apiKeys, eventName: 'REMOVE', keys: { keyId: 'k' }, oldImage: { keyId: 'k', status: 'active' }, ttlDeletion: true },
    ],
    ['a user delete', { tableName: names.clients, eventName: 'REMOVE', keys: { clientId: 'c' }, oldImage: { clientId: 'c', status: 'active' } }],
    [
      'a rotation step on a signing key',
      {
        tableName: names.signingKeys,
        eventName: 'MODIFY',
        keys: { ring: RING_PARTITION, kid: 'k1' },
        oldImage: { ring: RING_PARTITION, kid: 'k1', state: 'pending' },
        newImage: { ring: RING_PARTITION, kid: 'k1', state: 'active' },
      },
    ],
    [
      'a compromised key written again',
      {
        tableName: names.signingKeys,
        eventName: 'MODIFY',
        keys: { ring: RING_PARTITION, kid: 'k1' },
        oldImage: { ring: RING_PARTITION, kid: 'k1', compromisedAt: NOW_S - 50 },
        newImage: { ring: RING_PARTITION, kid: 'k1', compromisedAt: NOW_S - 50, deletionScheduledAt: NOW_S },
      },
    ],
    [
      'the ring head item',
      {
        tableName: names.signingKeys,
        eventName: 'MODIFY',
        keys: { ring: RING_PARTITION, kid: RING_HEAD_KID },
        oldImage: { ring: RING_PARTITION, kid: RING_HEAD_KID, version: 1 },
        newImage: { ring: RING_PARTITION, kid: RING_HEAD_KID, version: 2, compromisedAt: NOW_S },
      },
    ],
    ['a status attribute set to NULL', { tableName: names.clients, eventName: 'INSERT', keys: { clientId: 'c' }, newImage: { clientId: 'c', status: null } }],
  ];

  it.each(ignored)('%s', (_name, spec) => {
    expect(classify(spec)).toBeUndefined();
  });
});

describe('revocationFromRecord: malformed records are errors, never silently dropped', () => {
  const malformed: Array<[string, RecordSpec, RegExp]> = [
    [
      'a MODIFY without NewImage',
      { tableName: names.tokens, eventName: 'MODIFY', keys: { jti: 't' }, oldImage: { jti: 't', status: 'active' } },
      /NEW_AND_OLD_IMAGES/,
    ],
    [
      'a revoked item without its key attribute',
      { tableName: names.tokens, eventName: 'INSERT', keys: { jti: 't' }, newImage: { status: 'revoked' } },
      /"jti"/,
    ],
    [
      'an empty key value',
      { tableName: names.clients, eventName: 'INSERT', keys: { clientId: '' }, newImage: { clientId: '', status: 'revoked' } },
      /"clientId"/,
    ],
    [
      'a numeric status',
      { tableName: names.clients, eventName: 'INSERT', keys: { clientId: 'c' }, newImage: { clientId: 'c', status: 7 } },
      /"status" is not a string/,
    ],
    [
      'a revokedAt that is not a number',
      { ...revoke(names.clients, { clientId: 'c' }), newImage: { clientId: 'c', status: 'revoked', revokedAt: 'yesterday' } },
      /"revokedAt" is not a number/,
    ],
    ['an exp that is not a number', { ...revoke(names.tokens, { jti: 't' }), newImage: { jti: 't', status: 'revoked', exp: 'soon' } }, /"exp" is not a number/],
    [
      'a compromisedAt that is not a number',
      {
        tableName: names.signingKeys,
        eventName: 'MODIFY',
        keys: { ring: RING_PARTITION, kid: 'k' },
        newImage: { ring: RING_PARTITION, kid: 'k', compromisedAt: 'now' },
      },
      /"compromisedAt" is not a number/,
    ],
    [
      'an oversized value',
      {
        tableName: names.clients,
        eventName: 'INSERT',
        keys: { clientId: 'c' },
        newImage: { clientId: 'c'.repeat(MAX_REVOKED_VALUE_BYTES + 1), status: 'revoked' },
      },
      /longer than 1024 bytes/,
    ],
  ];

  it.each(malformed)('%s', (_name, spec, message) => {
    expect(() => classify(spec)).toThrow(MalformedStreamRecord);
    expect(() => classify(spec)).toThrow(message);
  });

  it('an event name other than INSERT, MODIFY or REMOVE', () => {
    const record = { ...streamRecord(revoke(names.clients, { clientId: 'c' })), eventName: 'UNKNOWN_TO_SDK_VERSION' as never };
    expect(() => revocationFromRecord(record, names, clock)).toThrow(/unexpected eventName "UNKNOWN_TO_SDK_VERSION"/);
  });
});

describe('sourceTable', () => {
  it('tells the tables apart by the table name inside eventSourceARN', () => {
    expect(sourceTable(streamArn(names.apiKeys), names)).toBe('apiKeys');
    expect(sourceTable(streamArn(names.signingKeys, 'eu-west-1'), names)).toBe('signingKeys');
    expect(sourceTable('arn:aws:dynamodb:ddblocal:000000000000:table/x-Tokens/stream/2026-11-22T08:16:52.772', names)).toBe('tokens');
  });

  it('refuses a stream of another table, naming it', () => {
    expect(() => sourceTable(streamArn('x-Revocations'), names)).toThrow(UnknownStreamSource);
    expect(() => sourceTable(streamArn('x-Revocations'), names)).toThrow(/"x-Revocations"/);
  });

  it('refuses an ARN that is not a DynamoDB stream ARN', () => {
    for (const arn of [undefined, '', 'arn:aws:kinesis:us-east-1:1:stream/x', `arn:aws:dynamodb:us-east-1:1:table/${names.tokens}`]) {
      expect(() => sourceTable(arn, names)).toThrow(MalformedStreamRecord);
    }
  });
});
