import { KMSClient } from '@aws-sdk/client-kms';
import { bounded, clientOptions, type Environment } from './options';

export function kmsClient(env: Environment = process.env): KMSClient {
  return bounded(new KMSClient(clientOptions('kms', env)), 'kms');
}
