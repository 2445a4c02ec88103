import { describe, expect, it } from 'vitest';
import { Store, type Change } from '../../../../../infra/local/cluster/store.ts';

const secret = (ns: string, name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, ...extra });

describe('Store', () => {
  it('assigns one monotonic resourceVersion across resources and lists sorted by namespace/name', () => {
    const s = new Store();
    s.put('secrets', secret('b', 'x'));
    s.put('configmaps', { metadata: { name: 'c', namespace: 'a' } });
    s.put('secrets', secret('a', 'z'));
    s.put('secrets', secret('a', 'y'));
    expect(s.resourceVersion).toBe(4);
    expect(s.list('secrets').map((e) => `${e.obj.metadata.namespace}/${e.obj.metadata.name}@${e.obj.metadata.resourceVersion}`)).toEqual(['a/y@4', 'a/z@3', 'b/x@1']);
    expect(s.list('secrets', 'a').map((e) => e.obj.metadata.name)).toEqual(['y', 'z']);
    expect(s.count('secrets')).toBe(3);
    expect(s.keysIn('a').sort()).toEqual(['configmaps', 'secrets']);
  });

  it('reports ADDED, MODIFIED and DELETED (with the old state) to subscribers and keeps JSON in step', () => {
    const s = new Store();
    const seen: Change[] = [];
    s.subscribe((c) => seen.push(c));
    s.put('secrets', secret('a', 'x', { data: { k: 'MQ==' } }));
    s.put('secrets', secret('a', 'x', { data: { k: 'Mg==' } }));
    s.remove('secrets', 'a', 'x');
    expect(seen.map((c) => `${c.type}@${c.rv}`)).toEqual(['ADDED@1', 'MODIFIED@2', 'DELETED@3']);
    expect(seen[1].old.data).toEqual({ k: 'MQ==' });
    expect(JSON.parse(seen[2].json).metadata.resourceVersion).toBe('3');
    expect(s.get('secrets', 'a', 'x')).toBeUndefined();
  });

  it('replays changes after a resourceVersion and expires those older than the retained history', () => {
    const s = new Store({ historyLimit: 3 });
    for (let i = 0; i < 5; i++) s.put('secrets', secret('a', `s${i}`));
    s.put('configmaps', { metadata: { name: 'c', namespace: 'a' } });
    // retained: rv 4, 5, 6
    expect(s.changesSince(2, 'secrets')).toBe('expired');
    expect((s.changesSince(3, 'secrets') as Change[]).map((c) => c.name)).toEqual(['s3', 's4']);
    expect(s.changesSince(3, 'secrets', 'other')).toEqual([]);
    s.compact();
    expect(s.changesSince(5, 'secrets')).toBe('expired');
    expect(s.changesSince(6, 'secrets')).toEqual([]);
  });
});
