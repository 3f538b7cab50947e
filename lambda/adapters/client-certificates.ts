/**
 * The stage's client certificates, read with API Gateway's GetClientCertificate
 * (`GET /clientcertificates/{clientcertificate_id}`); only `expirationDate` is used.
 */
import { GetClientCertificateCommand, type APIGatewayClient } from '@aws-sdk/client-api-gateway';
import type { ClientCertificateSource } from '../core/rotation/rotation-ports';

export class ApiGatewayClientCertificates implements ClientCertificateSource {
  constructor(private readonly client: APIGatewayClient) {}

  async expiresAt(certificateId: string): Promise<number> {
    const certificate = await this.client.send(new GetClientCertificateCommand({ clientCertificateId: certificateId }));
    const expiration = certificate.expirationDate;
    if (!(expiration instanceof Date) || Number.isNaN(expiration.getTime())) {
      throw new Error(`GetClientCertificate returned no expirationDate for ${certificateId}`);
    }
    return Math.floor(expiration.getTime() / 1000);
  }
}
