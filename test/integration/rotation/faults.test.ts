/**
 * Issue #15: a rotation run killed between any two of its steps. The run is staged to die
 * after its n-th call to DynamoDB or KMS (every later call is reset, as for a process that
 * is gone), for every n until a run completes; after each, a run with the dependencies back
 * must converge: the ring valid, exactly one active key, and the issuer signing with it.
 */
import { describe, expect, it } from 'vitest';
import { EndpointEnv } from '../../../common/names';
import { SigningKeyState } from '../../../common/signing-key-items';
import { DynamoSigningKeyStore } from '../../../lambda/adapters/signing-key-store';
import { activeSigningKey, issuingKey } from '../../../lambda/core/issuance/issuing-key';
import { ringViolations } from '../../../lambda/core/rotation/key-ring';
import { dynamoEndpoint, freshTables, kmsEndpoint } from '../../support/aws';
import { startFaultProxy, type Countdown } from '../../support/fault-proxy';
import { rotationApp, TestClock } from './support';

/** Far more calls than a rotate makes: the loop ends when a run completes before its kill. */
const MAX_CALLS = 60;

describe('rotation killed between steps', () => {
  it('after a run killed at any dependency call, the next run converges to one active key and a valid ring', async () => {
    const [dynamo, kms] = await Promise.all([startFaultProxy(dynamoEndpoint()), startFaultProxy(kmsEndpoint())]);
    try {
      const tables = await freshTables();
      const clock = new TestClock();
      const env = { [EndpointEnv.dynamodb]: dynamo.endpoint, [EndpointEnv.kms]: kms.endpoint };
      const ring = new DynamoSigningKeyStore(tables.doc, tables.names.signingKeys);
      await rotationApp(tables, clock, { env }).handle({ action: 'step' });

      let completed = false;
      let killedRuns = 0;
      for (let calls = 0; calls < MAX_CALLS && !completed; calls += 1) {
        clock.advance(3_600);
        const countdown: Countdown = { remaining: calls };
        dynamo.reset({ after: countdown });
        kms.reset({ after: countdown });
        // A new app per run: a killed Lambda's successor starts from nothing in memory.
        const killed = await rotationApp(tables, clock, { env })
          .handle({ action: 'rotate' })
          .then(
            () => 'finished',
            () => 'killed',
          );
        completed = killed === 'finished' && countdown.remaining > 0;
        if (!completed) killedRuns += 1;
        await Promise.all([dynamo.pass(), kms.pass()]);

        clock.advance(3_600);
        await rotationApp(tables, clock, { env }).handle({ action: 'step' });
        const keys = await ring.load();
        expect(ringViolations(keys), `killed after ${calls} calls`).toEqual([]);
        expect(
          keys.filter((key) => key.state === SigningKeyState.Active),
          `killed after ${calls} calls`,
        ).toHaveLength(1);
        // The issuer signs with that key and no other.
        expect((await issuingKey({ load: () => ring.load() })).kid).toBe(activeSigningKey(keys)!.kid);
      }
      expect(completed, `a rotate finished within ${MAX_CALLS} calls`).toBe(true);
      // A rotate makes several calls (ring read, CreateKey, tagging, GetPublicKey, the ring write…): each was a kill point.
      expect(killedRuns).toBeGreaterThanOrEqual(4);
    } finally {
      await Promise.all([dynamo.close(), kms.close()]);
    }
  }, 300_000);
});
