/**
 * Tollgate in a team's own CDK app: one construct that reads and checks the settings (the
 * same names and checks as this repository's CDK context, `lib/config.ts`) and builds the
 * tables and the API inside the caller's scope. Teams that want stateful and stateless
 * apart use `TollgateDataStack` and `TollgateApiStack` (`lib/stacks.ts`) instead.
 */
import type { RemovalPolicy } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';
import { readConfig } from './config';
import { TokenData } from './data';
import { namedTollgate } from './physical-names';
import type { SettingName, TollgateConfig } from './settings';
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
   * What happens to the tables and their key when they leave the stack: see
   * `TokenDataProps.removalPolicy` (DESTROY turns the tables' deletion protection off, both
   * RETAIN policies keep it on, SNAPSHOT is refused). @default RemovalPolicy.RETAIN
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
    this.config = readConfig((setting) => settings[setting], Object.keys(settings), 'settings');
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
