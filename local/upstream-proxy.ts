/**
 * The local gateway's HTTP proxy integration, buffered as the deployed stage's is: the
 * upstream's whole answer is read before anything of it is sent on, within the integration
 * timeout (headers and body together) and API Gateway's payload limit. An answer that takes
 * longer, grows larger, or breaks off is a failure the gateway answers itself; the client
 * never sees part of it.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { IntegrationResponseTooLarge, IntegrationTimeout } from './gateway-answers';

/** One request to the upstream, as the integration sends it. */
export interface UpstreamRequest {
  readonly url: URL;
  /** The upstream's configured URL, which failures name. */
  readonly upstreamUrl: string;
  readonly method: string;
  readonly headers: Record<string, string[]>;
  readonly body: Buffer;
}

/** The bounds of one integration call: the stage's timeout and payload limit. */
export interface IntegrationLimits {
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

/** The upstream's complete answer. */
export interface UpstreamAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * Sends `request` and reads the whole answer. Rejects with {@link IntegrationTimeout} when the
 * answer is not complete within `timeoutMs` of sending, {@link IntegrationResponseTooLarge}
 * as soon as its body (declared or received) exceeds `maxResponseBytes`, and an Error naming
 * the upstream when it cannot be reached or breaks off its answer. The connection is closed
 * on every failure.
 */
export function forward(request: UpstreamRequest, limits: IntegrationLimits): Promise<UpstreamAnswer> {
  const { url, upstreamUrl } = request;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      outcome();
    };
    const fail = (error: Error) =>
      finish(() => {
        reject(error);
        upstream.destroy();
      });
    const upstream = send(url, { method: request.method, headers: request.headers }, (answer) => {
      const status = answer.statusCode ?? 502;
      const tooLarge = () => new IntegrationResponseTooLarge(upstreamUrl, status, limits.maxResponseBytes);
      // A HEAD answer declares the length of a body it does not send.
      if (request.method !== 'HEAD' && Number(answer.headers['content-length']) > limits.maxResponseBytes) return fail(tooLarge());
      const chunks: Buffer[] = [];
      let size = 0;
      answer.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxResponseBytes) return fail(tooLarge());
        chunks.push(chunk);
      });
      answer.on('end', () => finish(() => resolve({ status, headers: answer.headers, body: Buffer.concat(chunks, size) })));
      answer.on('error', (error) => fail(new Error(`upstream ${upstreamUrl} broke off its answer: ${error.message}`)));
      answer.on('close', () => {
        if (!answer.complete) fail(new Error(`upstream ${upstreamUrl} closed the connection before its answer was complete`));
      });
    });
    const timeout = setTimeout(() => fail(new IntegrationTimeout(upstreamUrl, limits.timeoutMs)), limits.timeoutMs);
    upstream.on('error', (error) => fail(new Error(`upstream ${upstreamUrl} unreachable: ${error.message}`)));
    upstream.end(request.body);
  });
}
