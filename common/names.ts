/**
 * The names the CDK stack (and local mode) and the functions share: the environment
 * variables through which configuration reaches the functions (docs/deploy.md#deploy), the
 * local endpoint overrides, and the names of the AWS resources, events and metrics Tollgate
 * creates or emits.
 */

/**
 * Environment variables the functions read that are not deployment settings: what only the
 * stack knows (the issuer URL, other resources' names and ids) and internal tuning. A
 * setting's variable is its descriptor's `env` (`common/settings.ts`); table names:
 * `Tables[*].envVar`.
 */
export const Env = {
  issuer: 'TOLLGATE_ISSUER',
  clockSkewSeconds: 'TOLLGATE_CLOCK_SKEW_SECONDS',
  keyRingRefreshSeconds: 'TOLLGATE_KEY_RING_REFRESH_SECONDS',
  eventBusName: 'TOLLGATE_EVENT_BUS_NAME',
  /** Comma-separated `restApiId/stageName` pairs whose authorizer cache the fan-out flushes. */
  flushStages: 'TOLLGATE_FLUSH_STAGES',
  /** Name of the rotation function, which `POST /admin/signing-keys/rotate` invokes. */
  rotationFunction: 'TOLLGATE_ROTATION_FUNCTION',
  /**
   * Local mode and tests only: a shorter `pending` window than {@link pendingPublicationSeconds}
   * (which also waits out outside verifiers' JWKS caches). At least twice the ring refresh, so
   * every authorizer has finished a refresh after the key was published before it signs.
   */
  pendingPublicationSeconds: 'TOLLGATE_PENDING_PUBLICATION_SECONDS',
  /**
   * Per-client throttling (admin function): the NAME of the usage plan clients with default
   * limits share, looked up on {@link restApiId}/{@link stageName}. A name, not an id: the
   * plan depends on the stage, which depends on the admin function's methods, so the
   * function's environment cannot reference the plan's id (a circular dependency). All
   * three absent turns usage-plan registration off (nothing is registered, responses say so).
   */
  defaultUsagePlanName: 'TOLLGATE_DEFAULT_USAGE_PLAN_NAME',
  /** The REST API whose stage custom usage plans are attached to (admin function). */
  restApiId: 'TOLLGATE_REST_API_ID',
  /** The stage custom usage plans are attached to (admin function). */
  stageName: 'TOLLGATE_STAGE_NAME',
  /**
   * Authorizer: the usage key (an API Gateway API key value in the default plan) returned
   * as `usageIdentifierKey` for a token without a `uik` claim, so a client whose own
   * registration failed is served on the default plan instead of refused by API Gateway.
   */
  fallbackUsageKey: 'TOLLGATE_FALLBACK_USAGE_KEY',
  /**
   * Rotation function: the id of the API Gateway client certificate the stage presents to the
   * upstream, whose expiry each scheduled step reports (`UpstreamCertificateSecondsLeft`).
   * Absent (local mode): nothing to watch.
   */
  upstreamCertificateId: 'TOLLGATE_UPSTREAM_CERTIFICATE_ID',
  /** Rotation function: the certificate prepared to replace it, when one is (`prepareNextUpstreamCertificate`). */
  nextUpstreamCertificateId: 'TOLLGATE_NEXT_UPSTREAM_CERTIFICATE_ID',
} as const;

/**
 * Local mode and tests only: endpoint URLs that point an AWS client at a local stand-in
 * (DynamoDB Local, the local KMS endpoint, the local server's Lambda/API Gateway/EventBridge
 * stand-ins). Unset in AWS, where the SDK's own endpoints apply.
 */
export const EndpointEnv = {
  dynamodb: 'TOLLGATE_DYNAMODB_ENDPOINT',
  kms: 'TOLLGATE_KMS_ENDPOINT',
  lambda: 'TOLLGATE_LAMBDA_ENDPOINT',
  apigateway: 'TOLLGATE_APIGATEWAY_ENDPOINT',
  events: 'TOLLGATE_EVENTS_ENDPOINT',
} as const;

/**
 * Names of the API Gateway resources per-client throttling manages. Lookups also match the
 * key's value or the plan's API stage, so two deployments in one account never adopt each
 * other's resources (API Gateway does not make names unique).
 */
export const UsageNaming = {
  /** `name` of a client's API Gateway API key (its value is the client's `usageKey`). */
  apiKey: (clientId: string) => `tollgate-${clientId}`,
  /** `name` of the usage plan of a client with custom limits. */
  customPlan: (clientId: string) => `tollgate-client-${clientId}`,
  /** Tag keys on the API keys and plans Tollgate creates. */
  applicationTag: 'tollgate:application',
  clientTag: 'tollgate:client',
  /**
   * The deployment's own tag, on its default plan and fallback key and on every key and plan
   * its admin function creates; its value is the default plan's name, unique per deployment
   * in an account and Region (`lib/gateway/client-plan.ts`: `usageDeploymentTagValue`). The
   * admin role's ABAC conditions require it, so one Tollgate's admin function cannot manage
   * another's plans and keys, which carry the same application tag.
   */
  deploymentTag: 'tollgate:deployment',
} as const;

export const METRICS_NAMESPACE = 'Tollgate';

/** EventBridge detail-types of the credential-hygiene events (no secrets in their detail). */
export const HygieneEvent = {
  source: 'tollgate',
  keyExpiring: 'Tollgate API Key Expiring',
  keyStale: 'Tollgate API Key Stale',
} as const;
