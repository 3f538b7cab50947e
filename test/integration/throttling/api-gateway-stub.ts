/**
 * An API Gateway endpoint for the admin function's SDK client: real HTTP, every request
 * recorded, answered by the local API Gateway model (`local/usage-plans.ts`, which keeps
 * API Gateway's rules) unless a scripted fault answers first — a 500, a 429 throttle, or a
 * response lost after the model already applied the request.
 */
import { startHttpStub, type HttpStub, type RecordedRequest, type StubResponse } from '../../support/http-stub';
import { LocalUsagePlans } from '../../../local/usage-plans';

export interface Fault {
  /** Which requests it hits, e.g. `r => r.method === 'POST' && r.pathname === '/apikeys'`. */
  readonly when: (request: RecordedRequest) => boolean;
  /** `lost`: the model applies the request, then the caller gets a 500 instead of the answer. */
  readonly answer: StubResponse | 'lost';
  /** How many matching requests it hits; Infinity: all. */
  times: number;
}

export interface ApiGatewayStub extends HttpStub {
  readonly model: LocalUsagePlans;
  fail(fault: Omit<Fault, 'times'> & { times?: number }): void;
  /** Requests that change something (anything but GET). */
  writes(): RecordedRequest[];
  /** `METHOD /path` of every request, in order. */
  calls(): string[];
  clear(): void;
}

export const SERVER_ERROR: StubResponse = { status: 500, headers: { 'x-amzn-ErrorType': 'InternalFailure' }, body: { message: 'injected failure' } };
export const TOO_MANY_REQUESTS: StubResponse = {
  status: 429,
  headers: { 'x-amzn-ErrorType': 'TooManyRequestsException', 'Retry-After': '0' },
  body: { message: 'Too Many Requests' },
};

export async function startApiGatewayStub(): Promise<ApiGatewayStub> {
  const model = new LocalUsagePlans();
  const faults: Fault[] = [];
  const stub = await startHttpStub((request) => {
    const fault = faults.find((candidate) => candidate.times > 0 && candidate.when(request));
    if (fault) fault.times -= 1;
    if (fault && fault.answer !== 'lost') return fault.answer;
    const answer = model.handle({ method: request.method, path: request.pathname, query: request.query, body: request.body });
    if (fault) return SERVER_ERROR;
    return answer
      ? { status: answer.status, ...(answer.headers && { headers: answer.headers }), ...(answer.body !== undefined && { body: answer.body }) }
      : { status: 404, body: { message: 'not an API Gateway path the stub serves' } };
  });
  return Object.assign(stub, {
    model,
    fail: (fault: Omit<Fault, 'times'> & { times?: number }) => void faults.push({ ...fault, times: fault.times ?? 1 }),
    writes: () => stub.requests.filter((request) => request.method !== 'GET'),
    calls: () => stub.requests.map((request) => `${request.method} ${request.pathname}`),
    clear: () => {
      stub.requests.length = 0;
      faults.length = 0;
    },
  });
}

export function isRequest(method: string, path: RegExp): (request: RecordedRequest) => boolean {
  return (request) => request.method === method && path.test(request.pathname);
}
