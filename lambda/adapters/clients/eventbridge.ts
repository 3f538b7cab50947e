import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { clientOptions, type Environment } from './options';

export function eventBridgeClient(env: Environment = process.env): EventBridgeClient {
  return new EventBridgeClient(clientOptions('events', env));
}
