/**
 * One configuration error type for the stack at synth, `npm start` and every function's cold
 * start (`common/errors.ts`), each naming the setting it refuses.
 */
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../common/errors';
import { parseServices } from '../../common/services';
import { readConfig } from '../../lib/config';
import { requireString } from '../../lambda/core/shared/env';
import { parseConfigFile } from '../../local/start-input';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

describe('ConfigurationError', () => {
  it('is what the stack, npm start, a function and the services parser refuse a setting with, naming it', () => {
    const settings: Record<string, unknown> = { upstreamUrl: 'https://up.example.com', tokenTtlSeconds: 1 };
    const synth = thrown(() => readConfig((name) => settings[name]));
    expect(synth).toBeInstanceOf(ConfigurationError);
    expect(synth).toMatchObject({ setting: 'tokenTtlSeconds' });
    const start = thrown(() => parseConfigFile('{"tokenTtlSeconds": 1}', 'c.json'));
    expect(start).toBeInstanceOf(ConfigurationError);
    expect((start as Error).message).toMatch(/^c\.json: tokenTtlSeconds/);
    const coldStart = thrown(() => requireString({}, 'TOLLGATE_ISSUER'));
    expect(coldStart).toBeInstanceOf(ConfigurationError);
    expect((coldStart as Error).message).toMatch(/TOLLGATE_ISSUER/);
    const services = thrown(() => parseServices('[]', 'TOLLGATE_SERVICES'));
    expect(services).toBeInstanceOf(ConfigurationError);
    expect(services).toMatchObject({ setting: 'TOLLGATE_SERVICES' });
  });
});
