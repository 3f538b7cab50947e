import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { opensslSeries, opensslVerifySpeed, parseVerifyRate } from '../../../bench/lib/openssl-speed';

/** `openssl speed -mr` output of OpenSSL 3.0 (stdout), as the bench reads it. */
const ECDSA = '+DTP:256:ecdsa:nistp256:1\n+R7:16623:256:1.00\n+F4:3:256:53431.313131:16617.000000\n';
const RSA = '+DTP:2048:private:rsa:1\n+R1:3923:2048:1.00\n+F2:2:2048:3923.000000:67484.000000\n';

describe('parseVerifyRate', () => {
  it('reads the verify rate of the result line for the key size asked', () => {
    expect(parseVerifyRate(ECDSA, 256)).toBe(16617);
    expect(parseVerifyRate(RSA, 2048)).toBe(67484);
    expect(parseVerifyRate(`+F2:1:1024:9000.0:150000.5\n${RSA}`, 2048)).toBe(67484);
  });

  it('refuses output without a usable line for that size instead of guessing', () => {
    expect(() => parseVerifyRate(RSA, 4096)).toThrow('no verify rate for 4096-bit keys');
    expect(() => parseVerifyRate('', 256)).toThrow('no verify rate');
    // The human-readable table, not -mr.
    expect(() => parseVerifyRate(' 256 bits ecdsa (nistp256)   0.0000s   0.0001s  52884.7  16856.9\n', 256)).toThrow('no verify rate');
    expect(() => parseVerifyRate('+F4:3:256:53431.3:0.000000\n', 256)).toThrow('no verify rate');
    expect(() => parseVerifyRate('+F4:3:256:53431.3:inf\n', 256)).toThrow('no verify rate');
  });
});

const opensslVersion = (() => {
  try {
    return execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'none';
  }
})();

describe('opensslSeries', () => {
  it("reads the series of openssl's answer and of Node's own version string", () => {
    expect(opensslSeries('OpenSSL 3.0.19 27 Jan 2026 (Library: OpenSSL 3.0.19 27 Jan 2026)')).toBe('3.0');
    expect(opensslSeries('3.0.19')).toBe('3.0');
    expect(opensslSeries('3.5.4+quic')).toBe('3.5');
    expect(opensslSeries('LibreSSL 3.8.2')).toBeUndefined();
    expect(opensslSeries('')).toBeUndefined();
  });
});

/** The machine's own series as Node writes a version (`3.0.19`): the test runs on whichever Node the suite runs on. */
const machineSeries = `${opensslSeries(opensslVersion) ?? '3.0'}.0`;

describe('opensslVerifySpeed', () => {
  it("runs this machine's openssl 3 for a plausible rate, and refuses any other", async () => {
    const running = opensslVerifySpeed('RS256', 1, machineSeries);
    if (!opensslVersion.startsWith('OpenSSL 3.')) {
      await expect(running).rejects.toThrow(opensslVersion === 'none' ? /openssl/ : 'needs OpenSSL 3');
      return;
    }
    const speed = await running;
    expect(speed.command).toBe('openssl speed -seconds 1 -mr rsa2048');
    expect(speed.version).toBe(opensslVersion);
    // Between 1 µs and 10 ms per verification on any machine that runs the tests.
    expect(speed.verifiesPerSecond).toBeGreaterThan(100);
    expect(speed.verifiesPerSecond).toBeLessThan(1_000_000);
  }, 30_000);

  it('refuses an openssl of another series than the one Node links: its loop is not the math under that crypto.verify', async () => {
    const expected = opensslVersion.startsWith('OpenSSL 3.') ? 'of another series than the OpenSSL 3.99.0 this Node.js links' : /openssl/;
    await expect(opensslVerifySpeed('RS256', 1, '3.99.0')).rejects.toThrow(expected);
  });
});
