import { describe, expect, it } from 'vitest';
import type { PolicyDocument, Statement } from 'aws-lambda';
import { arnMatch, evaluatePolicy, globMatch } from '../../../lambda/core/authorizer/policy-evaluation';

const API = 'arn:aws:execute-api:eu-west-1:111122223333:abcdef1234/v1';
const doc = (...Statement: Statement[]): PolicyDocument => ({ Version: '2012-10-17', Statement });
const allow = (Resource: string | string[], Action: string | string[] = 'execute-api:Invoke'): Statement => ({ Effect: 'Allow', Action, Resource });
const deny = (Resource: string | string[], Action: string | string[] = 'execute-api:Invoke'): Statement => ({ Effect: 'Deny', Action, Resource });

describe('evaluatePolicy', () => {
  it('allows what an Allow covers and implicitly denies the rest', () => {
    const policy = doc(allow(`${API}/GET/orders/*`));
    expect(evaluatePolicy(policy, `${API}/GET/orders/42`)).toBe('allow');
    expect(evaluatePolicy(policy, `${API}/POST/orders/42`)).toBe('implicit-deny');
    expect(evaluatePolicy(policy, `${API}/GET/orders`)).toBe('implicit-deny');
    expect(evaluatePolicy(doc(), `${API}/GET/x`)).toBe('implicit-deny');
    expect(evaluatePolicy(undefined, `${API}/GET/x`)).toBe('implicit-deny');
  });

  it('lets an explicit Deny win over any Allow, in either order', () => {
    const arn = `${API}/GET/orders/42/refunds`;
    expect(evaluatePolicy(doc(allow(`${API}/GET/orders/*`), deny(`${API}/GET/orders/*/refunds`)), arn)).toBe('explicit-deny');
    expect(evaluatePolicy(doc(deny(`${API}/GET/orders/*/refunds`), allow(`${API}/*`)), arn)).toBe('explicit-deny');
    expect(evaluatePolicy(doc(allow(`${API}/GET/orders/*`), deny(`${API}/GET/orders/*/refunds`)), `${API}/GET/orders/42`)).toBe('allow');
  });

  it('lets `*` match across `/` in the resource and `?` exactly one character', () => {
    expect(evaluatePolicy(doc(allow(`${API}/GET/users/*`)), `${API}/GET/users/7/secret`)).toBe('allow');
    expect(evaluatePolicy(doc(allow(`${API}/*/health`)), `${API}/GET/x/health`)).toBe('allow');
    expect(evaluatePolicy(doc(allow(`${API}/GET/v?`)), `${API}/GET/v1`)).toBe('allow');
    expect(evaluatePolicy(doc(allow(`${API}/GET/v?`)), `${API}/GET/v10`)).toBe('implicit-deny');
  });

  it('matches ARN components separately: a wildcard region does not spill into other components', () => {
    expect(arnMatch('arn:aws:execute-api:*:111122223333:abcdef1234/v1/GET/x', `${API}/GET/x`)).toBe(true);
    expect(arnMatch('arn:aws:execute-api:*:abcdef1234/v1/GET/x', `${API}/GET/x`)).toBe(false);
    expect(arnMatch('arn:aws:execute-api:eu-west-1:999999999999:abcdef1234/*', `${API}/GET/x`)).toBe(false);
    expect(arnMatch('*', `${API}/GET/x`)).toBe(true);
    expect(arnMatch('not-an-arn', `${API}/GET/x`)).toBe(false);
    expect(evaluatePolicy(doc(allow(['arn:aws:s3:::bucket/*', `${API}/*`])), `${API}/DELETE/a`)).toBe('allow');
  });

  it('applies only statements whose action covers execute-api:Invoke (case-insensitively)', () => {
    expect(evaluatePolicy(doc(allow(`${API}/*`, 'execute-api:*')), `${API}/GET/x`)).toBe('allow');
    expect(evaluatePolicy(doc(allow(`${API}/*`, 'EXECUTE-API:invoke')), `${API}/GET/x`)).toBe('allow');
    expect(evaluatePolicy(doc(allow(`${API}/*`, '*')), `${API}/GET/x`)).toBe('allow');
    expect(evaluatePolicy(doc(allow(`${API}/*`, 'execute-api:ManageConnections')), `${API}/GET/x`)).toBe('implicit-deny');
    expect(evaluatePolicy(doc(allow(`${API}/*`), deny(`${API}/*`, 's3:GetObject')), `${API}/GET/x`)).toBe('allow');
  });

  it('honours NotAction and NotResource', () => {
    expect(evaluatePolicy(doc({ Effect: 'Allow', NotAction: 's3:*', Resource: `${API}/*` }), `${API}/GET/x`)).toBe('allow');
    expect(evaluatePolicy(doc({ Effect: 'Allow', NotAction: 'execute-api:*', Resource: `${API}/*` }), `${API}/GET/x`)).toBe('implicit-deny');
    expect(evaluatePolicy(doc(allow(`${API}/*`), { Effect: 'Deny', Action: 'execute-api:Invoke', NotResource: `${API}/GET/public/*` }), `${API}/GET/x`)).toBe(
      'explicit-deny',
    );
    expect(
      evaluatePolicy(doc(allow(`${API}/*`), { Effect: 'Deny', Action: 'execute-api:Invoke', NotResource: `${API}/GET/public/*` }), `${API}/GET/public/a`),
    ).toBe('allow');
  });

  it('reads conditions cautiously: a conditional Allow does not apply, a conditional Deny does', () => {
    const condition = { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } };
    expect(evaluatePolicy(doc({ ...allow(`${API}/*`), Condition: condition }), `${API}/GET/x`)).toBe('implicit-deny');
    expect(evaluatePolicy(doc(allow(`${API}/*`), { ...deny(`${API}/*`), Condition: condition }), `${API}/GET/x`)).toBe('explicit-deny');
  });

  it('ignores statements with an unknown effect', () => {
    expect(evaluatePolicy(doc({ Effect: 'Maybe' as 'Allow', Action: 'execute-api:Invoke', Resource: `${API}/*` }), `${API}/GET/x`)).toBe('implicit-deny');
  });
});

describe('globMatch', () => {
  it.each([
    ['', '', true],
    ['*', '', true],
    ['a*', 'a', true],
    ['*a', 'ba', true],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['**', 'x/y', true],
    ['a', 'ab', false],
  ])('%s vs %s → %s', (pattern, text, expected) => {
    expect(globMatch(pattern, text)).toBe(expected);
  });

  it('matches a window of the text without copying it', () => {
    expect(globMatch('GET/*', 'prefix/GET/x', 7)).toBe(true);
    expect(globMatch('GET/x', 'prefix/GET/xy', 7, 12)).toBe(true);
  });
});
