/**
 * The one configuration error of Tollgate: a setting it cannot run with. The stack raises it
 * at synth (naming the CDK setting), `npm start` before it starts anything (naming the
 * config-file key, option or variable), and each function at cold start (naming the
 * environment variable), so a bad value never deploys or starts. The message names the
 * setting; `setting` holds it where one setting is at fault.
 */
export class ConfigurationError extends Error {
  override readonly name: string = 'ConfigurationError';

  constructor(
    message: string,
    readonly setting?: string,
  ) {
    super(message);
  }
}
