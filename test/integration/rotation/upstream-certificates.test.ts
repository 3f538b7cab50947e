/**
 * The rotation function reading the stage's client certificates over real HTTP with the
 * real SDK (`GetClientCertificate` is `GET /clientcertificates/{id}`), against a stub
 * that answers as API Gateway's REST API does: epoch-second timestamps, and
 * `x-amzn-ErrorType` on errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointEnv, Env } from '../../../common/names';
import { freshTables, type TestTables } from '../../support/aws';
import { startHttpStub, type HttpStub } from '../../support/http-stub';
import { rotationApp, TestClock } from './support';

const DAY = 86_400;
const STEP = { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };

let tables: TestTables;
let apigateway: HttpStub;
const clock = new TestClock();
/** Expiry (epoch seconds) of the certificates the stub knows. */
const certificates = new Map<string, number>();

beforeAll(async () => {
  tables = await freshTables();
  apigateway = await startHttpStub((request) => {
    const id = /^\/clientcertificates\/([^/]+)$/.exec(request.pathname)?.[1];
    if (request.method !== 'GET' || id === undefined)
      return { status: 404, headers: { 'x-amzn-ErrorType': 'NotFoundException' }, body: { message: 'unexpected call' } };
    if (id === 'noexp1') return { status: 200, body: { clientCertificateId: id, pemEncodedCertificate: '-----BEGIN CERTIFICATE-----' } };
    const expirationDate = certificates.get(id);
    if (expirationDate === undefined) {
      return { status: 404, headers: { 'x-amzn-ErrorType': 'NotFoundException' }, body: { message: 'Invalid client certificate identifier specified' } };
    }
    return {
      status: 200,
      body: {
        clientCertificateId: id,
        description: 'Tollgate: upstream client certificate',
        pemEncodedCertificate: '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----',
        createdDate: expirationDate - 365 * DAY,
        expirationDate,
      },
    };
  });
});

afterAll(async () => {
  await apigateway?.close();
});

const app = (ids: Record<string, string>) => rotationApp(tables, clock, { env: { [EndpointEnv.apigateway]: apigateway.url, ...ids } });

describe('rotation function: the upstream client certificates', () => {
  it('reads each watched certificate with a signed GetClientCertificate and reports its expiry', async () => {
    const now = clock.seconds();
    certificates.set('cur123', now + 29 * DAY + 60);
    certificates.set('nxt456', now + 365 * DAY);
    apigateway.requests.length = 0;

    const report = await app({ [Env.upstreamCertificateId]: 'cur123', [Env.nextUpstreamCertificateId]: 'nxt456' }).handle(STEP);

    expect(report.upstreamCertificates).toEqual([
      { certificateId: 'cur123', role: 'presented', expiresAt: new Date((now + 29 * DAY + 60) * 1000).toISOString(), daysLeft: 29 },
      { certificateId: 'nxt456', role: 'next', expiresAt: new Date((now + 365 * DAY) * 1000).toISOString(), daysLeft: 365 },
    ]);
    expect(report.problems).toEqual([]);
    expect(apigateway.requests.map((r) => `${r.method} ${r.pathname}`).sort()).toEqual(['GET /clientcertificates/cur123', 'GET /clientcertificates/nxt456']);
    for (const request of apigateway.requests)
      expect(request.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/apigateway\/aws4_request/);
  });

  it("names a certificate API Gateway does not know in the run's problems, and reports the ring all the same", async () => {
    const report = await app({ [Env.upstreamCertificateId]: 'gone00' }).handle({ action: 'status' });
    expect(report.upstreamCertificates).toEqual([]);
    expect(report.problems).toEqual([
      expect.stringMatching(/upstream client certificate gone00 \(presented\) failed \(.*Invalid client certificate identifier specified.*\)/),
    ]);
    expect(report.ring).toBeDefined();
  });

  it('treats an answer without an expirationDate as a failed read, not as a certificate that never expires', async () => {
    const report = await app({ [Env.upstreamCertificateId]: 'noexp1' }).handle({ action: 'status' });
    expect(report.upstreamCertificates).toEqual([]);
    expect(report.problems).toEqual([expect.stringContaining('GetClientCertificate returned no expirationDate for noexp1')]);
  });

  it('reads nothing from API Gateway where no certificate is configured (local mode)', async () => {
    apigateway.requests.length = 0;
    const report = await app({}).handle({ action: 'status' });
    expect(report.upstreamCertificates).toBeNull();
    expect(apigateway.requests).toEqual([]);
  });
});
