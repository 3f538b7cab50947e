/**
 * Flushes API Gateway's authorizer result cache for a stage (FlushStageAuthorizersCache,
 * `DELETE /restapis/{restapi_id}/stages/{stage_name}/cache/authorizers`), so a cached
 * Allow for a token that has just been revoked is not served until the cache TTL ends.
 */
import { FlushStageAuthorizersCacheCommand, type APIGatewayClient } from '@aws-sdk/client-api-gateway';

/** One deployed stage: `Env.flushStages` lists them as `restApiId/stageName`. */
export interface StageRef {
  readonly restApiId: string;
  readonly stageName: string;
}

export interface AuthorizerCacheFlusher {
  flush(stage: StageRef): Promise<void>;
}

export class ApiGatewayAuthorizerCacheFlusher implements AuthorizerCacheFlusher {
  constructor(private readonly client: APIGatewayClient) {}

  async flush(stage: StageRef): Promise<void> {
    await this.client.send(new FlushStageAuthorizersCacheCommand({ restApiId: stage.restApiId, stageName: stage.stageName }));
  }
}
