import type { V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { consumption, findReferences, type ConsumerSettings, type ObjectRef } from '../../../../functions/rollout/consumers.ts';

const ALL: ConsumerSettings = { references: ['env', 'envFrom', 'volume', 'projected'], reloaderAnnotations: false };
const S: ObjectRef = { kind: 'Secret', name: 'db' };
const CM: ObjectRef = { kind: 'ConfigMap', name: 'cfg' };

const c = (extra: object = {}) => ({ name: 'app', image: 'x', ...extra });
const specs: Record<string, V1PodSpec> = {
  envSecret: { containers: [c({ env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'p' } } }] })] },
  envConfigMap: { containers: [c({ env: [{ name: 'P', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'p' } } }] })] },
  envFromSecret: { containers: [c({ envFrom: [{ secretRef: { name: 'db' } }] })] },
  envFromConfigMap: { containers: [c({ envFrom: [{ configMapRef: { name: 'cfg' } }] })] },
  volumeSecret: { containers: [c()], volumes: [{ name: 'v', secret: { secretName: 'db' } }] },
  volumeConfigMap: { containers: [c()], volumes: [{ name: 'v', configMap: { name: 'cfg' } }] },
  projectedSecret: { containers: [c()], volumes: [{ name: 'p', projected: { sources: [{ serviceAccountToken: { path: 't' } }, { secret: { name: 'db' } }] } }] },
  projectedConfigMap: { containers: [c()], volumes: [{ name: 'p', projected: { sources: [{ configMap: { name: 'cfg' } }] } }] },
  initEnvSecret: { initContainers: [c({ name: 'init', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'p' } } }] })], containers: [c()] },
  initEnvFromConfigMap: { initContainers: [c({ name: 'init', envFrom: [{ configMapRef: { name: 'cfg' } }] })], containers: [c()] },
  pullSecret: { containers: [c()], imagePullSecrets: [{ name: 'db' }] },
  otherSecret: { containers: [c({ env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'other', key: 'p' } } }], envFrom: [{ secretRef: { name: 'db2' } }] })], volumes: [{ name: 'v', secret: { secretName: 'x' } }] },
  plainEnv: { containers: [c({ env: [{ name: 'db', value: 'db' }] })] },
  secretNamedLikeConfigMap: { containers: [c({ envFrom: [{ configMapRef: { name: 'db' } }] })] },
};

describe('findReferences', () => {
  it.each([
    ['envSecret', S, ['env:container app env P']],
    ['envConfigMap', CM, ['env:container app env P']],
    ['envFromSecret', S, ['envFrom:container app envFrom[0]']],
    ['envFromConfigMap', CM, ['envFrom:container app envFrom[0]']],
    ['volumeSecret', S, ['volume:volume v']],
    ['volumeConfigMap', CM, ['volume:volume v']],
    ['projectedSecret', S, ['projected:volume p projected source 1']],
    ['projectedConfigMap', CM, ['projected:volume p projected source 0']],
    ['initEnvSecret', S, ['env:initContainer init env P']],
    ['initEnvFromConfigMap', CM, ['envFrom:initContainer init envFrom[0]']],
    ['pullSecret', S, ['imagePullSecrets:imagePullSecrets']],
    ['otherSecret', S, []],
    ['plainEnv', S, []],
    ['secretNamedLikeConfigMap', S, []],
    ['envSecret', { kind: 'ConfigMap', name: 'db' }, []],
  ] as const)('%s / %o -> %o', (spec, target, expected) => {
    expect(findReferences(specs[spec], target).map((r) => `${r.form}:${r.where}`)).toEqual(expected);
  });
});

describe('consumption', () => {
  it.each([
    // spec, target, settings, workload annotations, restart?
    ['envSecret', S, ALL, {}, true],
    ['projectedConfigMap', CM, ALL, {}, true],
    ['initEnvSecret', S, ALL, {}, true],
    ['pullSecret', S, ALL, {}, false],
    ['otherSecret', S, ALL, {}, false],
    ['envSecret', S, { ...ALL, references: ['volume'] }, {}, false],
    ['volumeSecret', S, { ...ALL, references: ['volume'] }, {}, true],
    // Reloader annotations only when enabled
    ['envSecret', S, { references: ['volume'], reloaderAnnotations: true }, { 'reloader.stakater.com/auto': 'true' }, true],
    ['envSecret', S, { references: ['volume'], reloaderAnnotations: false }, { 'reloader.stakater.com/auto': 'true' }, false],
    ['envSecret', S, { references: ['volume'], reloaderAnnotations: true }, { 'secret.reloader.stakater.com/auto': 'true' }, true],
    ['envSecret', S, { references: ['volume'], reloaderAnnotations: true }, { 'configmap.reloader.stakater.com/auto': 'true' }, false],
    ['otherSecret', S, { ...ALL, reloaderAnnotations: true }, { 'secret.reloader.stakater.com/reload': 'x, db' }, true],
    ['otherSecret', S, { ...ALL, reloaderAnnotations: false }, { 'secret.reloader.stakater.com/reload': 'db' }, false],
    ['plainEnv', CM, { ...ALL, reloaderAnnotations: true }, { 'configmap.reloader.stakater.com/reload': 'cfg' }, true],
    ['plainEnv', CM, { ...ALL, reloaderAnnotations: true }, { 'secret.reloader.stakater.com/reload': 'cfg' }, false],
    ['otherSecret', S, { ...ALL, reloaderAnnotations: true }, { 'secret.reloader.stakater.com/reload': 'd.' }, true],
    ['otherSecret', S, { ...ALL, reloaderAnnotations: true }, { 'secret.reloader.stakater.com/reload': 'd' }, false],
    ['pullSecret', S, { ...ALL, reloaderAnnotations: true }, { 'reloader.stakater.com/auto': 'true' }, false],
  ] as const)('%s %o %o %o -> restart %s', (spec, target, settings, ann, restart) => {
    const r = consumption(ann, { spec: specs[spec] }, target, settings);
    expect(r.restart).toBe(restart);
    expect(r.reason).toContain(target.name);
  });

  it('reports a pull secret as ignored with the reason', () => {
    const r = consumption({}, { spec: specs.pullSecret }, S, ALL);
    expect(r.ignored).toHaveLength(1);
    expect(r.reason).toMatch(/pull secrets are not reloaded/);
  });

  it('reads Reloader annotations from the pod template too', () => {
    const r = consumption({}, { metadata: { annotations: { 'secret.reloader.stakater.com/reload': 'db' } }, spec: specs.plainEnv }, S, { ...ALL, reloaderAnnotations: true });
    expect(r.restart).toBe(true);
  });
});
