/**
 * Differential property test: our hand-rolled verifier (node:crypto directly) must agree
 * with `jose.jwtVerify`, configured with the same policy, on thousands of generated
 * valid and corrupted tokens of both algorithms.
 *
 * Where we are deliberately stricter than a general JWT library (documented at the top of
 * access-token-verifier.ts), the oracle is jose's verdict AND those few extra rules,
 * written out here independently of the implementation.
 */
import { createHmac } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { jwtVerify } from 'jose';
import { AccessTokenVerifier } from '../../../lambda/core/authorizer/access-token-verifier';
import { TokenRejected } from '../../../lambda/core/authorizer/authorizer-errors';
import { KeyRingCache } from '../../../lambda/core/authorizer/key-ring-cache';
import { FakeKeySource, NOW_MS, NOW_S } from './support/fixtures';
import { AUDIENCE, b64url, claims, generateTestKey, ISSUER, signatureOf, type TestKey } from './support/tokens';

const SKEW = 30;
const MAX_LIFETIME = 3600;
const REQUIRED = ['sub', 'client_id', 'jti', 'scope', 'cid', 'iat', 'exp'];

let keysByKid: Map<string, TestKey>;
let ring: KeyRingCache;
const verifier = new AccessTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, clockSkewSeconds: SKEW, maxLifetimeSeconds: MAX_LIFETIME });

beforeAll(async () => {
  const es = generateTestKey('ES256', { kid: 'k-es' });
  const rs = generateTestKey('RS256', { kid: 'k-rs' });
  keysByKid = new Map([es, rs].map((k) => [k.kid, k]));
  ring = new KeyRingCache({ source: new FakeKeySource([es.record, rs.record]), refreshIntervalMs: 60_000 });
  await ring.refresh(NOW_MS);
});

/** The oracle: jose's verdict under our policy, plus our documented stricter rules. */
async function oracleAccepts(token: string): Promise<boolean> {
  const parts = token.split('.');
  // Canonical base64url: re-encoding the bytes gives the same text (no spare bits set, RFC 4648 §3.5).
  const canonical = (p: string) => /^[A-Za-z0-9_-]+$/.test(p) && Buffer.from(p, 'base64url').toString('base64url') === p;
  if (parts.length !== 3 || !parts.every(canonical)) return false;
  const header = lenientJson(parts[0]!);
  const key = typeof header?.kid === 'string' ? keysByKid.get(header.kid) : undefined;
  if (!key || header?.crit !== undefined) return false;
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [key.alg],
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      clockTolerance: SKEW,
      maxTokenAge: MAX_LIFETIME,
      requiredClaims: REQUIRED,
      currentDate: new Date(NOW_S * 1000),
    }));
  } catch {
    return false;
  }
  const { sub, client_id, jti, cid, scope, iat, exp, nbf } = payload;
  return (
    typeof sub === 'string' &&
    sub !== '' &&
    client_id === sub &&
    typeof jti === 'string' &&
    jti !== '' &&
    typeof cid === 'string' &&
    cid !== '' &&
    typeof scope === 'string' &&
    typeof iat === 'number' &&
    typeof exp === 'number' &&
    exp - iat <= MAX_LIFETIME &&
    iat <= NOW_S + SKEW &&
    (nbf === undefined || typeof nbf === 'number')
  );
}

function lenientJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function oursAccepts(token: string): boolean {
  try {
    verifier.verify(token, ring, NOW_S);
    return true;
  } catch (error) {
    if (error instanceof TokenRejected) return false;
    throw error;
  }
}

// ---- generators -------------------------------------------------------------------

const offset = fc.oneof(fc.integer({ min: -4000, max: 4000 }), fc.constantFrom(-31, -30, -29, 0, 29, 30, 31, 3600, 3601));

const anyClaims = fc
  .record(
    {
      iat: offset,
      /** Pin `exp` (instead of `iat`) to an offset, so both boundaries get hit exactly. */
      anchorExp: fc.boolean(),
      lifetime: fc.oneof(fc.constantFrom(900, 3600, 3601, 60), fc.integer({ min: -100, max: 5000 })),
      nbf: fc.option(offset, { nil: undefined }),
      iss: fc.constantFrom(ISSUER, ISSUER, ISSUER, 'https://evil.example', `${ISSUER}/`),
      aud: fc.constantFrom<unknown>(AUDIENCE, AUDIENCE, [AUDIENCE, 'x'], ['x'], 'other', 42, undefined),
      sub: fc.constantFrom<unknown>('acme', 'acme', 'acme', '', 7),
      clientIdMatches: fc.constantFrom(true, true, true, true, true, true, true, true, true, false),
      scope: fc.constantFrom<unknown>('orders:read', '', 'a b', ['a'], undefined),
      drop: fc.constantFrom<string | undefined>(undefined, undefined, undefined, undefined, 'jti', 'cid', 'iat', 'exp', 'client_id'),
    },
    { requiredKeys: ['iat', 'anchorExp', 'lifetime', 'iss', 'aud', 'sub', 'clientIdMatches', 'scope', 'drop'] },
  )
  .map((g) => {
    const iat = g.anchorExp ? NOW_S + g.iat - g.lifetime : NOW_S + g.iat;
    const c = claims(NOW_S, {
      iat,
      exp: iat + g.lifetime,
      iss: g.iss,
      aud: g.aud,
      sub: g.sub,
      client_id: g.clientIdMatches ? g.sub : 'someone-else',
      scope: g.scope,
      ...(g.nbf === undefined ? {} : { nbf: NOW_S + g.nbf }),
    });
    if (g.drop) delete c[g.drop];
    return c;
  });

/**
 * Claims that pass every check, or sit one second either side of one time boundary
 * (`exp`, `nbf`, `iat`, lifetime), so corruptions and boundaries start from otherwise
 * valid tokens often enough.
 */
const validClaims = fc
  .record({
    iat: fc.integer({ min: -500, max: SKEW }),
    lifetime: fc.integer({ min: 600, max: MAX_LIFETIME }),
    nbf: fc.option(fc.integer({ min: -600, max: SKEW }), { nil: undefined }),
    edge: fc.constantFrom<'none' | 'iat' | 'exp' | 'nbf' | 'lifetime'>('none', 'none', 'iat', 'exp', 'nbf', 'lifetime'),
    delta: fc.constantFrom(-1, 0, 1),
  })
  .map((g) => {
    let iat = NOW_S + g.iat;
    let exp = iat + g.lifetime;
    let nbf = g.nbf === undefined ? undefined : NOW_S + g.nbf;
    if (g.edge === 'iat') [iat, exp] = [NOW_S + SKEW + g.delta, NOW_S + SKEW + g.delta + 900];
    if (g.edge === 'exp') [iat, exp] = [NOW_S - SKEW + g.delta - 900, NOW_S - SKEW + g.delta];
    if (g.edge === 'nbf') nbf = NOW_S + SKEW + g.delta;
    if (g.edge === 'lifetime') exp = iat + MAX_LIFETIME + g.delta;
    return claims(NOW_S, { iat, exp, ...(nbf === undefined ? {} : { nbf }) });
  });

const claimSet = fc.oneof({ weight: 3, arbitrary: validClaims }, { weight: 2, arbitrary: anyClaims });

const anyHeader = fc.record({
  kid: fc.constantFrom<unknown>('same', 'same', 'same', 'same', 'other-alg', 'unknown', undefined, 12),
  typ: fc.constantFrom<unknown>('at+jwt', 'at+jwt', 'at+jwt', 'application/at+jwt', 'AT+JWT', 'JWT', 'jwt', undefined),
  extra: fc.constantFrom<Record<string, unknown>>({}, {}, {}, { crit: ['exp'] }, { jku: 'https://evil.example' }, { jwk: { kty: 'EC' } }, { x5c: ['AAAA'] }),
});
const headerVariant = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kid: 'same' as unknown, typ: 'at+jwt' as unknown, extra: {} }) },
  { weight: 2, arbitrary: anyHeader },
);

type Corruption =
  | { kind: 'none' }
  | { kind: 'flip'; part: 0 | 1 | 2; at: number; bit: number }
  | { kind: 'zeroSignature' }
  | { kind: 'derSignature' }
  | { kind: 'extraDot' | 'missingPart' | 'padSignature' | 'swapNone' | 'hs256' | 'nonObjectPayload' | 'hugeNumber' }
  | { kind: 'badChar'; part: 0 | 1 | 2; at: number; char: string };

const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('flip' as const),
      part: fc.constantFrom(0 as const, 1 as const, 2 as const),
      at: fc.nat(),
      bit: fc.integer({ min: 0, max: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'zeroSignature' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'derSignature' as const }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      ...(['extraDot', 'missingPart', 'padSignature', 'swapNone', 'hs256', 'nonObjectPayload', 'hugeNumber'] as const).map((kind) => ({ kind })),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('badChar' as const),
      part: fc.constantFrom(0 as const, 1 as const, 2 as const),
      at: fc.nat(),
      char: fc.constantFrom('=', '+', '/', '!', ' ', '.', '\u0141', '%'),
    }),
  },
);

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function build(
  alg: 'ES256' | 'RS256',
  payload: Record<string, unknown>,
  variant: { kid: unknown; typ: unknown; extra: Record<string, unknown> },
  c: Corruption,
): string {
  const key = keysByKid.get(alg === 'ES256' ? 'k-es' : 'k-rs')!;
  const kid = variant.kid === 'same' ? key.kid : variant.kid === 'other-alg' ? (alg === 'ES256' ? 'k-rs' : 'k-es') : variant.kid;
  const header: Record<string, unknown> = {
    alg,
    ...(kid === undefined ? {} : { kid }),
    ...(variant.typ === undefined ? {} : { typ: variant.typ }),
    ...variant.extra,
  };
  let payloadJson = JSON.stringify(payload);
  if (c.kind === 'nonObjectPayload') payloadJson = JSON.stringify([payload]);
  if (c.kind === 'hugeNumber') payloadJson = payloadJson.replace(/"exp":-?\d+/, '"exp":1e999');
  if (c.kind === 'swapNone') header.alg = 'none';
  if (c.kind === 'hs256') header.alg = 'HS256';
  const input = `${b64url(JSON.stringify(header))}.${b64url(payloadJson)}`;
  let signature: string;
  if (c.kind === 'hs256')
    signature = createHmac('sha256', key.publicKey.export({ format: 'pem', type: 'spki' }))
      .update(input)
      .digest('base64url');
  else if (c.kind === 'swapNone') signature = '';
  else if (c.kind === 'zeroSignature') signature = Buffer.alloc(alg === 'ES256' ? 64 : 256).toString('base64url');
  else signature = signatureOf(key, input, c.kind === 'derSignature' && alg === 'ES256' ? 'der' : 'ieee-p1363').toString('base64url');
  const parts = [...input.split('.'), signature];
  switch (c.kind) {
    case 'flip': {
      const part = parts[c.part]!;
      if (part.length === 0) break;
      const i = c.at % part.length;
      const value = ALPHABET.indexOf(part[i]!);
      parts[c.part] = part.slice(0, i) + ALPHABET[value ^ (1 << c.bit)] + part.slice(i + 1);
      break;
    }
    case 'badChar': {
      const part = parts[c.part]!;
      const i = c.at % (part.length + 1);
      parts[c.part] = part.slice(0, i) + c.char + part.slice(i);
      break;
    }
    case 'padSignature':
      parts[2] += '='.repeat((4 - (parts[2]!.length % 4)) % 4 || 2);
      break;
    case 'extraDot':
      return `${parts.join('.')}.`;
    case 'missingPart':
      return `${parts[0]}.${parts[1]}`;
    default:
      break;
  }
  return parts.join('.');
}

describe('verifier vs jose.jwtVerify (differential, fast-check)', () => {
  it('agrees on thousands of generated valid and corrupted ES256 and RS256 tokens', async () => {
    let accepted = 0;
    let total = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('ES256' as const, 'ES256' as const, 'RS256' as const),
        claimSet,
        headerVariant,
        corruption,
        async (alg, payload, variant, c) => {
          const token = build(alg, payload, variant, c);
          const expected = await oracleAccepts(token);
          total += 1;
          if (expected) accepted += 1;
          expect({ token, accepted: oursAccepts(token) }).toEqual({ token, accepted: expected });
        },
      ),
      { numRuns: 3000 },
    );
    // The generator must exercise both verdicts substantially, or the agreement means little.
    expect(accepted / total).toBeGreaterThan(0.05);
    expect(accepted / total).toBeLessThan(0.95);
  }, 180_000);

  it('agrees on every single-character corruption of a valid token of each algorithm', async () => {
    for (const kid of ['k-es', 'k-rs']) {
      const key = keysByKid.get(kid)!;
      const input = `${b64url(JSON.stringify({ alg: key.alg, kid, typ: 'at+jwt' }))}.${b64url(JSON.stringify(claims(NOW_S)))}`;
      const token = `${input}.${signatureOf(key, input).toString('base64url')}`;
      expect(oursAccepts(token)).toBe(true);
      for (let i = 0; i < token.length; i += Math.max(1, Math.floor(token.length / 150))) {
        if (token[i] === '.') continue;
        const replacement = token[i] === 'A' ? 'B' : 'A';
        const corrupted = token.slice(0, i) + replacement + token.slice(i + 1);
        expect([i, oursAccepts(corrupted)]).toEqual([i, await oracleAccepts(corrupted)]);
      }
    }
  }, 120_000);
});
