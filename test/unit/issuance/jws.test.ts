import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { derToJose, joseToDer, SignatureFormatError, signCompactJws, unverifiedPayload, type Signer } from '../../../lambda/core/issuance/jws';

const scalar = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('DER ↔ JOSE ECDSA signature conversion (RFC 7518 §3.4)', () => {
  it('round-trips any r and s, including high-bit and short (leading-zero) values', () => {
    fc.assert(
      fc.property(scalar, scalar, fc.nat(31), fc.nat(31), (r, s, zerosR, zerosS) => {
        r.fill(0, 0, zerosR);
        s.fill(0, 0, zerosS);
        const raw = Buffer.concat([r, s]);
        expect(Buffer.from(derToJose(joseToDer(raw), 64))).toEqual(raw);
      }),
      { numRuns: 2000 },
    );
  });

  it('pads a high-bit integer with 0x00 in DER and strips it back', () => {
    const raw = Buffer.alloc(64, 0);
    raw[0] = 0x80;
    raw[32] = 0xff;
    const der = Buffer.from(joseToDer(raw));
    expect(der.subarray(0, 6).toString('hex')).toBe('3046022100' + '80');
    expect(Buffer.from(derToJose(der, 64))).toEqual(raw);
  });

  it('left-pads a short r/s from DER to 32 bytes', () => {
    // r = 1 (one byte), s = 0x7f..: minimal INTEGERs as a real signer may emit them.
    const der = Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x7f]);
    const raw = Buffer.from(derToJose(der, 64));
    expect(raw[31]).toBe(1);
    expect(raw[63]).toBe(0x7f);
    expect(raw.subarray(0, 31).every((b) => b === 0)).toBe(true);
  });

  it('converts real node:crypto DER signatures to ones that verify as IEEE P1363', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (message) => {
        const der = sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
        const raw = derToJose(der, 64);
        expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
        expect(Buffer.from(joseToDer(raw))).toEqual(der);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses malformed DER', () => {
    const bad = [
      Buffer.from([0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]), // not a SEQUENCE
      Buffer.from([0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]), // length mismatch
      Buffer.from([0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01]), // negative INTEGER
      Buffer.from([0x30, 0x04, 0x02, 0x01, 0x01, 0x02]), // truncated
      Buffer.concat([Buffer.from([0x30, 0x25, 0x02, 0x21]), Buffer.alloc(33, 0x7f), Buffer.from([0x02, 0x00])]), // r wider than 32 bytes, empty s
    ];
    for (const der of bad) expect(() => derToJose(der, 64)).toThrow(SignatureFormatError);
    expect(() => joseToDer(new Uint8Array(3))).toThrow(SignatureFormatError);
  });
});

describe('compact JWS assembly', () => {
  const key = { kid: 'k1', alg: 'ES256' as const, kmsKeyArn: 'arn:aws:kms:us-east-1:1:key/x' };

  it('signs header.payload through the signer port and emits a raw r‖s signature', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const seen: string[] = [];
    const signer: Signer = {
      sign: async (_key, algorithm, message) => {
        seen.push(algorithm);
        return sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
      },
    };
    const jws = await signCompactJws({ alg: 'ES256', kid: 'k1' }, { jti: 'abc' }, key, signer);
    const [h, p, s] = jws.split('.');
    expect(seen).toEqual(['ECDSA_SHA_256']);
    expect(Buffer.from(s!, 'base64url')).toHaveLength(64);
    expect(verify('sha256', Buffer.from(`${h}.${p}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(s!, 'base64url'))).toBe(true);
    expect(unverifiedPayload(jws)).toEqual({ jti: 'abc' });
  });

  it('decodes no payload from things that are not a JWS', () => {
    expect(unverifiedPayload('tg_abc')).toBeUndefined();
    expect(unverifiedPayload('a.b')).toBeUndefined();
    expect(unverifiedPayload('a..c')).toBeUndefined();
    expect(unverifiedPayload(`a.${Buffer.from('[1]').toString('base64url')}.c`)).toBeUndefined();
    expect(unverifiedPayload(`a.${Buffer.from('{nope').toString('base64url')}.c`)).toBeUndefined();
  });
});
