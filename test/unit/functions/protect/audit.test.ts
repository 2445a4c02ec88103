import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { attemptFromAudit, clusterOfLogGroup, decodeLogsEvent, isCloudWatchLogsEvent } from '../../../../functions/protect/audit.ts';
import { recordsAsAwsLogs } from '../../../../infra/local/dev/logs.ts';

const record = (over: object = {}) => ({
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  level: 'Metadata',
  auditID: 'a-1',
  stage: 'ResponseComplete',
  requestURI: '/api/v1/namespaces/platform/secrets/base',
  verb: 'delete',
  user: { username: 'bob', groups: ['dev', 'system:authenticated'] },
  sourceIPs: ['127.0.0.1'],
  objectRef: { resource: 'secrets', namespace: 'platform', name: 'base', apiVersion: 'v1' },
  responseStatus: { metadata: {}, code: 200 },
  requestReceivedTimestamp: '2026-11-25T12:00:00.000000Z',
  stageTimestamp: '2026-11-25T12:00:00.010000Z',
  annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
  ...over,
});

describe('CloudWatch Logs subscription payload', () => {
  it('round-trips records through base64(gzip(JSON))', () => {
    const ev = recordsAsAwsLogs([record()], '/aws/eks/prod/cluster');
    expect(isCloudWatchLogsEvent(ev)).toBe(true);
    const payload = decodeLogsEvent(ev);
    expect(payload.logGroup).toBe('/aws/eks/prod/cluster');
    expect(JSON.parse(payload.logEvents[0].message).auditID).toBe('a-1');
  });

  it.each([
    [{ awslogs: { data: 'not gzip' } }, /not base64 of gzip/],
    [{ awslogs: { data: gzipSync('nope').toString('base64') } }, /not JSON/],
    [{ awslogs: { data: gzipSync('{}').toString('base64') } }, /logEvents is missing/],
  ])('rejects %o with a clear error', (ev, msg) => {
    expect(() => decodeLogsEvent(ev)).toThrow(msg);
  });

  it.each([
    ['/aws/eks/prod/cluster', 'prod'],
    ['/aws/lambda/x', null],
  ])('cluster of %s', (g, c) => {
    expect(clusterOfLogGroup(g)).toBe(c);
  });
});

describe('attemptFromAudit', () => {
  it('maps a record to an attempt naming the actor', () => {
    const a = attemptFromAudit(JSON.stringify(record()));
    expect(a).toEqual({
      kind: 'Secret',
      namespace: 'platform',
      name: 'base',
      authorization: 'allow',
      attempt: { via: 'audit', verb: 'delete', actor: { username: 'bob', groups: ['dev', 'system:authenticated'] }, code: 200, at: '2026-11-25T12:00:00.010000Z', id: 'a-1' },
    });
  });

  it('a deletecollection concerns the whole namespace (name null)', () => {
    const a = attemptFromAudit(JSON.stringify(record({ verb: 'deletecollection', objectRef: { resource: 'configmaps', namespace: 'platform' } })));
    expect('attempt' in a && [a.kind, a.namespace, a.name, a.attempt.verb]).toEqual(['ConfigMap', 'platform', null, 'deletecollection']);
  });

  it('the delete of a namespace is an attempt on what it holds (scope namespace), by its actor', () => {
    const a = attemptFromAudit(JSON.stringify(record({ requestURI: '/api/v1/namespaces/platform', user: { username: 'dora', groups: ['ns-deleters'] }, objectRef: { resource: 'namespaces', namespace: 'platform', name: 'platform', apiVersion: 'v1' } })));
    expect('attempt' in a && [a.kind, a.namespace, a.name, a.attempt.verb, a.attempt.scope, a.attempt.actor.username]).toEqual(['Namespace', 'platform', null, 'delete', 'namespace', 'dora']);
  });

  it('the impersonated user is the actor', () => {
    const a = attemptFromAudit(JSON.stringify(record({ impersonatedUser: { username: 'eve', groups: ['x'] } })));
    expect('attempt' in a && a.attempt.actor).toEqual({ username: 'eve', groups: ['x'] });
  });

  it.each([
    ['not json', 'x', /not JSON/],
    ['other stage', JSON.stringify(record({ stage: 'RequestReceived' })), /stage/],
    ['pods', JSON.stringify(record({ objectRef: { resource: 'pods', namespace: 'a', name: 'b' } })), /not a Secret/],
    ['collection', JSON.stringify(record({ verb: 'list', objectRef: { resource: 'secrets', namespace: 'a' } })), /without a name/],
    ['across namespaces', JSON.stringify(record({ verb: 'deletecollection', objectRef: { resource: 'secrets' } })), /without namespace/],
    ['not an audit event', JSON.stringify({ hello: 1 }), /not an audit/],
    ['a namespace update', JSON.stringify(record({ verb: 'update', objectRef: { resource: 'namespaces', name: 'platform' } })), /not a delete of one namespace/],
    ['the namespace controller finalizing (subresource)', JSON.stringify(record({ verb: 'update', objectRef: { resource: 'namespaces', name: 'platform', subresource: 'finalize' } })), /not a Secret/],
  ])('skips %s', (_n, msg, why) => {
    const a = attemptFromAudit(msg);
    expect('skip' in a && a.skip).toMatch(why);
  });
});
