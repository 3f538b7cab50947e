/**
 * AWS's CloudFormation linter (`cfn-lint`) over the synthesized templates: what CloudFormation
 * itself would refuse or warn about that cdk-nag does not look at (resource property schemas,
 * intrinsic functions, dependencies). Every finding fails the test unless the allow-list
 * below explains it.
 *
 * cfn-lint is a Python tool (PyPI `cfn-lint`), installed on the CI machine. Debian 12 packages
 * no version of it, so `.ci/run` cannot install it from the distribution: where it is not on
 * PATH the test fails and says how to install it, rather than passing without linting.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CfnResource } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildApp, type BuildOptions } from './app';

const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const available = cfnLint.status === 0;

interface Finding {
  readonly Rule: { readonly Id: string };
  readonly Filename: string;
  readonly Location: { readonly Path: readonly (string | number)[] };
  readonly Message: string;
}

/**
 * Findings that are right as they are, each with why. Each entry must still match something,
 * so the list cannot outlive its reason.
 */
const ALLOWED: ReadonlyArray<{ readonly rule: string; readonly path: RegExp; readonly why: string }> = [
  {
    rule: 'W6001',
    path: /^Outputs\/[A-Za-z]+TableName\/Value\/Fn::ImportValue$/,
    why: "The API stack repeats the data stack's table names as its own outputs on purpose: the CLI (`npx tollgate --stack`) reads one stack's outputs (common/stack-outputs.ts StackOutput), and the values cannot drift because they are imports.",
  },
];

function lint(options: BuildOptions): Finding[] {
  const built = buildApp(options);
  const assembly = built.app.synth();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-cfn-lint-'));
  try {
    const files = [built.data, built.api].map((stack) => {
      const file = path.join(dir, `${stack.stackName}.template.json`);
      fs.writeFileSync(file, JSON.stringify(assembly.getStackByName(stack.stackName).template));
      return file;
    });
    // Exit status is non-zero whenever there is a finding; the JSON on stdout is the answer.
    const result = spawnSync('cfn-lint', ['--format', 'json', '--regions', 'us-east-1', 'eu-central-1', '--', ...files], { encoding: 'utf8' });
    if (result.error || !result.stdout.trim().startsWith('[')) throw new Error(`cfn-lint did not run: ${result.error?.message ?? result.stderr}`);
    return JSON.parse(result.stdout) as Finding[];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const where = (finding: Finding) => finding.Location.Path.join('/');

describe('cfn-lint', () => {
  it('is installed (pip install cfn-lint)', () => {
    expect(available, `cfn-lint --version failed: ${cfnLint.error?.message ?? cfnLint.stderr}`).toBe(true);
  });

  it.each<[string, BuildOptions]>([
    ['the default app', {}],
    [
      'the app with every optional resource (operators, a web ACL, the next upstream certificate)',
      {
        settings: {
          operatorPrincipals: ['arn:aws:iam::123456789012:role/tollgate-operator'],
          wafWebAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/tollgate/0123abcd-0000-1111-2222-333344445555',
          prepareNextUpstreamCertificate: true,
        },
      },
    ],
    ["the app with the leak endpoint's own web ACL (leakRevokeRateLimitPerIp)", { settings: { leakRevokeRateLimitPerIp: 100 } }],
  ])('finds nothing unexplained in %s', (_name, options) => {
    const findings = lint(options);
    const unexplained = findings.filter((f) => !ALLOWED.some((a) => a.rule === f.Rule.Id && a.path.test(where(f))));
    expect(unexplained.map((f) => `${f.Rule.Id} ${path.basename(f.Filename)} ${where(f)}: ${f.Message}`)).toEqual([]);
    for (const allowed of ALLOWED)
      expect(
        findings.some((f) => f.Rule.Id === allowed.rule && allowed.path.test(where(f))),
        `${allowed.rule} ${allowed.path}`,
      ).toBe(true);
  });

  it('flags what it is here to flag: a redundant DependsOn, as the functions had before their role stopped being a dependency root (W3005)', () => {
    const built = buildApp();
    const role = built.api.functions.token.role.node.defaultChild as CfnResource;
    (built.api.functions.token.fn.node.defaultChild as CfnResource).addDependency(role);
    const assembly = built.app.synth();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-cfn-lint-'));
    try {
      const file = path.join(dir, 'api.template.json');
      fs.writeFileSync(file, JSON.stringify(assembly.getStackByName(built.api.stackName).template));
      const result = spawnSync('cfn-lint', ['--format', 'json', '--', file], { encoding: 'utf8' });
      expect((JSON.parse(result.stdout) as Finding[]).map((f) => f.Rule.Id)).toContain('W3005');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the functions' dependencies", () => {
  it("each function waits for its role's policy, and names no redundant dependency on the role it refers to", () => {
    const built = buildApp();
    const resources = built.app.synth().getStackByName(built.api.stackName).template.Resources as Record<string, { DependsOn?: string[] }>;
    for (const [name, fn] of Object.entries(built.api.functions)) {
      const fnId = built.api.getLogicalId(fn.fn.node.defaultChild as never);
      const roleId = built.api.getLogicalId(fn.role.node.defaultChild as never);
      const policyId = built.api.getLogicalId(fn.role.node.findChild('DefaultPolicy').node.defaultChild as never);
      expect(resources[fnId]!.DependsOn, name).toContain(policyId);
      expect(resources[fnId]!.DependsOn, name).not.toContain(roleId);
    }
  });
});
