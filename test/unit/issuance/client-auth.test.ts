import { describe, expect, it } from 'vitest';
import { extractCredentials } from '../../../lambda/core/client-auth';
import { InvalidClient, InvalidRequest } from '../../../lambda/core/issuance-errors';
import { form } from './fakes';

const KEY = 'tg_secret';
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('extractCredentials (RFC 6749 §2.3)', () => {
  it('decodes client_secret_basic: base64 first, then form-urlencoding of each part (§2.3.1)', () => {
    expect(extractCredentials(`Basic ${b64(`acme:${KEY}`)}`, form({}))).toEqual({ method: 'client_secret_basic', clientId: 'acme', apiKey: KEY });
    expect(extractCredentials(`basic   ${b64('a%2Dc%41:tg_%2Bx')}`, form({}))).toEqual({ method: 'client_secret_basic', clientId: 'a-cA', apiKey: 'tg_+x' });
    expect(extractCredentials(`Basic ${b64('a+b:c')}`, form({})).clientId).toBe('a b');
    // The secret may itself contain a colon once decoded: only the first separates.
    expect(extractCredentials(`Basic ${b64('acme:x%3Ay:z')}`, form({})).apiKey).toBe('x:y:z');
  });

  it('accepts client_secret_post and a bearer API key', () => {
    expect(extractCredentials(undefined, form({ client_id: 'acme', client_secret: KEY }))).toEqual({ method: 'client_secret_post', clientId: 'acme', apiKey: KEY });
    expect(extractCredentials(`Bearer ${KEY}`, form({}))).toEqual({ method: 'bearer', apiKey: KEY });
  });

  it('refuses two methods in one request with invalid_request', () => {
    expect(() => extractCredentials(`Basic ${b64(`acme:${KEY}`)}`, form({ client_id: 'acme', client_secret: KEY }))).toThrow(InvalidRequest);
    expect(() => extractCredentials(`Bearer ${KEY}`, form({ client_id: 'acme', client_secret: KEY }))).toThrow(InvalidRequest);
    expect(() => extractCredentials(`Basic ${b64(`acme:${KEY}`)}`, form({ client_id: 'other' }))).toThrow(InvalidRequest);
    expect(() => extractCredentials(undefined, form({ client_secret: KEY }))).toThrow(InvalidRequest);
  });

  it('tolerates a client_id field that repeats the Basic client', () => {
    expect(extractCredentials(`Basic ${b64(`acme:${KEY}`)}`, form({ client_id: 'acme' })).method).toBe('client_secret_basic');
  });

  it.each([
    ['no credentials', undefined, false],
    ['client_id without a secret', undefined, false],
    ['an unsupported scheme', `Digest ${b64('x')}`, false],
    ['a bearer JWT instead of an API key', 'Bearer eyJhbGciOi.x.y', false],
    ['Basic without a colon', `Basic ${b64('acme')}`, true],
    ['Basic with invalid base64', 'Basic !!!', true],
    ['Basic with a broken percent-encoding', `Basic ${b64('ac%zz:x')}`, true],
  ])('refuses %s with invalid_client (Basic ones with a challenge)', (name, header, challenge) => {
    const fields = name === 'client_id without a secret' ? form({ client_id: 'acme' }) : form({});
    let caught: unknown;
    try {
      extractCredentials(header, fields);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidClient);
    expect((caught as InvalidClient).basicChallenge).toBe(challenge);
  });
});
