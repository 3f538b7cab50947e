/**
 * Text a server supplied (an error's description) with anything credential-shaped hidden: a
 * server that echoes the request, or a proxy in front of it, may quote the very header that
 * carried a secret, and these errors are printed and logged. Hidden: the value after
 * `Bearer` or `Basic`, a JWT, a Tollgate API key of any prefix, a local admin token (`tga_…`).
 */
import { API_KEY_IN_TEXT_PATTERN } from '../common/tokens';

// Not a placeholder such as `Bearer <admin token>` in a hint.
const SCHEME_CREDENTIAL = /\b(Bearer|Basic)(\s+)(?!<)[^\s"',;]+/gi;
const JWT = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const ADMIN_TOKEN = /\btga_[A-Za-z0-9_-]{8,}/g;
const API_KEY = new RegExp(API_KEY_IN_TEXT_PATTERN.source, 'g');

export function withoutCredentials(text: string): string {
  return (
    text
      .replace(SCHEME_CREDENTIAL, '$1$2<redacted>')
      .replace(JWT, '<redacted token>')
      .replace(ADMIN_TOKEN, 'tga_<redacted>')
      // The prefix stays, as the CLI prints a key it hides: `tg_<redacted>`.
      .replace(API_KEY, (key) => key.replace(/(?:_|\\u005[fF])[0-9A-Za-z]{49}$/, '_<redacted>'))
  );
}
