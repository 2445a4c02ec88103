import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog, auditEvent, authorizationAnnotations, microTime, type AuditEvent } from '../../../../../infra/local/cluster/audit.ts';

const alice = { username: 'alice', groups: ['system:authenticated'] };

describe('auditEvent', () => {
  it('builds a Metadata-level ResponseComplete event', () => {
    const e = auditEvent({
      requestURI: '/api/v1/namespaces/platform/secrets/blogsecret', verb: 'delete', user: alice, sourceIPs: ['127.0.0.1'], userAgent: 'kubectl/v1.32.0',
      objectRef: { resource: 'secrets', namespace: 'platform', name: 'blogsecret', apiVersion: 'v1' }, code: 403, reason: 'Forbidden', message: 'secrets "blogsecret" is forbidden: ...',
      received: new Date('2026-01-01T10:00:00.123Z'), completed: new Date('2026-01-01T10:00:00.456Z'),
      annotations: authorizationAnnotations({ allowed: false, reason: '' }),
    });
    expect(e).toMatchObject({
      kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', stage: 'ResponseComplete', verb: 'delete',
      user: alice, objectRef: { resource: 'secrets', namespace: 'platform', name: 'blogsecret', apiVersion: 'v1' },
      responseStatus: { metadata: {}, code: 403, status: 'Failure', reason: 'Forbidden' },
      requestReceivedTimestamp: '2026-01-01T10:00:00.123000Z', stageTimestamp: '2026-01-01T10:00:00.456000Z',
      annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' },
    });
    expect(e.auditID).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a success carries only the code', () => {
    expect(auditEvent({ requestURI: '/x', verb: 'get', user: alice, code: 200 }).responseStatus).toEqual({ metadata: {}, code: 200 });
  });

  it('keeps only reference fields of objectRef, even when handed a whole object', () => {
    const sneaky = { resource: 'secrets', apiVersion: 'v1', name: 's', data: { password: 'Y2FuYXJ5' } } as unknown as AuditEvent['objectRef'];
    expect(JSON.stringify(auditEvent({ requestURI: '/x', verb: 'create', user: alice, objectRef: sneaky, code: 201 }))).not.toContain('Y2FuYXJ5');
  });

  it('formats microsecond timestamps', () => {
    expect(microTime(new Date('2026-11-25T10:00:00Z'))).toBe('2026-11-25T10:00:00.000000Z');
  });
});

describe('AuditLog', () => {
  it('delivers to subscribers until they unsubscribe, survives a throwing one, and writes JSON lines', async () => {
    // Prepare
    const file = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl');
    const log = new AuditLog({ file });
    const seen: string[] = [];
    log.subscribe(() => { throw new Error('subscriber bug'); });
    const off = log.subscribe((e) => seen.push(e.verb));
    // Act
    log.record(auditEvent({ requestURI: '/a', verb: 'create', user: alice, code: 201 }));
    off();
    log.record(auditEvent({ requestURI: '/b', verb: 'delete', user: alice, code: 200 }));
    await log.close();
    log.record(auditEvent({ requestURI: '/c', verb: 'get', user: alice, code: 200 }));
    // Assess
    expect(seen).toEqual(['create']);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.requestURI)).toEqual(['/a', '/b']);
  });
});
