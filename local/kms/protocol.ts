/**
 * The KMS JSON 1.1 wire protocol as the local endpoint speaks it: reading a request body
 * and its members, writing an answer. Member type errors are SerializationException,
 * constraint violations ValidationException with the wording KMS uses
 * ("1 validation error detected: ...").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KmsError, serialization, validation } from './errors';
import type { Tag } from './key-store';

export const TARGET_PREFIX = 'TrentService.';
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
/** `Credential=<access key>/<yyyymmdd>/<region>/<service>/aws4_request` in a SigV4 Authorization header. */
export const CREDENTIAL_SCOPE = /Credential=[^/\s,]+\/\d{8}\/([a-z0-9-]+)\/[^/\s,]+\/aws4_request/;
const MAX_BODY_BYTES = 1024 * 1024;

export class Members {
  constructor(private readonly body: Record<string, unknown>) {}

  string(name: string, limits: { min?: number; max: number }): string | undefined {
    const value = this.typed(name, 'string');
    if (value === undefined) return undefined;
    if (value.length < (limits.min ?? 1)) throw constraint(name, value, `Member must have length greater than or equal to ${limits.min ?? 1}`);
    if (value.length > limits.max) throw constraint(name, value, `Member must have length less than or equal to ${limits.max}`);
    return value;
  }

  requiredString(name: string, limits: { min?: number; max: number }): string {
    return this.string(name, limits) ?? missing(name);
  }

  enumValue<T extends string>(name: string, values: readonly T[]): T | undefined {
    const value = this.typed(name, 'string');
    if (value === undefined) return undefined;
    if (!(values as readonly string[]).includes(value)) {
      throw constraint(name, value, `Member must satisfy enum value set: [${values.join(', ')}]`);
    }
    return value as T;
  }

  requiredEnum<T extends string>(name: string, values: readonly T[]): T {
    return this.enumValue(name, values) ?? missing(name);
  }

  integer(name: string, min: number, max: number): number | undefined {
    const value = this.typed(name, 'number');
    if (value === undefined) return undefined;
    if (!Number.isInteger(value)) throw serialization(`'${name}' must be an integer`);
    if (value < min) throw constraint(name, value, `Member must have value greater than or equal to ${min}`);
    if (value > max) throw constraint(name, value, `Member must have value less than or equal to ${max}`);
    return value;
  }

  boolean(name: string): boolean | undefined {
    return this.typed(name, 'boolean');
  }

  /** Blobs travel as base64 strings; the value itself is left out of messages, as KMS does. */
  requiredBlob(name: string, min: number, max: number): Buffer {
    const encoded = this.typed(name, 'string') ?? missing(name);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
      throw serialization(`'${name}' is not valid base64`);
    }
    const bytes = Buffer.from(encoded, 'base64');
    if (bytes.length < min) throw constraint(name, undefined, `Member must have length greater than or equal to ${min}`);
    if (bytes.length > max) throw constraint(name, undefined, `Member must have length less than or equal to ${max}`);
    return bytes;
  }

  tags(name: string): Tag[] | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw serialization(`'${name}' must be a list`);
    return value.map((entry: unknown, index) => {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw serialization(`'${name}[${index}]' must be a structure`);
      }
      const tag = new Members(entry as Record<string, unknown>);
      const tagKey = tag.requiredString('TagKey', { max: 128 });
      const tagValue = tag.requiredString('TagValue', { min: 0, max: 256 });
      // KMS reserves the aws: prefix for AWS-generated tags and rejects it as an invalid tag.
      if (tagKey.toLowerCase().startsWith('aws:')) throw new KmsError('TagException', `Tag key '${tagKey}' uses the reserved prefix aws:`);
      return { TagKey: tagKey, TagValue: tagValue };
    });
  }

  private typed(name: string, type: 'string'): string | undefined;
  private typed(name: string, type: 'number'): number | undefined;
  private typed(name: string, type: 'boolean'): boolean | undefined;
  private typed(name: string, type: 'string' | 'number' | 'boolean'): string | number | boolean | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== type) throw serialization(`'${name}' must be a ${type}`);
    return value as string | number | boolean;
  }
}

function memberPath(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function constraint(name: string, value: unknown, rule: string): KmsError {
  const shown = value === undefined ? '' : ` '${String(value)}'`;
  return validation(`1 validation error detected: Value${shown} at '${memberPath(name)}' failed to satisfy constraint: ${rule}`);
}

export function missing(name: string): never {
  throw validation(`1 validation error detected: Value null at '${memberPath(name)}' failed to satisfy constraint: Member must not be null`);
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function tooLarge(): KmsError {
  return new KmsError('ValidationException', `Request body exceeds ${MAX_BODY_BYTES} bytes`, 413);
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      req.off('data', onData);
      req.resume();
      reject(tooLarge());
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function parseBody(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw serialization('The request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw serialization('The request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

export function send(res: ServerResponse, status: number, body: Record<string, unknown>, requestId: string, errorType?: string): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(payload),
    'x-amzn-RequestId': requestId,
    ...(errorType && { 'x-amzn-ErrorType': errorType }),
    ...(status === 413 && { Connection: 'close' }),
  });
  res.end(payload);
}
