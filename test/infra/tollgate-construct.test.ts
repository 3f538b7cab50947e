/**
 * The `Tollgate` construct (`lib/tollgate.ts`), the whole of Tollgate inside a team's own
 * stack: the same resources as the two-stack app, the same setting checks, and no cdk-nag
 * finding its own acknowledgements do not explain. Fast path: placeholder entries, no bundling.
 */
import { CfnOutput, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ConfigError, ConfigurationError, StackOutput, TokenData, Tollgate, type TollgateSettings } from '../../lib/index';
import { buildApp, resourceCounts, testApp, UPSTREAM } from './app';

function ownStack(settings: TollgateSettings, region?: string) {
  const app = testApp();
  const stack = new Stack(app, 'Orders', region ? { env: { region } } : {});
  const tollgate = new Tollgate(stack, 'Auth', { settings });
  return { app, stack, tollgate };
}

describe('the Tollgate construct in a stack of the caller', () => {
  it('makes the resources the two-stack app makes, in one stack', () => {
    const { stack } = ownStack({ upstreamUrl: UPSTREAM });
    const built = buildApp();
    const twoStacks = resourceCounts([built.data, built.api].map((s) => Template.fromStack(s).toJSON().Resources));
    expect(resourceCounts([Template.fromStack(stack).toJSON().Resources])).toEqual(twoStacks);
    expect(twoStacks['AWS::Lambda::Function']).toBe(7);
  });

  it('gives its outputs the keys the CLI’s --stack reads, as the API stack does', () => {
    const { stack } = ownStack({ upstreamUrl: UPSTREAM });
    // RestApi's own endpoint output is CDK's, named by its path in both.
    const keys = (outputs: Record<string, unknown>) =>
      Object.keys(outputs)
        .filter((key) => !key.includes('ApiEndpoint'))
        .sort();
    const expected = keys(Template.fromStack(buildApp().api).toJSON().Outputs);
    expect(keys(Template.fromStack(stack).toJSON().Outputs)).toEqual(expected);
    expect(expected).toEqual(expect.arrayContaining([StackOutput.apiUrl, StackOutput.region, StackOutput.usagePlanId]));
  });

  it('checks the settings as the app does: a bad one throws a ConfigError naming it', () => {
    expect(() => ownStack({ upstreamUrl: UPSTREAM, tokenTtlSeconds: 7200 })).toThrow(ConfigError);
    expect(() => ownStack({ upstreamUrl: UPSTREAM, tokenTtlSeconds: 7200 })).toThrow(/tokenTtlSeconds must be a whole number from 60 to 3600/);
    // Advice for both ways in: the CDK command line and this construct's settings.
    expect(() => ownStack({})).toThrow(
      'upstreamUrl is required unless services is given: -c upstreamUrl=https://… on the CDK command line, or settings.upstreamUrl of the Tollgate construct',
    );
  });

  /** What the construct throws for these settings. */
  function refusal(settings: Record<string, unknown>): unknown {
    try {
      ownStack(settings as TollgateSettings);
    } catch (error) {
      return error;
    }
    throw new Error('the construct accepted the settings');
  }

  it('refuses a key that is no setting with a ConfigurationError naming it, before reading any setting', () => {
    const error = refusal({ color: 'blue' });
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).not.toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ setting: 'color', message: 'Invalid Tollgate configuration: "color" is not a setting (docs/deploy.md#deploy lists them)' });
    expect(refusal({ upstreamUrl: UPSTREAM, color: 'blue', size: 3 })).toMatchObject({
      setting: undefined,
      message: expect.stringContaining('"color", "size" are not settings'),
    });
  });

  it.each([
    ['another case', 'tokenTTLSeconds'],
    ['a typo', 'tokenTtlSecnods'],
  ])('names the setting a near miss in %s meant, as a ConfigError for that setting', (_, key) => {
    const error = refusal({ upstreamUrl: UPSTREAM, color: 'blue', [key]: 120 });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ setting: 'tokenTtlSeconds', message: expect.stringContaining(`tokenTtlSeconds is spelled "${key}" in the settings`) });
  });

  it.each([undefined, 'eu-west-1'])('finds nothing unacknowledged with AwsSolutionsChecks (region %s)', (region) => {
    const { app } = ownStack({ upstreamUrl: UPSTREAM, operatorPrincipals: ['arn:aws:iam::123456789012:role/ops'] }, region);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});

describe('the Tollgate construct’s outputs', () => {
  const settings = { upstreamUrl: UPSTREAM };
  const outputKeys = (stack: Stack) => Object.keys(Template.fromStack(stack).toJSON().Outputs ?? {});

  it('refuses a second Tollgate with outputs in the stack, naming the first and the prop that fixes it', () => {
    const { stack } = ownStack(settings);
    expect(() => new Tollgate(stack, 'Billing', { settings })).toThrow(
      /Tollgate at Orders\/Billing\/Api: stack Orders already has a Tollgate with outputs \(Orders\/Auth\/Api\).*pass `outputs: false` to all but one Tollgate in the stack/,
    );
  });

  it('takes a second Tollgate with outputs: false, whose resources add no output', () => {
    const { app, stack } = ownStack(settings);
    new Tollgate(stack, 'Billing', { settings, outputs: false });
    expect(() => app.synth()).not.toThrow();
    // RestApi's own endpoint output is CDK's, named by its path: one per Tollgate.
    const fixed = (keys: string[]) => keys.filter((key) => !key.includes('ApiEndpoint')).sort();
    expect(fixed(outputKeys(stack))).toEqual(fixed(outputKeys(ownStack(settings).stack)));
  });

  it('refuses an output of the stack under one of its keys, made before it', () => {
    const app = testApp();
    const stack = new Stack(app, 'Orders');
    new CfnOutput(stack, 'Region', { value: 'mine' });
    expect(() => new Tollgate(stack, 'Auth', { settings })).toThrow(
      /stack Orders has an output of its own with the key Region \(Orders\/Region\).*rename that output, or pass `outputs: false` to Tollgate/,
    );
  });

  it('refuses at synth an output of the stack under one of its keys, made after it', () => {
    const { app, stack } = ownStack(settings);
    new CfnOutput(stack, 'ApiUrl', { value: 'https://mine.example.com' });
    expect(() => app.synth()).toThrow(
      /\[Orders\/Auth\/Api\] Tollgate at Orders\/Auth\/Api: stack Orders has an output of its own with the key ApiUrl \(Orders\/ApiUrl\)/,
    );
  });

  it('makes no output with outputs: false, so the stack may have its own ApiUrl and Region', () => {
    const app = testApp();
    const stack = new Stack(app, 'Orders');
    new CfnOutput(stack, 'ApiUrl', { value: 'https://mine.example.com' });
    new CfnOutput(stack, 'Region', { value: 'mine' });
    new Tollgate(stack, 'Auth', { settings, outputs: false });
    expect(() => app.synth()).not.toThrow();
    // RestApi's own endpoint output is CDK's, named by its path: no fixed key.
    expect(
      outputKeys(stack)
        .filter((key) => !key.includes('ApiEndpoint'))
        .sort(),
    ).toEqual(['ApiUrl', 'Region']);
  });

  it('leaves Tollgates with outputs in different stacks of one app alone', () => {
    const { app } = ownStack(settings);
    new Tollgate(new Stack(app, 'Billing'), 'Auth', { settings });
    expect(() => app.synth()).not.toThrow();
  });
});

describe('removalPolicy', () => {
  it('refuses SNAPSHOT, which neither the KMS key nor the tables support, naming removalPolicy', () => {
    const build = () => new Tollgate(new Stack(testApp(), 'Orders'), 'Auth', { settings: { upstreamUrl: UPSTREAM }, removalPolicy: RemovalPolicy.SNAPSHOT });
    expect(build).toThrow(ConfigurationError);
    expect(build).toThrow(/removalPolicy SNAPSHOT is not supported/);
  });

  it.each([
    [RemovalPolicy.RETAIN, true, 'Retain'],
    [RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, true, 'RetainExceptOnCreate'],
    [RemovalPolicy.DESTROY, false, 'Delete'],
  ])('%s: deletion protection %s on every table, and the DeletionPolicy %s', (removalPolicy, protectedTables, deletionPolicy) => {
    const stack = new Stack(testApp(), 'Data');
    new TokenData(stack, 'Data', { removalPolicy });
    const tables = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table'));
    expect(tables).toHaveLength(7);
    for (const table of tables) {
      expect(table.Properties.DeletionProtectionEnabled).toBe(protectedTables);
      expect(table.DeletionPolicy).toBe(deletionPolicy);
    }
  });
});
