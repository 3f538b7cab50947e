/**
 * Errors of the local KMS endpoint, shaped like KMS's own: `__type` + `message`, mostly HTTP 400.
 */

export class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export function validation(message: string): KmsError {
  return new KmsError('ValidationException', message);
}

export function unsupported(message: string): KmsError {
  return new KmsError('UnsupportedOperationException', message);
}

export function serialization(message: string): KmsError {
  return new KmsError('SerializationException', message);
}
