/**
 * The functions behind Tollgate's own routes: the token function (API key → access token,
 * revocation, JWKS), which may sign with ring keys and nothing else in KMS, and the admin
 * function, whose only permission beyond its tables is invoking the rotation function.
 */
import { Duration } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { Env } from '../common/names';
import type { TollgateTables } from './data';
import { TollgateFunction } from './function';
import type { KeyRing } from './key-ring';

export interface TokenApiProps {
  readonly tables: TollgateTables;
  readonly keyRing: KeyRing;
  /** What `POST /admin/signing-keys/rotate` invokes. */
  readonly rotationFunction: IFunction;
  readonly tokenEnvironment: Readonly<Record<string, string>>;
  readonly adminEnvironment: Readonly<Record<string, string>>;
}

export class TokenApi extends Construct {
  readonly token: TollgateFunction;
  readonly admin: TollgateFunction;

  constructor(scope: Construct, id: string, props: TokenApiProps) {
    super(scope, id);
    this.token = new TollgateFunction(this, 'Token', {
      name: 'token',
      tables: props.tables,
      environment: props.tokenEnvironment,
      // Issuance is one GetItem, one KMS Sign and one PutItem; more memory is more CPU for the ECDSA/RSA work around Sign.
      memorySize: 1024,
    });
    props.keyRing.grantSign(this.token);

    this.admin = new TollgateFunction(this, 'Admin', {
      name: 'admin',
      tables: props.tables,
      environment: { ...props.adminEnvironment, [Env.rotationFunction]: props.rotationFunction.functionName },
      // Revoking a client walks its keys and tokens; API Gateway gives up on an integration after 29 s anyway.
      timeout: Duration.seconds(29),
    });
    // The unqualified function ARN only (no `:*` for versions or aliases): the admin route
    // invokes $LATEST, as the console's test events do.
    this.admin.role.addToPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.rotationFunction.functionArn] }));
  }
}
