import { describe, expect, it } from 'vitest';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from '../../../../../infra/local/cluster/patch.ts';

const deployment = () => ({
  metadata: { name: 'd', finalizers: ['a'], labels: { x: '1' } },
  spec: {
    replicas: 1,
    template: {
      spec: {
        containers: [
          { name: 'app', image: 'img:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], volumeMounts: [{ name: 'v', mountPath: '/a' }], ports: [{ containerPort: 80 }] },
          { name: 'side', image: 'img:1' },
        ],
        volumes: [{ name: 'v', secret: { secretName: 's' } }],
        tolerations: [{ key: 't1' }],
      },
    },
  },
});
const containers = (d: any) => d.spec.template.spec.containers;

describe('strategic merge patch', () => {
  it.each([
    ['merges containers by name and env by name',
      { spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }] }] } } } },
      (d: any) => [containers(d).map((c: any) => c.name), containers(d)[0].env],
      [['app', 'side'], [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }]]],
    ['appends a new container',
      { spec: { template: { spec: { containers: [{ name: 'new', image: 'x' }] } } } },
      (d: any) => containers(d).map((c: any) => c.name), ['app', 'side', 'new']],
    ['deletes a list item with $patch: delete',
      { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } },
      (d: any) => containers(d).map((c: any) => c.name), ['app']],
    ['replaces a list with a $patch: replace item',
      { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'y' }] } } } },
      (d: any) => containers(d), [{ name: 'only', image: 'y' }]],
    ['replaces lists without a merge key (tolerations)',
      { spec: { template: { spec: { tolerations: [{ key: 't2' }] } } } },
      (d: any) => d.spec.template.spec.tolerations, [{ key: 't2' }]],
    ['merges volumeMounts by mountPath',
      { spec: { template: { spec: { containers: [{ name: 'app', volumeMounts: [{ name: 'w', mountPath: '/b' }] }] } } } },
      (d: any) => containers(d)[0].volumeMounts.map((m: any) => m.mountPath), ['/a', '/b']],
    ['merges container ports by containerPort',
      { spec: { template: { spec: { containers: [{ name: 'app', ports: [{ containerPort: 80, name: 'http' }] }] } } } },
      (d: any) => containers(d)[0].ports, [{ containerPort: 80, name: 'http' }]],
    ['deletes a key with null',
      { metadata: { labels: { x: null } } },
      (d: any) => d.metadata.labels, {}],
    ['merges metadata.finalizers as a set',
      { metadata: { finalizers: ['a', 'b'] } },
      (d: any) => d.metadata.finalizers, ['a', 'b']],
    ['removes primitives with $deleteFromPrimitiveList',
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      (d: any) => d.metadata.finalizers, []],
    ['orders with $setElementOrder',
      { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'side' }, { name: 'app' }] } } } },
      (d: any) => containers(d).map((c: any) => c.name), ['side', 'app']],
    ['keeps only $retainKeys',
      { spec: { template: { spec: { volumes: [{ name: 'v', emptyDir: {}, $retainKeys: ['name', 'emptyDir'] }] } } } },
      (d: any) => d.spec.template.spec.volumes, [{ name: 'v', emptyDir: {} }]],
  ])('%s', (_name, patch, pick, want) => {
    // Prepare
    const original = deployment();
    // Act
    const out = applyStrategicMergePatch(original, patch);
    // Assess
    expect(pick(out)).toEqual(want);
    expect(original).toEqual(deployment());
  });

  it('merges Service ports by port', () => {
    const svc = { spec: { ports: [{ port: 80, name: 'http' }, { port: 443, name: 'https' }] } };
    expect(applyStrategicMergePatch(svc, { spec: { ports: [{ port: 443, targetPort: 8443 }] } }).spec.ports)
      .toEqual([{ port: 80, name: 'http' }, { port: 443, name: 'https', targetPort: 8443 }]);
  });

  it('rejects a patch that is not an object', () => {
    expect(() => applyStrategicMergePatch({}, [1])).toThrow(PatchError);
  });
});

describe('JSON merge patch', () => {
  it.each([
    [{ a: 1, b: { c: 2 } }, { b: { c: null, d: 3 } }, { a: 1, b: { d: 3 } }],
    [{ list: [1, 2] }, { list: [3] }, { list: [3] }],
    [{ a: 1 }, { a: { b: 1 } }, { a: { b: 1 } }],
  ])('%j + %j = %j', (target, patch, want) => {
    expect(applyMergePatch(target, patch)).toEqual(want);
  });
});

describe('JSON patch', () => {
  it('applies operations without touching the input', () => {
    const doc = { spec: { replicas: 1 } };
    expect(applyJsonPatch(doc, [{ op: 'replace', path: '/spec/replicas', value: 2 }, { op: 'add', path: '/spec/paused', value: true }])).toEqual({ spec: { replicas: 2, paused: true } });
    expect(doc).toEqual({ spec: { replicas: 1 } });
  });

  it.each([
    ['a failed test', [{ op: 'test', path: '/spec/replicas', value: 5 }], 422],
    ['a missing path', [{ op: 'replace', path: '/nope/x', value: 1 }], 422],
    ['a body that is not a list', { op: 'add' }, 400],
  ])('fails on %s, without echoing values', (_name, ops, code) => {
    let err: unknown;
    try {
      applyJsonPatch({ spec: { replicas: 1 } }, ops);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PatchError);
    expect((err as PatchError).code).toBe(code);
    expect((err as PatchError).message).not.toMatch(/"value"/);
  });
});
