import { describe, expect, it } from 'vitest';
import { requestInfo } from '../../../../../infra/local/cluster/server.ts';

describe('requestInfo (kube RequestInfo)', () => {
  it.each([
    ['GET', '/api/v1/namespaces/a/secrets/s', '', { verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'a', name: 's', subresource: '' }],
    ['GET', '/api/v1/namespaces/a/secrets', '', { verb: 'list', resource: 'secrets', namespace: 'a', name: '' }],
    ['GET', '/api/v1/secrets', 'watch=true', { verb: 'watch', resource: 'secrets', namespace: '' }],
    // a boolean as kube's parameter codec reads it: anything but "0" and "false" (any case) is true
    ['GET', '/api/v1/secrets', 'watch=1', { verb: 'watch' }],
    ['GET', '/api/v1/secrets', 'watch=True', { verb: 'watch' }],
    ['GET', '/api/v1/secrets', 'watch=', { verb: 'watch' }],
    ['GET', '/api/v1/secrets', 'watch=FALSE', { verb: 'list' }],
    ['GET', '/api/v1/secrets', 'watch=0', { verb: 'list' }],
    ['GET', '/api/v1/watch/namespaces/a/secrets', '', { verb: 'watch', resource: 'secrets', namespace: 'a' }],
    ['GET', '/api/v1/namespaces/a', '', { verb: 'get', resource: 'namespaces', namespace: 'a', name: 'a' }],
    ['PUT', '/api/v1/namespaces/a/finalize', '', { verb: 'update', resource: 'namespaces', name: 'a', subresource: 'finalize' }],
    ['PATCH', '/apis/apps/v1/namespaces/a/deployments/d/scale', '', { verb: 'patch', apiGroup: 'apps', resource: 'deployments', name: 'd', subresource: 'scale' }],
    ['DELETE', '/api/v1/namespaces/a/configmaps', '', { verb: 'deletecollection', resource: 'configmaps' }],
    ['DELETE', '/api/v1/namespaces/a/configmaps/c', '', { verb: 'delete', name: 'c' }],
    ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', '', { verb: 'create', apiGroup: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' }],
  ])('%s %s?%s', (method, path, query, want) => {
    const info = requestInfo(method, path, new URLSearchParams(query));
    expect(info.resourceRequest).toBe(true);
    expect(info).toMatchObject(want);
  });

  it.each([
    ['GET', '/version', 'get'],
    ['GET', '/apis', 'get'],
    ['GET', '/apis/apps/v1', 'get'],
    ['POST', '/openapi/v3', 'post'],
  ])('%s %s is a non-resource request (verb %s)', (method, path, verb) => {
    expect(requestInfo(method, path, new URLSearchParams())).toMatchObject({ resourceRequest: false, verb, path });
  });
});
