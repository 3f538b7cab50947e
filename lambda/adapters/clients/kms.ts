import { KMSClient } from '@aws-sdk/client-kms';
import { clientOptions, type Environment } from './options';

export function kmsClient(env: Environment = process.env): KMSClient {
  return new KMSClient(clientOptions('kms', env));
}
