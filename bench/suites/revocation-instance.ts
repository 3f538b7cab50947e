/**
 * One authorizer instance of P4, in a worker thread: the real handler module (imported
 * with the environment the local stack set, so it reads the stack's ring and revocation
 * feed in DynamoDB Local), every token decided once so each is cached, then steady
 * traffic on a timer. A token the suite says it revoked is asked for on every tick until
 * the first 401, whose time is kept.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { authorizerEventFor, expectAllowed } from '../lib/authorizer-under-test';
import type { FromInstance, InstanceData, ToInstance } from '../lib/instance-protocol';
import { nowNs } from '../lib/timing';
import { UNAUTHORIZED } from '../../lambda/authorizer/authorize';

const { tokens, tickMs } = workerData as InstanceData;
const port = parentPort!;
const post = (message: FromInstance) => port.postMessage(message);

const { handler } = await import('../../lambda/authorizer/handler');
const events = new Map<string, APIGatewayRequestAuthorizerEvent>(tokens.map((t) => [t.jti, authorizerEventFor(t.token)]));
for (const event of events.values()) await expectAllowed(handler, event);

const rejectedAtNs = new Map<string, bigint>();
const watched = new Set<string>();
const errors: string[] = [];
let decisions = 0;
let next = 0;

async function decide(jti: string): Promise<void> {
  decisions += 1;
  try {
    await handler(events.get(jti)!);
  } catch (error) {
    if ((error as Error).message !== UNAUTHORIZED) {
      errors.push((error as Error).message);
      return;
    }
    if (!rejectedAtNs.has(jti)) rejectedAtNs.set(jti, nowNs());
    watched.delete(jti);
  }
}

setInterval(() => {
  const background = tokens[next++ % tokens.length]!.jti;
  if (!rejectedAtNs.has(background)) void decide(background);
  for (const jti of watched) void decide(jti);
}, tickMs);

port.on('message', (message: ToInstance) => {
  if (message.type === 'watch') {
    if (!rejectedAtNs.has(message.jti)) watched.add(message.jti);
  } else {
    post({ type: 'report', rejectedAtNs, decisions, errors });
  }
});
post({ type: 'ready' });
