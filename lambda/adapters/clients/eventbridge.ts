import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { bounded, clientOptions, type Environment } from './options';

export function eventBridgeClient(env: Environment = process.env): EventBridgeClient {
  return bounded(new EventBridgeClient(clientOptions('events', env)), 'eventbridge');
}
