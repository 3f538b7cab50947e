/**
 * Where local mode keeps its state, and the small file through which the CLI finds a
 * running local server (its URL and admin token) without copy-pasting.
 */
import { join } from 'node:path';

/** Relative to the directory `npm start` runs in. */
export const LOCAL_STATE_DIR = '.local';

export interface LocalState {
  readonly url: string;
  readonly adminToken: string;
  readonly pid: number;
}

export function localStatePaths(root: string) {
  return {
    root,
    dataDir: join(root, 'data'),
    pidFile: join(root, 'tollgate.pid'),
    /** Mode 0600: it holds the admin token. */
    stateFile: join(root, 'state.json'),
  };
}
