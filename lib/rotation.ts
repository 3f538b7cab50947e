/**
 * Signing-key rotation (docs/rotation.md): the rotation function, the KMS permissions of the
 * key ring, and the EventBridge schedule that advances the ring's timed transitions.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type { CfnClientCertificate } from 'aws-cdk-lib/aws-apigateway';
import { EventBus, Rule, Schedule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { putOwnEventsStatement } from './events';
import { Env } from '../common/names';
import { keyDeletionWindowDays } from '../common/settings';
import type { TollgateTables } from './data';
import { KeyRing } from './key-ring';
import { TollgateFunction } from './function';
import type { KeySpec } from '../common/tokens';
import { apigatewayArn } from './usage-plans';

export interface SigningKeyRotationProps {
  readonly tables: TollgateTables;
  /** The rotation function's settings (see `functionSettings`). */
  readonly environment: Readonly<Record<string, string>>;
  readonly keySpec: KeySpec;
  /**
   * The KMS deletion window: set in the function's environment here (over any value in
   * `environment`), so the function and its role's IAM floor on the window never differ.
   */
  readonly keyDeletionWindowDays: number;
  /**
   * How often the schedule sends the step event. Timed transitions (pending → active,
   * retiring → retired) fall due hours apart, far finer than the rotation interval, so a
   * transition waits at most this long after it is due.
   * @default one hour
   */
  readonly stepEvery?: Duration;
  /** Where credential-hygiene events go. @default the account's default event bus */
  readonly eventBus?: IEventBus;
}

export class SigningKeyRotation extends Construct {
  readonly function: TollgateFunction;
  readonly keyRing: KeyRing;
  readonly schedule: Rule;
  readonly eventBus: IEventBus;

  constructor(scope: Construct, id: string, props: SigningKeyRotationProps) {
    super(scope, id);
    this.eventBus = props.eventBus ?? EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.function = new TollgateFunction(this, 'Rotation', {
      name: 'rotation',
      tables: props.tables,
      // A run may create a KMS key and page through the account's keys for reconciliation.
      timeout: Duration.minutes(1),
      environment: {
        ...props.environment,
        [keyDeletionWindowDays.env]: String(props.keyDeletionWindowDays),
        [Env.eventBusName]: this.eventBus.eventBusName,
      },
    });
    // The IAM floor on the deletion window is the window the function itself is configured with (above).
    this.keyRing = new KeyRing(this, 'KeyRing', {
      keySpec: props.keySpec,
      ringId: props.tables.signingKeys.tableName,
      keyDeletionWindowDays: props.keyDeletionWindowDays,
    });
    this.keyRing.grantManage(this.function);
    this.function.role.addToPolicy(putOwnEventsStatement(this.eventBus.eventBusArn));
    // The target sends EventBridge's own scheduled event (detail-type "Scheduled Event"),
    // which the function reads as a scheduled step; console test events name an action.
    this.schedule = new Rule(this, 'Step', {
      description: 'Tollgate: advance the signing-key ring (timed transitions, hygiene)',
      schedule: Schedule.rate(props.stepEvery ?? Duration.hours(1)),
      targets: [new LambdaFunction(this.function.fn, { retryAttempts: 2, maxEventAge: Duration.minutes(30) })],
    });
  }

  /**
   * Step and status runs report when the stage's client certificates expire and emit the
   * presented one's remaining time, on which the stack alarms. The function may read these
   * certificates (GetClientCertificate is `GET /clientcertificates/{id}`) and nothing else
   * of API Gateway.
   */
  watchUpstreamCertificates(presented: CfnClientCertificate, next?: CfnClientCertificate): void {
    this.function.addEnvironment(Env.upstreamCertificateId, presented.ref);
    if (next) this.function.addEnvironment(Env.nextUpstreamCertificateId, next.ref);
    this.function.role.addToPolicy(
      new PolicyStatement({
        actions: ['apigateway:GET'],
        resources: [presented, ...(next ? [next] : [])].map((certificate) => apigatewayArn(Stack.of(this), `/clientcertificates/${certificate.ref}`)),
      }),
    );
  }
}
