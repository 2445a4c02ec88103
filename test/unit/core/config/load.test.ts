import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../../../core/config/load.ts';
import { copyModes, reloaderMode } from '../../../../core/config/schema.ts';
import { loadPolicies, PolicyError } from '../../../../core/policy/load.ts';

const head = 'apiVersion: ripple.dev/v1alpha1\nkind: RippleConfig\n';

describe('RippleConfig', () => {
  it('defaults: every flag off, as Reloader', () => {
    const c = parseConfig(`${head}reloader:\n  enabled: true\n`, 'ripple.config.yaml');
    expect(reloaderMode(c)).toEqual({
      enabled: true,
      namespaces: { include: ['*'], exclude: [] },
      objects: { kinds: ['Secret', 'ConfigMap'] },
      kinds: ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'],
      autoReloadAll: false,
      reloadOnCreate: false,
      reloadOnDelete: false,
      coalesce: '10s',
    });
  });

  it('no reloader section, or enabled: false -> the mode is off', () => {
    expect(reloaderMode(parseConfig(head, 'f.yaml'))).toBeNull();
    expect(reloaderMode(parseConfig(`${head}reloader: { enabled: false, autoReloadAll: true }\n`, 'f.yaml'))).toBeNull();
  });

  it.each([
    [`${head}reloader:\n  enabled: true\n  reloadOnCreate: "yes"\n`, 'f.yaml:5:19: reloader.reloadOnCreate: must be true or false, not string "yes"'],
    [`${head}reloader:\n  autoReload: true\n`, 'f.yaml:4:3: reloader.autoReload: unknown field; allowed here: enabled, namespaces, objects, kinds, autoReloadAll, reloadOnCreate, reloadOnDelete, coalesce'],
    [`${head}reloader:\n  kinds: [Deployment, DeploymentConfig]\n`, 'f.yaml:4:23: reloader.kinds[1]: must be one of Deployment, StatefulSet, DaemonSet, CronJob, Rollout'],
    [`apiVersion: ripple.dev/v1alpha1\nkind: RipplePolicy\n`, 'f.yaml:2:7: kind: must be "RippleConfig"'],
    [`${head}reloader:\n  namespaces: { include: [] }\n`, 'f.yaml:4:26: reloader.namespaces.include: must list at least one namespace name or glob ("*" = all)'],
  ])('errors name file:line:col and the field (%#)', (text, message) => {
    expect(() => parseConfig(text, 'f.yaml')).toThrow(PolicyError);
    try {
      parseConfig(text, 'f.yaml');
    } catch (err) {
      expect((err as Error).message.split('\n')).toContain(message);
    }
  });

  it('lives in the policy directory; the policy loader skips it; a missing file is the defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ripple-config-'));
    expect(reloaderMode(loadConfig(dir))).toBeNull();
    writeFileSync(join(dir, 'ripple.config.yaml'), `${head}reloader: { enabled: true }\n`);
    writeFileSync(join(dir, 'p.yaml'), 'apiVersion: ripple.dev/v1alpha1\nkind: RipplePolicy\nmetadata: { name: p }\nspec: { source: { kind: Secret, namespace: a, name: b } }\n');
    expect(loadPolicies(dir).map((p) => p.metadata.name)).toEqual(['p']);
    expect(reloaderMode(loadConfig(dir))?.enabled).toBe(true);
    expect(reloaderMode(loadConfig(join(dir, 'p.yaml')))?.enabled).toBe(true);
  });

  it('a RippleConfig among the policies is named as such', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ripple-config-'));
    writeFileSync(join(dir, 'cfg.yaml'), `${head}reloader: { enabled: true }\n`);
    expect(() => loadPolicies(dir)).toThrow(/a RippleConfig belongs in ripple.config.yaml/);
  });

  it('the copy modes (reflector, replicator): off unless enabled; scope defaults as reloader; errors name the field', () => {
    expect(copyModes(parseConfig(head, 'f.yaml'))).toEqual([]);
    const c = parseConfig(`${head}reflector: { enabled: true }\nreplicator: { enabled: false }\n`, 'f.yaml');
    expect(copyModes(c)).toEqual([{ tool: 'reflector', cfg: { enabled: true, namespaces: { include: ['*'], exclude: [] }, pushFrom: ['*'], objects: { kinds: ['Secret', 'ConfigMap'] } } }]);
    expect(() => parseConfig(`${head}replicator:\n  enabled: true\n  allowAll: true\n`, 'f.yaml')).toThrow('f.yaml:5:3: replicator.allowAll: unknown field; allowed here: enabled, namespaces, pushFrom, objects');
    expect(() => parseConfig(`${head}reflector:\n  namespaces: { include: [a/b] }\n`, 'f.yaml')).toThrow('reflector.namespaces.include[0]: must be a namespace name or glob, not contain "/"');
    expect(() => parseConfig(`${head}reflector:\n  objects: { kinds: [Deployment] }\n`, 'f.yaml')).toThrow(/reflector.objects.kinds\[0\]: must be one of Secret, ConfigMap/);
  });
});
