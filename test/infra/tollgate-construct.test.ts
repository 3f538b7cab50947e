/**
 * The `Tollgate` construct (`lib/tollgate.ts`), the whole of Tollgate inside a team's own
 * stack: the same resources as the two-stack app, the same setting checks, and no cdk-nag
 * finding its own acknowledgements do not explain. Fast path: placeholder entries, no bundling.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ConfigError, StackOutput, Tollgate, type TollgateSettings } from '../../lib/index';
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
    expect(() => ownStack({})).toThrow(/upstreamUrl is required/);
    expect(() => ownStack({ upstreamUrl: UPSTREAM, tokenTTLSeconds: 120 } as TollgateSettings)).toThrow(/tokenTtlSeconds is spelled "tokenTTLSeconds"/);
    expect(() => ownStack({ upstreamUrl: UPSTREAM, color: 'blue' } as TollgateSettings)).toThrow(/"color" is not a setting/);
  });

  it.each([undefined, 'eu-west-1'])('finds nothing unacknowledged with AwsSolutionsChecks (region %s)', (region) => {
    const { app } = ownStack({ upstreamUrl: UPSTREAM, operatorPrincipals: ['arn:aws:iam::123456789012:role/ops'] }, region);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
