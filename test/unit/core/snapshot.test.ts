import { describe, expect, it } from 'vitest';
import { buildSnapshot, contentFromSnapshot, contentLike, snapshotName } from '../../../core/snapshot.ts';
import { fingerprint } from '../../../core/fingerprint.ts';

const KEY = 'k';
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('snapshot round trip', () => {
  it.each([
    ['Secret', { metadata: { name: 'base', namespace: 'platform', labels: { team: 'x' } }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64('crt'), 'tls.key': b64('key') } }],
    ['Secret', { metadata: { name: 'base', namespace: 'platform' }, data: { a: b64('1') }, immutable: true }],
    ['ConfigMap', { metadata: { name: 'cfg', namespace: 'platform' }, data: { 'app.yaml': 'x: 1\n', 'ü': 'ö' }, binaryData: { blob: b64('\u0000\u0001') } }],
    ['ConfigMap', { metadata: { name: 'cfg', namespace: 'platform' }, data: {} }],
  ] as [ 'Secret' | 'ConfigMap', { metadata: { name: string; namespace: string; labels?: Record<string, string> }; type?: string; data?: Record<string, string>; binaryData?: Record<string, string>; immutable?: boolean }][])('%s %#', (kind, obj) => {
    const fp = fingerprint(KEY, { kind, ...obj });
    const snap = buildSnapshot('p', kind, obj, fp);
    expect(snap.metadata?.name).toBe(snapshotName('p'));
    expect(snap.metadata?.namespace).toBe('ripple-system');
    expect(snap.metadata?.annotations?.['ripple.dev/source-fingerprint']).toBe(fp);
    // Content never sits in annotations.
    expect(JSON.stringify(snap.metadata)).not.toMatch(/crt|key'|x: 1|ö/);
    const back = contentFromSnapshot(snap);
    expect(back.kind).toBe(kind);
    expect(back.namespace).toBe('platform');
    expect(fingerprint(KEY, contentLike(back))).toBe(fp);
    expect(back.labels).toEqual(obj.metadata.labels ?? {});
    expect(back.immutable).toBe(Boolean((obj as { immutable?: boolean }).immutable));
  });

  it('rejects a snapshot without its source annotation with a clear message', () => {
    expect(() => contentFromSnapshot({ metadata: { name: 'ripple-snapshot-x', annotations: {} } })).toThrow(/ripple.dev\/source.*re-seeded/);
  });
});
