import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writePrivateFile } from '../../../local/state';

describe('writePrivateFile (local state.json, the local KMS key file)', () => {
  const dirs: string[] = [];
  const dir = () => {
    const made = mkdtempSync(join(tmpdir(), 'tollgate-private-'));
    dirs.push(made);
    return made;
  };
  afterEach(() => {
    for (const made of dirs.splice(0)) rmSync(made, { recursive: true, force: true });
  });

  it('leaves a file that already existed with a wider mode readable by its owner only, holding the new content', () => {
    const path = join(dir(), 'state.json');
    writeFileSync(path, '{"old":true}');
    chmodSync(path, 0o644);
    writePrivateFile(path, '{"adminToken":"secret"}');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe('{"adminToken":"secret"}');
  });

  it('creates missing directories, and leaves no temporary file behind', () => {
    const root = dir();
    const path = join(root, 'nested', 'state.json');
    writePrivateFile(path, 'x');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(root, 'nested'))).toEqual(['state.json']);
  });

  it('fails without touching the old file when it cannot write, and cleans up', () => {
    const root = dir();
    const path = join(root, 'state.json');
    writeFileSync(path, 'old');
    // A directory where the file should go: the rename fails.
    const blocked = join(root, 'blocked');
    writePrivateFile(join(blocked, 'inner'), 'y');
    expect(() => writePrivateFile(blocked, 'z')).toThrow();
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(root).sort()).toEqual(['blocked', 'state.json']);
  });
});
