/**
 * The descriptor table (`common/settings.ts`) is the one place a setting's name, variable,
 * default and bounds are written; these checks keep it consistent with itself and with the
 * one list it cannot import (a descriptor holds literals only, so bundles can drop it).
 */
import { describe, expect, it } from 'vitest';
import * as S from '../../../common/settings';
import { KEY_SPECS } from '../../../common/tokens';

describe('the setting descriptors', () => {
  it('name every setting once, each with its own variable', () => {
    const names = S.SETTING_DESCRIPTORS.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    const envs = S.SETTING_DESCRIPTORS.flatMap((d) => ('env' in d && d.env ? [d.env] : []));
    expect(new Set(envs).size).toBe(envs.length);
    for (const d of S.SETTING_DESCRIPTORS) expect('env' in d && d.env !== undefined).toBe('readBy' in d && (d.readBy?.length ?? 0) > 0);
  });

  it('offer the key specs the signer supports', () => {
    expect(S.keySpec.values).toEqual(KEY_SPECS);
  });
});
