/**
 * Issue #14 finding 6, in AWS: every name of the upstream header set (common/gateway-contract.ts
 * `UpstreamHeader`) is mapped in the HTTP proxy integration's request parameters of every
 * upstream method, so the integration request carries Tollgate's value under each name,
 * from the authorizer's context.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MAPPED_HEADER_NAMES,
  METHOD_OVERRIDE_HEADERS,
  PATH_OVERRIDE_HEADERS,
  RESERVED_HEADER_PREFIX,
  UpstreamHeader,
  UpstreamHeaderSource,
  type UpstreamHeaderKey,
} from '../../common/gateway-contract';
import { buildApp, template, type BuiltApp } from './app';

let built: BuiltApp;
beforeAll(() => {
  built = buildApp();
});

const upstreamMethods = (app: BuiltApp) =>
  Object.values(template(app.api).findResources('AWS::ApiGateway::Method'))
    .filter((m) => m.Properties.Integration?.Type === 'HTTP_PROXY')
    .map((m) => m.Properties as { Integration: { RequestParameters: Record<string, string> } });

describe('upstream header set in the synthesized integration', () => {
  it('maps every name of the set on every upstream method from the authorizer`s context', () => {
    const methods = upstreamMethods(built);
    expect(methods.length).toBeGreaterThan(0);
    const expected = {
      [`integration.request.header.${UpstreamHeader.clientId}`]: 'context.authorizer.clientId',
      [`integration.request.header.${UpstreamHeader.scopes}`]: 'context.authorizer.scopes',
      [`integration.request.header.${UpstreamHeader.tokenId}`]: 'context.authorizer.jti',
      [`integration.request.header.${UpstreamHeader.keyId}`]: 'context.authorizer.keyId',
      [`integration.request.header.${UpstreamHeader.service}`]: 'context.authorizer.service',
    };
    for (const method of methods) expect(method.Integration.RequestParameters).toMatchObject(expected);
  });

  it('maps exactly the set (derived from common/gateway-contract.ts, so a name added there cannot be left unmapped)', () => {
    const names = (Object.keys(UpstreamHeader) as UpstreamHeaderKey[]).map((key) => UpstreamHeader[key]);
    for (const method of upstreamMethods(built)) {
      const mapped = Object.keys(method.Integration.RequestParameters)
        .filter(
          (key) =>
            key.startsWith('integration.request.header.') && key.toLowerCase().slice('integration.request.header.'.length).startsWith(RESERVED_HEADER_PREFIX),
        )
        .map((key) => key.slice('integration.request.header.'.length));
      expect(mapped.sort()).toEqual([...names].sort());
      for (const key of Object.keys(UpstreamHeader) as UpstreamHeaderKey[]) {
        const source = UpstreamHeaderSource[key];
        expect(method.Integration.RequestParameters[`integration.request.header.${UpstreamHeader[key]}`]).toBe(
          source === null ? "''" : `context.authorizer.${source}`,
        );
      }
    }
  });

  it('keeps the whole set when the bearer token is forwarded', () => {
    for (const method of upstreamMethods(buildApp({ settings: { forwardBearerToken: true } }))) {
      for (const name of Object.values(UpstreamHeader)) expect(method.Integration.RequestParameters).toHaveProperty(`integration.request.header.${name}`);
    }
  });

  it('maps exactly the names local mode overwrites (MAPPED_HEADER_NAMES), besides the bearer token', () => {
    for (const method of upstreamMethods(built)) {
      const mapped = Object.keys(method.Integration.RequestParameters)
        .filter((key) => key.startsWith('integration.request.header.'))
        .map((key) => key.slice('integration.request.header.'.length).toLowerCase())
        .filter((name) => name !== 'authorization');
      expect(new Set(mapped)).toEqual(MAPPED_HEADER_NAMES);
    }
  });

  it('neutralises method and path override headers: the decided method, and an empty path', () => {
    for (const method of upstreamMethods(built)) {
      for (const name of METHOD_OVERRIDE_HEADERS) expect(method.Integration.RequestParameters[`integration.request.header.${name}`]).toBe('context.httpMethod');
      for (const name of PATH_OVERRIDE_HEADERS) expect(method.Integration.RequestParameters[`integration.request.header.${name}`]).toBe("''");
    }
  });
});
