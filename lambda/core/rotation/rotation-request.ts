/**
 * What the rotation function was asked to do: the schedule's EventBridge event or one of
 * the console test events (docs/rotation.md). Anything else is refused with a message that
 * lists what is accepted, since that message is all the console user sees.
 */
import { InvalidRotationRequest } from './rotation-errors';

export type RotationAction = 'step' | 'rotate' | 'status' | 'compromised';

export type RotationRequest =
  | { readonly action: 'step'; readonly scheduled: boolean }
  | { readonly action: 'rotate' }
  | { readonly action: 'status' }
  | { readonly action: 'compromised'; readonly kid: string };

/** EventBridge rules and EventBridge Scheduler's templated target both send this detail-type. */
const SCHEDULED_DETAIL_TYPE = 'Scheduled Event';
/** RFC 7517 leaves `kid` free-form; ours are short and printable, and anything else is a typo. */
const KID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function parseRotationRequest(event: unknown): RotationRequest {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidRotationRequest(`the event must be a JSON object, got ${describe(event)}`);
  }
  const fields = event as Record<string, unknown>;
  if (fields['detail-type'] === SCHEDULED_DETAIL_TYPE) return { action: 'step', scheduled: true };
  const { action, ...rest } = fields;
  switch (action) {
    case 'step':
      return onlyAction(rest, { action: 'step', scheduled: false });
    case 'rotate':
    case 'status':
      return onlyAction(rest, { action });
    case 'compromised':
      return compromised(rest);
    case undefined:
      throw new InvalidRotationRequest('the event has no "action"');
    default:
      throw new InvalidRotationRequest(`unknown action ${describe(action)}`);
  }
}

function onlyAction<T extends RotationRequest>(rest: Record<string, unknown>, request: T): T {
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new InvalidRotationRequest(`"${request.action}" takes no other fields, got ${extra.map((f) => `"${f}"`).join(', ')}`);
  return request;
}

function compromised(rest: Record<string, unknown>): RotationRequest {
  const { kid, ...extra } = rest;
  if (kid === undefined) throw new InvalidRotationRequest('"compromised" needs the "kid" of the key to stop trusting');
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) {
    throw new InvalidRotationRequest(`"kid" must be a key id of 1–128 letters, digits or . _ : -, got ${describe(kid)}`);
  }
  onlyAction(extra, { action: 'compromised', kid });
  return { action: 'compromised', kid };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
