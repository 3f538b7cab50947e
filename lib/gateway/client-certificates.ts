/**
 * The client certificates the stage presents to the upstream (TLS client authentication):
 * how the upstream tells requests from this stage, whose identity headers it may trust,
 * from anyone else's. Their PEM: `aws apigateway get-client-certificate`.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { CfnClientCertificate } from 'aws-cdk-lib/aws-apigateway';
import type { Construct } from 'constructs';
import { tollgateNamePrefix } from '../physical-names';

/**
 * Generation 1 keeps the logical id the certificate had before generations existed, so a
 * stack deployed then keeps presenting the certificate its upstream already trusts.
 * Retained when it leaves the template: the deployment that switches to the next
 * generation must not delete the one the upstream still accepts, in case the switch has
 * to be undone; the operator deletes it once the new one is seen working (docs/deploy.md).
 */
export function upstreamCertificate(scope: Construct, generation: number): CfnClientCertificate {
  const certificate = new CfnClientCertificate(scope, generation === 1 ? 'UpstreamCertificate' : `UpstreamCertificateGen${generation}`, {
    description: `Tollgate ${tollgateNamePrefix(scope)}: upstream client certificate, generation ${generation}; the upstream must verify it before trusting the X-Tollgate-* headers`,
  });
  certificate.applyRemovalPolicy(RemovalPolicy.RETAIN);
  return certificate;
}
