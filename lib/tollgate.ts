/**
 * Tollgate in a team's own CDK app: one construct that reads and checks the settings (the
 * same names and checks as this repository's CDK context, `lib/config.ts`) and builds the
 * tables and the API inside the caller's scope. Teams that want stateful and stateless
 * apart use `TollgateDataStack` and `TollgateApiStack` (`lib/stacks.ts`) instead.
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';
import { ConfigurationError } from '../common/errors';
import { nearMiss } from '../common/near-miss';
import { readConfig } from './config';
import { TokenData } from './data';
import { namedTollgate } from './physical-names';
import { ConfigError, SETTINGS, type SettingName, type TollgateConfig } from './settings';
import { TollgateApi } from './stacks';

/**
 * A setting's value as CDK context holds it: a string (as `-c name=value` gives it), or a
 * number, boolean, array or object (as `cdk.json` does). Each setting is checked by its own rule.
 */
export type SettingValue = string | number | boolean | readonly unknown[] | { readonly [key: string]: unknown };

/** Tollgate's settings by their CDK context names (docs/deploy.md#deploy lists them). */
export type TollgateSettings = { readonly [K in SettingName]?: SettingValue };

export interface TollgateProps {
  /** At least `upstreamUrl` or `services`. Checked when the construct is made. */
  readonly settings: TollgateSettings;
  /**
   * What happens to the tables and their key when they leave the stack. Anything but RETAIN
   * also turns the tables' deletion protection off. @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** @see GatewayProps.requireUsageKey */
  readonly requireUsageKey?: boolean;
  /** @see GatewayProps.tokenRouteThrottle */
  readonly tokenRouteThrottle?: ThrottleSettings;
  /** @see TollgateApiProps.outputs */
  readonly outputs?: boolean;
}

/**
 * The whole of Tollgate in one scope: the credential tables (`data`) and the API with its
 * functions (`api`). Throws a `ConfigError` naming the setting when a setting is invalid or
 * misspelt, and a `ConfigurationError` naming any other key that is not a setting.
 */
export class Tollgate extends Construct {
  /** The settings as checked, with every default filled in. */
  readonly config: TollgateConfig;
  readonly data: TokenData;
  readonly api: TollgateApi;

  constructor(scope: Construct, id: string, props: TollgateProps) {
    super(scope, id);
    namedTollgate(this);
    const settings: Readonly<Record<string, unknown>> = props.settings;
    const unknown = Object.keys(settings).filter((name) => !(SETTINGS as readonly string[]).includes(name));
    if (unknown.length > 0) throw unknownSettings(unknown);
    this.config = readConfig((setting) => settings[setting]);
    this.data = new TokenData(this, 'Data', { ...(props.removalPolicy !== undefined && { removalPolicy: props.removalPolicy }) });
    this.api = new TollgateApi(this, 'Api', {
      config: this.config,
      tables: this.data.tables,
      ...(props.requireUsageKey !== undefined && { requireUsageKey: props.requireUsageKey }),
      ...(props.tokenRouteThrottle && { tokenRouteThrottle: props.tokenRouteThrottle }),
      ...(props.outputs !== undefined && { outputs: props.outputs }),
    });
  }
}

/**
 * The refusal of keys that are no setting, checked before any setting is read: a near miss
 * (`tokenTTLSeconds`, `tokenTtlSecnods`) names the setting meant, since its value would
 * otherwise be ignored silently; any other key is named with where the settings are listed.
 */
function unknownSettings(keys: readonly string[]): ConfigurationError {
  for (const key of keys) {
    const meant = nearMiss(key, SETTINGS, 8);
    if (meant) return new ConfigError(meant, `is spelled "${key}" in the settings; setting names are case-sensitive`);
  }
  const named = keys.map((key) => JSON.stringify(key)).join(', ');
  const problem = keys.length > 1 ? 'are not settings' : 'is not a setting';
  return new ConfigurationError(
    `Invalid Tollgate configuration: ${named} ${problem} (docs/deploy.md#deploy lists them)`,
    keys.length > 1 ? undefined : keys[0],
  );
}
