import { describe, expect, it } from 'vitest';
import { Env } from '../../../common/names';
import { ConfigurationError } from '../../../lambda/core/shared/env';
import { rotationConfig } from '../../../lambda/rotation/config';
import { InvalidRotationRequest } from '../../../lambda/core/rotation/rotation-errors';
import { parseRotationRequest } from '../../../lambda/core/rotation/rotation-request';
import { SCHEDULED_EVENT } from './fixtures';
import * as Setting from '../../../common/settings';

describe('parseRotationRequest', () => {
  it('accepts the schedule and the four console test events', () => {
    expect(parseRotationRequest(SCHEDULED_EVENT)).toEqual({ action: 'step', scheduled: true });
    expect(parseRotationRequest({ action: 'step' })).toEqual({ action: 'step', scheduled: false });
    expect(parseRotationRequest({ action: 'rotate' })).toEqual({ action: 'rotate' });
    expect(parseRotationRequest({ action: 'status' })).toEqual({ action: 'status' });
    expect(parseRotationRequest({ action: 'compromised', kid: '20251122T0805Z-deadbeef' })).toEqual({
      action: 'compromised',
      kid: '20251122T0805Z-deadbeef',
    });
  });

  it.each([
    [{ action: 'delete' }, /unknown action "delete"/],
    [{ action: 42 }, /unknown action number 42/],
    [{}, /the event has no "action"/],
    [{ hello: 'world' }, /the event has no "action"/],
    ['rotate', /the event must be a JSON object, got "rotate"/],
    [null, /the event must be a JSON object, got null/],
    [[{ action: 'rotate' }], /the event must be a JSON object, got an array/],
    [{ action: 'rotate', force: true }, /"rotate" takes no other fields, got "force"/],
    [{ action: 'compromised' }, /"compromised" needs the "kid"/],
    [{ action: 'compromised', kid: '' }, /"kid" must be a key id/],
    [{ action: 'compromised', kid: 'a b' }, /"kid" must be a key id/],
    [{ action: 'compromised', kid: 7 }, /"kid" must be a key id .*got number 7/],
    [{ action: 'compromised', kid: 'k', reason: 'x' }, /"compromised" takes no other fields, got "reason"/],
    [{ 'detail-type': 'Object Created' }, /the event has no "action"/],
  ])('refuses %j, naming the accepted events', (event, message) => {
    expect(() => parseRotationRequest(event)).toThrow(InvalidRotationRequest);
    expect(() => parseRotationRequest(event)).toThrow(message);
    expect(() => parseRotationRequest(event)).toThrow(
      /accepted events: \{"action":"rotate"\}, \{"action":"step"\}, \{"action":"status"\}, \{"action":"compromised","kid":"<kid>"\}, an EventBridge "Scheduled Event"/,
    );
  });

  it('shortens a long unknown action in the message', () => {
    expect(() => parseRotationRequest({ action: 'x'.repeat(500) })).toThrow(/unknown action "x{64}…"/);
  });
});

describe('rotationConfig', () => {
  const tables = { TOLLGATE_SIGNING_KEYS_TABLE: 'ring-table', TOLLGATE_API_KEYS_TABLE: 'keys-table' };

  it('applies the defaults', () => {
    const config = rotationConfig(tables);
    expect(config).toMatchObject({
      tables: { signingKeys: 'ring-table', apiKeys: 'keys-table' },
      keySpec: 'ECC_NIST_P256',
      expiryWarningDays: 14,
      staleKeyDays: 90,
      timing: { pendingSeconds: 600, retiringSeconds: 3690, rotationIntervalSeconds: 30 * 86_400, deletionWindowDays: 30 },
    });
    expect(config.eventBusName).toBeUndefined();
  });

  it('reads every setting', () => {
    const config = rotationConfig({
      ...tables,
      [Setting.keySpec.env]: 'RSA_2048',
      [Setting.rotationIntervalDays.env]: '7',
      [Setting.keyDeletionWindowDays.env]: '7',
      [Env.keyRingRefreshSeconds]: '900',
      [Env.clockSkewSeconds]: '0',
      [Setting.expiryWarningDays.env]: '30',
      [Setting.staleKeyDays.env]: '180',
      [Env.eventBusName]: 'ops-bus',
    });
    expect(config).toMatchObject({
      keySpec: 'RSA_2048',
      expiryWarningDays: 30,
      staleKeyDays: 180,
      eventBusName: 'ops-bus',
      timing: { pendingSeconds: 1200, retiringSeconds: 3660, rotationIntervalSeconds: 7 * 86_400, deletionWindowDays: 7 },
    });
  });

  it.each([
    [{ TOLLGATE_API_KEYS_TABLE: 'k' }, /TOLLGATE_SIGNING_KEYS_TABLE is required/],
    [{ ...tables, [Setting.keySpec.env]: 'RSA_4096' }, /TOLLGATE_KEY_SPEC must be one of ECC_NIST_P256, RSA_2048, got "RSA_4096"/],
    [{ ...tables, [Setting.keyDeletionWindowDays.env]: '6' }, /TOLLGATE_KEY_DELETION_WINDOW_DAYS must be an integer from 7 to 30/],
    [{ ...tables, [Setting.keyDeletionWindowDays.env]: '31' }, /TOLLGATE_KEY_DELETION_WINDOW_DAYS must be an integer from 7 to 30/],
    [{ ...tables, [Setting.rotationIntervalDays.env]: '0' }, /TOLLGATE_ROTATION_INTERVAL_DAYS must be an integer from 1/],
    [{ ...tables, [Setting.staleKeyDays.env]: 'ninety' }, /TOLLGATE_STALE_KEY_DAYS must be an integer/],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => rotationConfig(env)).toThrow(ConfigurationError);
    expect(() => rotationConfig(env)).toThrow(message);
  });
});
