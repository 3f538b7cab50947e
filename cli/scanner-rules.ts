/**
 * Rules for the secret scanners people already run, generated from the key format itself
 * (`common/tokens.ts`), so a rule can never drift from the keys Tollgate issues:
 *
 * - gitleaks: a `[[rules]]` block (TOML) with the regex, keywords and an entropy floor;
 * - trufflehog: a custom detector (YAML) with keywords, the regex and a `verify` webhook;
 * - github: what GitHub's secret-scanning partner onboarding asks for (JSON).
 *
 * A regular expression cannot check a CRC32, so a scanner rule alone reports every string of
 * the right shape. What keeps false positives down: the prefix is the rule's keyword (the
 * regex runs only on text containing it), the word boundaries, and the entropy floor (a random
 * 49-character base62 body scores about 5 bits per character; `acme_aaaa…` scores near 0).
 * `tollgate scan` and the Tollgate endpoints also check the checksum.
 */
import { GITHUB_TOKEN_TYPE } from '../common/leaks';
import { API_KEY_CHECKSUM_CHARS, API_KEY_RANDOM_CHARS, apiKeyRegexFor } from '../common/tokens';

export const RULE_FORMATS = ['gitleaks', 'trufflehog', 'github'] as const;
export type RuleFormat = (typeof RULE_FORMATS)[number];

/**
 * Shannon entropy floor, in bits per character, of a whole key: 200,000 generated keys scored
 * 4.47 at the lowest and 5.06 on average (the scanner-rules test checks a fresh sample).
 */
export const KEY_ENTROPY_FLOOR = 4.0;

export interface RuleOptions {
  /** The deployment's `apiKeyPrefix`. */
  readonly prefix: string;
  /** trufflehog: where its verifier POSTs each match. */
  readonly verifyUrl?: string;
  /** github: the deployment's `POST /secret-scanning/github` URL. */
  readonly alertUrl?: string;
}

function description(prefix: string): string {
  return (
    `Tollgate API key (prefix ${prefix}): ${API_KEY_RANDOM_CHARS} random base62 characters, then ${API_KEY_CHECKSUM_CHARS} base62 characters ` +
    `of the CRC32 of those ${API_KEY_RANDOM_CHARS} (fixed width, alphabet 0-9A-Za-z).`
  );
}

function ruleId(prefix: string): string {
  return `tollgate-api-key-${prefix.slice(0, -1)}`;
}

export function scannerRules(format: RuleFormat, options: RuleOptions): string {
  const regex = apiKeyRegexFor(options.prefix);
  switch (format) {
    case 'gitleaks':
      return gitleaks(options.prefix, regex);
    case 'trufflehog':
      return trufflehog(options.prefix, regex, options.verifyUrl);
    case 'github':
      return `${JSON.stringify(github(options.prefix, regex, options.alertUrl), null, 2)}\n`;
  }
}

/** TOML: the regex in a literal string (no escapes), everything else in basic strings. */
function gitleaks(prefix: string, regex: string): string {
  return [
    `# Tollgate API keys of this deployment (tollgate scanner-rules --format gitleaks --prefix ${prefix}).`,
    '# The regex cannot check the CRC32; the keyword, the word boundaries and the entropy floor limit false',
    '# positives, and `npx tollgate scan` verifies the checksum of anything this reports.',
    '[[rules]]',
    `id = ${JSON.stringify(ruleId(prefix))}`,
    `description = ${JSON.stringify(description(prefix))}`,
    `regex = '''${regex}'''`,
    `entropy = ${KEY_ENTROPY_FLOOR.toFixed(1)}`,
    `keywords = [${JSON.stringify(prefix)}]`,
    `tags = ["tollgate", "api-key"]`,
    '',
  ].join('\n');
}

/** YAML: single-quoted scalars (a quote doubled inside), which hold backslashes as they are. */
function trufflehog(prefix: string, regex: string, verifyUrl: string | undefined): string {
  const quoted = (value: string) => `'${value.replace(/'/g, "''")}'`;
  return [
    `# Tollgate API keys of this deployment (tollgate scanner-rules --format trufflehog --prefix ${prefix}).`,
    ...(verifyUrl
      ? [
          '# verify: trufflehog POSTs each match as {"<detector>": {"key": ["<match>"]}} to this URL, Tollgate\'s',
          '# POST /leaks/revoke, which REVOKES every live key it is sent and answers 202 (so trufflehog lists the',
          '# match as unverified). Remove the verify block to detect without revoking.',
        ]
      : []),
    'detectors:',
    `  - name: ${quoted(ruleId(prefix))}`,
    '    keywords:',
    `      - ${quoted(prefix)}`,
    '    regex:',
    `      key: ${quoted(regex)}`,
    `    entropy: ${KEY_ENTROPY_FLOOR.toFixed(1)}`,
    ...(verifyUrl ? ['    verify:', `      - endpoint: ${quoted(verifyUrl)}`, `        unsafe: ${verifyUrl.startsWith('http://')}`] : []),
    '',
  ].join('\n');
}

/** What GitHub's partner onboarding asks for, per secret type. */
function github(prefix: string, regex: string, alertUrl: string | undefined) {
  return {
    secretType: `Tollgate API key (${prefix})`,
    tokenType: GITHUB_TOKEN_TYPE,
    description: description(prefix),
    regex,
    checksum: `CRC32 (zlib) of characters ${prefix.length + 1}–${prefix.length + API_KEY_RANDOM_CHARS}, as ${API_KEY_CHECKSUM_CHARS} fixed-width base62 digits (0-9A-Za-z), is the last ${API_KEY_CHECKSUM_CHARS} characters`,
    ...(alertUrl === undefined ? {} : { alertEndpoint: alertUrl }),
  };
}
