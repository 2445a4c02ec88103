/** CloudWatch Logs subscription delivery: filter, batch, and the gzip+base64 awslogs envelope. */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeLogsEvent } from '../../../../../functions/protect/audit.ts';
import { LogSubscription, type AwsLogsEvent, type DataMessage } from '../../../../../infra/local/dev/logs.ts';
import { prettyLogLine } from '../../../../../infra/local/dev/output.ts';

const audit = (verb: string, resource: string) => JSON.stringify({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', verb, user: { username: 'alice', groups: [] }, objectRef: { resource, namespace: 'platform', name: 'blogsecret' } });

describe('LogSubscription', () => {
  it('delivers the records that pass the filter pattern as a DATA_MESSAGE in { awslogs: { data } }', () => {
    const delivered: Array<[AwsLogsEvent, DataMessage]> = [];
    const sub = new LogSubscription({ name: 'protect-audit', owner: '123456789012', logGroup: '/aws/eks/ripple/cluster', logStream: 'kube-apiserver-audit-abc', filterPattern: '{ $.objectRef.resource = "secrets" && ($.verb = "delete" || $.verb = "update") }', flushMs: 10_000, deliver: (e, m) => delivered.push([e, m]) });
    sub.put(audit('delete', 'secrets'), 1_764_000_000_000);
    sub.put(audit('get', 'secrets'), 1_764_000_000_001);
    sub.put(audit('delete', 'configmaps'), 1_764_000_000_002);
    sub.put(audit('update', 'secrets'), 1_764_000_000_003);
    sub.flush();
    sub.stop();
    expect(delivered).toHaveLength(1);
    const [event] = delivered[0];
    expect(Object.keys(event)).toEqual(['awslogs']);
    const raw = JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8'));
    expect(raw).toEqual(decodeLogsEvent(event)); // what the protect handler reads
    expect(raw).toMatchObject({ messageType: 'DATA_MESSAGE', owner: '123456789012', logGroup: '/aws/eks/ripple/cluster', logStream: 'kube-apiserver-audit-abc', subscriptionFilters: ['protect-audit'] });
    expect(raw.logEvents.map((e: { timestamp: number }) => e.timestamp)).toEqual([1_764_000_000_000, 1_764_000_000_003]);
    expect(JSON.parse(raw.logEvents[0].message)).toMatchObject({ verb: 'delete' });
    expect(raw.logEvents[0].id).toMatch(/^\d{42}$/);
    expect([sub.seen, sub.matched]).toEqual([4, 2]);
  });

  it('flushes by itself after flushMs', async () => {
    const delivered: DataMessage[] = [];
    const sub = new LogSubscription({ name: 'f', owner: '1', logGroup: 'g', logStream: 's', filterPattern: '', flushMs: 20, deliver: (_e, m) => delivered.push(m) });
    sub.put('anything');
    await new Promise((r) => setTimeout(r, 80));
    expect(delivered.map((m) => m.logEvents.length)).toEqual([1]);
  });

  it('rejects an invalid filter pattern at construction', () => {
    expect(() => new LogSubscription({ name: 'f', owner: '1', logGroup: 'g', logStream: 's', filterPattern: '{ $.a = }', flushMs: 1, deliver: () => undefined })).toThrow(/expected a value/);
  });
});

describe('prettyLogLine', () => {
  it.each([
    ['a Powertools line', '{"level":"INFO","message":"copy written","timestamp":"2026-11-25T10:00:00.123Z","service":"clone","kind":"Secret","namespace":"team-a"}', '10:00:00.123 INFO  clone    copy written kind=Secret namespace=team-a'],
    ['a value with spaces is quoted', '{"level":"WARN","message":"m","timestamp":"2026-11-25T10:00:00.000Z","reason":"two words"}', '10:00:00.000 WARN  clone    m reason="two words"'],
    ['not JSON', 'plain text', null],
  ])('%s', (_name, line, expected) => {
    expect(prettyLogLine('clone', line, false)).toBe(expected);
  });
});
