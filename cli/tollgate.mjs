#!/usr/bin/env node
// `npx tollgate` from a clone without a build step: register tsx's ESM loader, then load
// the TypeScript entry point. (package.json "bin" points here.)
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
