/**
 * Lambda entry point of the metering function: a CloudWatch Logs subscription delivery in,
 * nothing out (a failure throws, so Lambda retries it). `app.ts` wires the function once at
 * cold start, `metering.ts` meters a delivery, `config.ts` reads the settings.
 */
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { meterDelivery } from './app';

export const handler = (event: CloudWatchLogsEvent): Promise<void> => meterDelivery(event);
