/**
 * Where the `token` command gets the API key from. Never from a plain argument: arguments
 * land in shell history and are visible to every user through `ps` / `/proc/<pid>/cmdline`.
 */
import { assertApiKeyShape } from '../client/token-endpoint';
import { UsageError } from './errors';

export const DEFAULT_API_KEY_ENV = 'TOLLGATE_API_KEY';

export interface SecretSource {
  readonly apiKeyEnv?: string;
  readonly apiKeyStdin?: boolean;
}

export interface SecretInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stdin is a terminal (where typing would echo the key). */
  readonly stdinIsTty: boolean;
  readonly readStdin: () => Promise<string>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Runs of characters an API key's random body is made of, long enough to be most of one. */
const LONG_BASE62_RUN = /[0-9A-Za-z]{20,}/g;
const LONG_MIXED_CASE_RUN = 40;

/**
 * Whether a would-be variable name holds most of an API key: a run of 20 or more base62
 * characters mixing digits, lower and upper case, as a key's random body does and a variable
 * name hardly ever does, or a run of 40 or more mixing cases (the one body in ~5,500 with no
 * digit). Caught with or without its prefix, a character short or long.
 */
function holdsKeyMaterial(name: string): boolean {
  return (name.match(LONG_BASE62_RUN) ?? []).some((run) => /[a-z]/.test(run) && /[A-Z]/.test(run) && (/[0-9]/.test(run) || run.length >= LONG_MIXED_CASE_RUN));
}

export async function readApiKey(source: SecretSource, input: SecretInput): Promise<string> {
  if (source.apiKeyEnv !== undefined && source.apiKeyStdin) throw new UsageError('use either --api-key-env or --api-key-stdin, not both');
  const { value, origin } = source.apiKeyStdin ? await fromStdin(input) : fromEnv(source.apiKeyEnv ?? DEFAULT_API_KEY_ENV, input.env);
  try {
    assertApiKeyShape(value, origin);
  } catch {
    throw new UsageError(`${origin} does not hold a Tollgate API key (tg_ followed by 49 base62 characters)`);
  }
  return value;
}

function fromEnv(name: string, env: SecretInput['env']): { value: string; origin: string } {
  // Someone who typed the key itself here must not see it echoed back in the error, whatever
  // the deployment's key prefix (`acme_…` is a valid variable name too).
  if (holdsKeyMaterial(name) || name.startsWith('tg_') || !ENV_NAME.test(name)) {
    throw new UsageError('--api-key-env takes the NAME of an environment variable that holds the key, not the key itself');
  }
  const value = env[name];
  if (value === undefined || value === '') {
    throw new UsageError(`environment variable ${name} is not set; export it, or pipe the key in with --api-key-stdin`);
  }
  return { value: value.trim(), origin: `environment variable ${name}` };
}

async function fromStdin(input: SecretInput): Promise<{ value: string; origin: string }> {
  if (input.stdinIsTty) throw new UsageError('--api-key-stdin reads the key from a pipe or a file, not from a terminal');
  return { value: (await input.readStdin()).trim(), origin: 'standard input' };
}
