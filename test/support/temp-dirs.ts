/**
 * Temp folders for one test file: each call makes a fresh folder under one root that the
 * file's `afterAll` removes, passed or failed, so a run leaves nothing in the OS temp dir.
 * Call `tempDirs` at a file's (or a module's) top level, during collection; the returned
 * function may be called at collection time, in hooks or in tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export function tempDirs(prefix: string): (name?: string) => string {
  let root: string | undefined;
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });
  return (name = 'dir-') => mkdtempSync(join((root ??= mkdtempSync(join(tmpdir(), prefix))), name));
}
