import { Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnStage } from 'aws-cdk-lib/aws-apigateway';
import { AwsSolutionsChecks, NagRuleCompliance, rules } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildApp, type BuiltApp } from './app';

const WEB_ACL = 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/tollgate/0123abcd-0000-1111-2222-333344445555';

function withNag(built: BuiltApp): BuiltApp {
  Validations.of(built.app).addPlugins(new AwsSolutionsChecks(built.app));
  return built;
}

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

function acknowledgements(built: BuiltApp): Acknowledgement[] {
  return built.app.node.findAll().flatMap((node) =>
    node.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      // Recorded as `{ "<kind>::<rule id>": reason }`.
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .map(([key, reason]) => ({ path: node.node.path, id: key.replace(/^[A-Za-z]+::/, ''), reason })),
  );
}

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in the app', () => {
    const built = withNag(buildApp());
    expect(() => built.app.synth()).not.toThrow();
  });

  it.each([
    ['the Region the CDK CLI sets (no credentials)', { region: 'us-east-1' }],
    ['the account and Region of a deploy', { account: '123456789012', region: 'eu-central-1' }],
    ['a Region of another partition', { account: '123456789012', region: 'cn-north-1' }],
  ])('finds nothing unacknowledged with %s: acknowledgements name findings as cdk-nag renders known values', (_name, env) => {
    const built = withNag(buildApp({ env }));
    expect(() => built.app.synth()).not.toThrow();
  });

  it('finds nothing unacknowledged with a web ACL either (the WAF acknowledgement is then not made)', () => {
    const built = withNag(buildApp({ settings: { wafWebAclArn: WEB_ACL } }));
    expect(() => built.app.synth()).not.toThrow();
    expect(acknowledgements(built).map((a) => a.id)).not.toContain('AwsSolutions-APIG3');
  });

  it('finds nothing unacknowledged with the per-IP WAF rule of the leak endpoint (leakRevokeRateLimitPerIp) either', () => {
    const built = withNag(buildApp({ settings: { leakRevokeRateLimitPerIp: 100 } }));
    expect(() => built.app.synth()).not.toThrow();
  });

  it('finds nothing unacknowledged with operatorPrincipals (the resource policy) either', () => {
    const built = withNag(buildApp({ settings: { operatorPrincipals: ['arn:aws:iam::123456789012:role/tollgate-operator'] } }));
    expect(() => built.app.synth()).not.toThrow();
  });

  it('meets the client-certificate rule of the HIPAA, NIST 800-53 and PCI DSS packs (APIGWSSLEnabled: the upstream can authenticate the stage)', () => {
    const stage = buildApp().api.gateway.api.deploymentStage.node.defaultChild as CfnStage;
    expect(rules.apigw.APIGWSSLEnabled(stage)).toBe(NagRuleCompliance.COMPLIANT);
  });

  it('fails synth on a finding nobody acknowledged', () => {
    const built = withNag(buildApp());
    built.api.functions.admin.role.addToPolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::some-bucket/*'] }));
    expect(() => built.app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::arn:aws:s3:::some-bucket\/\*\]/);
  });

  it('states a reason in words for every acknowledgement, and acknowledges wildcard findings one by one', () => {
    const all = acknowledgements(buildApp());
    expect(all.length).toBeGreaterThan(0);
    for (const { path, id, reason } of all) {
      expect(reason.split(' ').length, `${path} ${id}`).toBeGreaterThanOrEqual(12);
      if (id.startsWith('AwsSolutions-IAM5')) expect(id, path).toMatch(/^AwsSolutions-IAM5\[(Resource|Action)::.+\]$/);
    }
  });

  it('acknowledges the missing gateway authorization only on the token and leak routes', () => {
    const apig4 = acknowledgements(buildApp()).filter((a) => a.id === 'AwsSolutions-APIG4');
    expect(apig4.map((a) => a.path).sort()).toEqual([
      'Tollgate/Gateway/Api/Default/.well-known/jwks.json/GET',
      'Tollgate/Gateway/Api/Default/.well-known/oauth-authorization-server/GET',
      'Tollgate/Gateway/Api/Default/.well-known/oauth-protected-resource/GET',
      'Tollgate/Gateway/Api/Default/.well-known/oauth-protected-resource/{service}/GET',
      'Tollgate/Gateway/Api/Default/leaks/revoke/POST',
      'Tollgate/Gateway/Api/Default/oauth/revoke/POST',
      'Tollgate/Gateway/Api/Default/oauth/token/POST',
      'Tollgate/Gateway/Api/Default/secret-scanning/github/POST',
    ]);
  });
});
