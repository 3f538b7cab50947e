import { AnyPrincipal, Effect, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { ApiPath, HTTP_METHODS } from '../../common/gateway-contract';

/**
 * The REST API's resource policy when operators are named: every route stays open to every
 * caller as before (the token, JWKS and upstream routes are not IAM-authorized, so without
 * the Allow they would refuse everyone), and an explicit Deny refuses the admin paths to
 * any principal whose `aws:PrincipalArn` matches none of `operatorPrincipals`. Within one
 * account an Allow in a resource policy does not narrow who IAM admits; only the Deny does
 * (and the Allow admits a matching principal of this account even without an IAM policy of
 * its own that allows `execute-api:Invoke`).
 *
 * The resources use the `execute-api:/` shorthand API Gateway expands to this API (its ARN
 * would make the API refer to itself), with the stage and each method spelled out: in an
 * ARN pattern `*` also matches `/`, so a wildcard method would let the Deny
 * catch `/v1/GET/orders/admin/x` too. Each method names the bare `/admin` as well as
 * `/admin/*` (which, `*` matching the empty string, also covers `/admin/`): a path API
 * Gateway answers under the admin prefix, with or without a trailing slash, is an operator's.
 * An unsigned caller has no `aws:PrincipalArn`, which `ArnNotLike` counts as no match: refused.
 */
export function operatorResourcePolicy(stageName: string, operatorPrincipals: readonly string[]): PolicyDocument {
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'InvokeEveryRoute',
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
      }),
      new PolicyStatement({
        sid: 'AdminRoutesOnlyForOperators',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: HTTP_METHODS.flatMap((method) => [
          `execute-api:/${stageName}/${method}${ApiPath.admin}`,
          `execute-api:/${stageName}/${method}${ApiPath.admin}/*`,
        ]),
        conditions: { ArnNotLike: { 'aws:PrincipalArn': [...operatorPrincipals] } },
      }),
    ],
  });
}
