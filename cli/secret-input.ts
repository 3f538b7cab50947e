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
/**
 * What a pasted API key, or most of one, looks like (a lowercase prefix, `_`, a long base62
 * body): never echoed as a variable name, even a character short or long of a whole key.
 */
const KEY_LIKE = /^[a-z0-9]{2,10}_[0-9A-Za-z]{20,}$/;

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
  if (KEY_LIKE.test(name) || name.startsWith('tg_') || !ENV_NAME.test(name)) {
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
