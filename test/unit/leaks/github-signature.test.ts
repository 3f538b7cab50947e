/**
 * GitHub's secret-scanning signature check: GitHub's own documented example request
 * verifies with GitHub's documented key; everything else (a changed byte, another key, a
 * malformed signature) does not; the key list is cached by identifier and refetched for an
 * unknown one at most once a minute, on an injected clock.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeakLimits } from '../../../common/leaks';
import { GitHubSignatureVerifier, KeyListUnavailable, parseKeyList } from '../../../lambda/core/leaks/github-signature';

/**
 * GitHub's documented test vector (GitHub Docs, "Secret scanning partner program",
 * "Implement signature verification in your secret alert service"): the key with this
 * identifier, the example payload, and its signature.
 */
const GITHUB_EXAMPLE = {
  keyIdentifier: '90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a',
  publicKey: [
    '-----BEGIN PUBLIC KEY-----',
    'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9MJJHnMfn2+H4xL4YaPDA4RpJqUq',
    'kCmRCBnYERxZanmcpzQSXs1X/AljlKkbJ8qpVIW4clayyef9gWhFbNHWAA==',
    '-----END PUBLIC KEY-----',
  ].join('\n'),
  payload: '[{"token":"some_token","type":"some_type","url":"some_url"}]',
  signature: 'MEUCIQDKZokqnCjrRtw0tni+2Ltvl/uiMJ1EGumEsp1BsNr32AIgQY1YXD2nlj+XNfGK4rBfkMJ1JDOQcYXxa2sY8FNkrKc=',
};

const githubList = { public_keys: [{ key_identifier: GITHUB_EXAMPLE.keyIdentifier, key: GITHUB_EXAMPLE.publicKey, is_current: true }] };

function p256() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (body: Buffer) => sign('sha256', body, { key: privateKey, dsaEncoding: 'der' }).toString('base64'),
  };
}

/** A key list source that counts its fetches. */
function counted(document: () => unknown) {
  const source = Object.assign(
    async () => {
      source.fetches += 1;
      return document();
    },
    { fetches: 0 },
  );
  return source;
}

describe('GitHub secret-scanning signatures', () => {
  it("GitHub's documented example request verifies with GitHub's documented key", async () => {
    const verifier = new GitHubSignatureVerifier(
      async () => githubList,
      () => 0,
    );
    expect(await verifier.verify(GITHUB_EXAMPLE.keyIdentifier, GITHUB_EXAMPLE.signature, Buffer.from(GITHUB_EXAMPLE.payload))).toEqual({ ok: true });
  });

  it('the documented example with any one byte of its body changed does not verify', async () => {
    const verifier = new GitHubSignatureVerifier(
      async () => githubList,
      () => 0,
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(GITHUB_EXAMPLE.payload.length - 1), fc.integer({ min: 1, max: 255 }), async (index, flip) => {
        const body = Buffer.from(GITHUB_EXAMPLE.payload);
        body[index] = body[index]! ^ flip;
        expect(await verifier.verify(GITHUB_EXAMPLE.keyIdentifier, GITHUB_EXAMPLE.signature, body)).toEqual({ ok: false, reason: 'bad_signature' });
      }),
      { numRuns: 200 },
    );
  });

  it('a body signed by another key, even one claiming the documented identifier, does not verify', async () => {
    const other = p256();
    const verifier = new GitHubSignatureVerifier(
      async () => githubList,
      () => 0,
    );
    const body = Buffer.from(GITHUB_EXAMPLE.payload);
    expect(await verifier.verify(GITHUB_EXAMPLE.keyIdentifier, other.sign(body), body)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses missing headers, malformed signatures and unknown identifiers without verifying', async () => {
    const verifier = new GitHubSignatureVerifier(
      async () => githubList,
      () => 0,
    );
    const body = Buffer.from(GITHUB_EXAMPLE.payload);
    expect(await verifier.verify(undefined, GITHUB_EXAMPLE.signature, body)).toEqual({ ok: false, reason: 'missing_headers' });
    expect(await verifier.verify(GITHUB_EXAMPLE.keyIdentifier, undefined, body)).toEqual({ ok: false, reason: 'missing_headers' });
    expect(await verifier.verify(GITHUB_EXAMPLE.keyIdentifier, 'not base64!', body)).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(await verifier.verify(GITHUB_EXAMPLE.keyIdentifier, 'A'.repeat(400), body)).toEqual({ ok: false, reason: 'malformed_signature' });
    // Base64 of bytes that are no DER ECDSA-Sig-Value at all.
    expect(await verifier.verify(GITHUB_EXAMPLE.keyIdentifier, Buffer.from('hello').toString('base64'), body)).toEqual({
      ok: false,
      reason: expect.stringMatching(/malformed_signature|bad_signature/),
    });
    expect(await verifier.verify('f'.repeat(64), GITHUB_EXAMPLE.signature, body)).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it('caches the list; an unknown identifier refetches it at most once per interval, and a rotated-in key is found then', async () => {
    let clock = 1_000_000;
    const first = p256();
    const second = p256();
    let list = { public_keys: [{ key_identifier: 'k1', key: first.pem, is_current: true }] };
    const source = counted(() => list);
    const verifier = new GitHubSignatureVerifier(source, () => clock);
    const body = Buffer.from('[]');

    expect(await verifier.verify('k1', first.sign(body), body)).toEqual({ ok: true });
    expect(await verifier.verify('k1', first.sign(body), body)).toEqual({ ok: true });
    expect(source.fetches).toBe(1);

    // GitHub adds a key: the first request naming it within the interval is refused, no fetch made.
    list = { public_keys: [...list.public_keys, { key_identifier: 'k2', key: second.pem, is_current: true }] };
    for (let i = 0; i < 20; i += 1) expect(await verifier.verify(`random-${i}`, first.sign(body), body)).toEqual({ ok: false, reason: 'unknown_key' });
    expect(await verifier.verify('k2', second.sign(body), body)).toEqual({ ok: false, reason: 'unknown_key' });
    expect(source.fetches).toBe(1);

    clock += LeakLimits.keysRefetchIntervalMs;
    expect(await verifier.verify('k2', second.sign(body), body)).toEqual({ ok: true });
    expect(source.fetches).toBe(2);
    // Known keys cause no fetch until the list is older than keysMaxAgeMs.
    clock += 10 * LeakLimits.keysRefetchIntervalMs;
    expect(await verifier.verify('k1', first.sign(body), body)).toEqual({ ok: true });
    expect(source.fetches).toBe(2);
  });

  it('reads the list again once it is older than keysMaxAgeMs: a key GitHub withdrew stops verifying in a warm instance', async () => {
    let clock = 1_000_000;
    const key = p256();
    let list = { public_keys: [{ key_identifier: 'k1', key: key.pem, is_current: true }] };
    const source = counted(() => list);
    const verifier = new GitHubSignatureVerifier(source, () => clock);
    const body = Buffer.from('[]');
    expect(await verifier.verify('k1', key.sign(body), body)).toEqual({ ok: true });
    list = { public_keys: [] };
    clock += LeakLimits.keysMaxAgeMs;
    expect(await verifier.verify('k1', key.sign(body), body)).toEqual({ ok: false, reason: 'unknown_key' });
    expect(source.fetches).toBe(2);
  });

  it('concurrent requests naming an unknown identifier share one fetch', async () => {
    const key = p256();
    const source = counted(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { public_keys: [{ key_identifier: 'k', key: key.pem }] };
    });
    const verifier = new GitHubSignatureVerifier(source, () => 5);
    const body = Buffer.from('x');
    const verdicts = await Promise.all(Array.from({ length: 10 }, () => verifier.verify('k', key.sign(body), body)));
    expect(verdicts.every((verdict) => verdict.ok)).toBe(true);
    expect(source.fetches).toBe(1);
  });

  it('an unreachable list before any key is known is KeyListUnavailable (503), not a refused signature; known keys survive a later failure', async () => {
    let clock = 0;
    let fail = true;
    const key = p256();
    const verifier = new GitHubSignatureVerifier(
      async () => {
        if (fail) throw new Error('connect ECONNREFUSED');
        return { public_keys: [{ key_identifier: 'k', key: key.pem }] };
      },
      () => clock,
    );
    const body = Buffer.from('x');
    await expect(verifier.verify('k', key.sign(body), body)).rejects.toBeInstanceOf(KeyListUnavailable);
    clock += LeakLimits.keysRefetchIntervalMs;
    fail = false;
    expect(await verifier.verify('k', key.sign(body), body)).toEqual({ ok: true });
    fail = true;
    clock += LeakLimits.keysRefetchIntervalMs;
    expect(await verifier.verify('other', key.sign(body), body)).toEqual({ ok: false, reason: 'unknown_key' });
    expect(await verifier.verify('k', key.sign(body), body)).toEqual({ ok: true });
  });

  it('reads only P-256 keys from the list and skips unreadable entries', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const keys = parseKeyList({
      public_keys: [
        { key_identifier: 'good', key: p256().pem },
        { key_identifier: 'rsa', key: rsa },
        { key_identifier: 'p384', key: p384 },
        { key_identifier: 'junk', key: 'not a pem' },
        { key: p256().pem },
        null,
      ],
    });
    expect([...keys.keys()]).toEqual(['good']);
    expect(() => parseKeyList({ keys: [] })).toThrow(KeyListUnavailable);
    expect(() => parseKeyList(null)).toThrow(KeyListUnavailable);
  });
});
