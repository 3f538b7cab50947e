/**
 * The key ring's KMS permissions, evaluated as IAM evaluates them (an explicit Deny wins over
 * any Allow) against the requests the rotation and token functions make — and against the
 * requests a compromised function would make instead.
 *
 * What AWS does not document is modelled both ways: the kms:TagResource check KMS makes
 * during CreateKey (Tags) may see no key properties (there is no key yet) or CreateKey's own
 * request values; the policy must allow creation in either case. iam-evaluation.test.ts asks
 * a maintained IAM evaluator the same questions, over every plausible context.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Stack } from 'aws-cdk-lib';
import { KMS_TAG_APPLICATION_VALUE, KmsTag } from '../../common/tokens';
import { KeyRing, RING_KEY_ACTIONS } from '../../lib/key-ring';
import { actionsOf, buildApp, resourcesOf, roleStatements, tableLogicalId, type BuiltApp, type Statement } from './app';
import * as Setting from '../../common/settings';

let built: BuiltApp;
let ringId: string;
beforeAll(() => {
  built = buildApp();
  // The ring tag's value as the template renders it (a reference to the signing-keys table name).
  const sign = roleStatements(built, 'token').find((s) => actionsOf(s).includes('kms:Sign'))!;
  ringId = JSON.stringify(sign.Condition!.StringEquals![`aws:ResourceTag/${KmsTag.ring}`]);
  expect(ringId).toContain(tableLogicalId(built, 'signingKeys'));
});

type Context = Readonly<Record<string, string | readonly string[] | undefined>>;

interface Request {
  readonly action: string;
  /** `*` for CreateKey and ListKeys, else a key of this account and Region. */
  readonly resource: 'key' | '*';
  readonly context: Context;
}

/** One condition operator of the IAM User Guide ("Condition operators"), as these policies use them. */
function holds(operator: string, actual: string | readonly string[] | undefined, expected: readonly string[]): boolean {
  const ifExists = operator.endsWith('IfExists');
  const base = ifExists ? operator.slice(0, -'IfExists'.length) : operator;
  // A negated operator matches a request without the key (IAM User Guide, "Condition operators").
  if (actual === undefined && base === 'StringNotEquals') return true;
  if (actual === undefined && base !== 'Null') return ifExists;
  switch (base) {
    case 'StringNotEquals':
      return typeof actual === 'string' && !expected.includes(actual);
    case 'StringEquals':
    case 'Bool':
      return typeof actual === 'string' && expected.includes(actual);
    case 'Null':
      return (actual === undefined) === (expected[0] === 'true');
    case 'ForAllValues:StringEquals':
      return [actual ?? []].flat().every((value) => expected.includes(value));
    case 'NumericGreaterThanEquals':
      return typeof actual === 'string' && Number(actual) >= Number(expected[0]);
    default:
      throw new Error(`the test does not evaluate ${operator}`);
  }
}

const rendered = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

function matches(statement: Statement, request: Request): boolean {
  if (!actionsOf(statement).includes(request.action)) return false;
  const resources = resourcesOf(statement).map(rendered);
  if (!resources.some((r) => r === '*' || (request.resource === 'key' && r.includes(':key/*')))) return false;
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) => holds(operator, request.context[key], [expected].flat().map(rendered))),
  );
}

function allowed(statements: readonly Statement[], request: Request): boolean {
  return statements.some((s) => s.Effect === 'Allow' && matches(s, request)) && !statements.some((s) => s.Effect === 'Deny' && matches(s, request));
}

const kms = (app: BuiltApp, fn: 'rotation' | 'token') =>
  roleStatements(app, fn).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')) && !JSON.stringify(s.Resource).includes('TableKey'));

const ourTags = () => ({ [KmsTag.application]: KMS_TAG_APPLICATION_VALUE, [KmsTag.ring]: ringId, [KmsTag.kid]: '20260101T0000Z-abcd' });
const requestTags = (tags: Record<string, string>): Context => ({
  ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
  'aws:TagKeys': Object.keys(tags),
});
const resourceTags = (tags: Record<string, string>): Context => Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
/** What an existing ECC signing key puts in a key resource operation's context. */
const signingKey: Context = { 'kms:KeyUsage': 'SIGN_VERIFY', 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyOrigin': 'AWS_KMS', 'kms:MultiRegion': 'false' };
/** CreateKey as `lambda/adapters/kms-key-manager.ts` sends it. */
const createRequest = (): Context => ({ ...requestTags(ourTags()), ...signingKey, 'kms:BypassPolicyLockoutSafetyCheck': 'false' });

describe('the rotation function creating a ring key', () => {
  it('may create a tagged signing key of our spec with the lockout check on', () => {
    expect(allowed(kms(built, 'rotation'), { action: 'kms:CreateKey', resource: '*', context: createRequest() })).toBe(true);
  });

  it('may not create one that bypasses the key-policy lockout check', () => {
    expect(
      allowed(kms(built, 'rotation'), {
        action: 'kms:CreateKey',
        resource: '*',
        context: { ...createRequest(), 'kms:BypassPolicyLockoutSafetyCheck': 'true' },
      }),
    ).toBe(false);
  });

  it.each<[string, () => Context]>([
    ['no key properties (the key does not exist yet)', () => requestTags(ourTags())],
    ["CreateKey's own request values", () => createRequest()],
  ])('passes the tag check made during CreateKey whether it sees %s', (_what, context) => {
    expect(allowed(kms(built, 'rotation'), { action: 'kms:TagResource', resource: 'key', context: context() })).toBe(true);
  });

  it('may not put foreign tags on the key it creates', () => {
    const context = { ...requestTags({ ...ourTags(), owner: 'x' }) };
    expect(allowed(kms(built, 'rotation'), { action: 'kms:TagResource', resource: 'key', context })).toBe(false);
  });
});

describe('a compromised rotation function against keys that already exist', () => {
  it.each<[string, Context]>([
    ["another system's signing key (of our very spec)", signingKey],
    [
      "another Tollgate deployment's ring key",
      { ...signingKey, ...resourceTags({ [KmsTag.application]: KMS_TAG_APPLICATION_VALUE, [KmsTag.ring]: 'other-ring' }) },
    ],
    ['one of our own ring keys', { ...signingKey, ...resourceTags({ [KmsTag.application]: KMS_TAG_APPLICATION_VALUE }) }],
    ['an encryption key', { ...signingKey, 'kms:KeyUsage': 'ENCRYPT_DECRYPT', 'kms:KeySpec': 'SYMMETRIC_DEFAULT' }],
  ])('cannot tag %s as ours', (_what, key) => {
    const context = { ...key, ...requestTags(ourTags()) };
    expect(allowed(kms(built, 'rotation'), { action: 'kms:TagResource', resource: 'key', context })).toBe(false);
  });

  it('has no kms:TagResource outside the creation statement', () => {
    expect(RING_KEY_ACTIONS).not.toContain('kms:TagResource');
    const tagging = kms(built, 'rotation').filter((s) => s.Effect === 'Allow' && actionsOf(s).includes('kms:TagResource'));
    expect(tagging.map((s) => s.Sid)).toEqual(['TagRingKeysAtCreation']);
  });

  it('cannot schedule deletion of a key without our ring tags', () => {
    const context = { ...signingKey, 'kms:ScheduleKeyDeletionPendingWindowInDays': '30' };
    expect(allowed(kms(built, 'rotation'), { action: 'kms:ScheduleKeyDeletion', resource: 'key', context })).toBe(false);
  });
});

describe('scheduling deletion of a ring key', () => {
  const ringKey = (): Context => ({ ...signingKey, ...resourceTags(ourTags()) });
  const schedule = (app: BuiltApp, days?: number) =>
    allowed(kms(app, 'rotation'), {
      action: 'kms:ScheduleKeyDeletion',
      resource: 'key',
      context: { ...ringKey(), ...(days !== undefined && { 'kms:ScheduleKeyDeletionPendingWindowInDays': String(days) }) },
    });

  it("is allowed with the configured window (default 30 days) or longer, and with KMS's default window", () => {
    expect(schedule(built, 30)).toBe(true);
    expect(schedule(built)).toBe(true);
  });

  it('is refused with a shorter window than the configured one', () => {
    expect(schedule(built, Setting.keyDeletionWindowDays.min)).toBe(false);
    expect(schedule(built, 29)).toBe(false);
  });

  it('follows a configured window', () => {
    const week = buildApp({ settings: { keyDeletionWindowDays: 7 } });
    expect(schedule(week, 7)).toBe(true);
    const fortnight = buildApp({ settings: { keyDeletionWindowDays: 14 } });
    expect(schedule(fortnight, 13)).toBe(false);
    expect(schedule(fortnight, 14)).toBe(true);
  });

  it("still reads a ring key's tags (reconciliation), which takes no window", () => {
    expect(allowed(kms(built, 'rotation'), { action: 'kms:ListResourceTags', resource: 'key', context: ringKey() })).toBe(true);
  });

  it('refuses a window outside what KMS accepts at synth, naming the setting', () => {
    for (const days of [6, 31, 7.5]) {
      expect(() => new KeyRing(new Stack(), 'Ring', { keySpec: 'ECC_NIST_P256', ringId: 'ring', keyDeletionWindowDays: days })).toThrow(
        /keyDeletionWindowDays/,
      );
    }
  });
});

describe('the token function signing', () => {
  const sign = (messageType: string | undefined) =>
    allowed(kms(built, 'token'), {
      action: 'kms:Sign',
      resource: 'key',
      context: { ...signingKey, ...resourceTags(ourTags()), 'kms:SigningAlgorithm': 'ECDSA_SHA_256', ...(messageType && { 'kms:MessageType': messageType }) },
    });

  it('signs a digest, as kms-signer sends it', () => {
    expect(sign('DIGEST')).toBe(true);
  });

  it('never has KMS hash a raw message', () => {
    expect(sign('RAW')).toBe(false);
  });
});
