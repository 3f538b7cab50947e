/**
 * `POST /admin/signing-keys/rotate` through Lambda `Invoke` (RequestResponse) of the rotation
 * function with `{"action":"rotate"}`, exactly what an operator sends from the console.
 * Lambda reports the function's own failure as HTTP 200 with `FunctionError` set and the
 * error object as payload; both that and a failed Invoke become `rotation_failed`.
 */
import { InvokeCommand, type LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import type { RotationTrigger } from '../core/admin/admin';
import { RotationFailed, TemporarilyUnavailable } from '../core/shared/issuance-errors';

export class LambdaRotationTrigger implements RotationTrigger {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionName: string,
  ) {}

  async rotate(): Promise<unknown> {
    let output: InvokeCommandOutput;
    try {
      output = await this.lambda.send(
        new InvokeCommand({ FunctionName: this.functionName, InvocationType: 'RequestResponse', Payload: JSON.stringify({ action: 'rotate' }) }),
      );
    } catch (error) {
      // Lambda throttled, unreachable or too slow: say so (503, retry), not that the rotation failed.
      if (error instanceof TemporarilyUnavailable) throw error;
      throw new RotationFailed(`The rotation function could not be invoked (${(error as Error).name}).`);
    }
    const text = Buffer.from(output.Payload ?? new Uint8Array()).toString('utf8');
    const payload = parseJson(text);
    if (output.FunctionError) {
      const message = typeof payload === 'object' && payload !== null && 'errorMessage' in payload ? String(payload.errorMessage) : text;
      throw new RotationFailed(`The rotation function failed: ${message}`);
    }
    if (payload === undefined) throw new RotationFailed('The rotation function returned a report that is not JSON.');
    return payload;
  }
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
