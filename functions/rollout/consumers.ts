/**
 * Does a pod template consume Secret/ConfigMap X, and how? Pure functions over plain objects.
 *
 * Reference forms (policy `reload.references`): `env` (valueFrom secretKeyRef / configMapKeyRef), `envFrom`
 * (secretRef / configMapRef), `volume` (secret.secretName / configMap.name), `projected` (projected volume
 * sources) — in containers AND init containers. `imagePullSecrets` are found and reported, never a reason to
 * restart (the image is already pulled; a new pull secret is used on the next pull anyway).
 *
 * stakater Reloader annotations (policy `reload.reloaderAnnotations: true`), read from the workload's metadata
 * and from its pod template:
 *  - `reloader.stakater.com/auto: "true"` (or `secret.reloader.stakater.com/auto` / `configmap.…/auto` for
 *    that kind): every reference form counts, whatever `reload.references` narrows;
 *  - `secret.reloader.stakater.com/reload: "a,b"` / `configmap.reloader.stakater.com/reload`: the named objects
 *    restart the workload even without a reference in the template.
 */
import type { V1Container, V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import { REFERENCE_FORMS } from '../../core/policy/schema.ts';
import type { ObjectKind } from '../../core/constants.ts';
import { nameMatches } from './name-patterns.ts';

export type ReferenceForm = (typeof REFERENCE_FORMS)[number];

export interface ObjectRef {
  kind: ObjectKind;
  name: string;
}

/** One place a pod template names the object. `where` names containers/volumes, never values. */
export interface Reference {
  form: ReferenceForm | 'imagePullSecrets';
  where: string;
}

export interface ConsumerSettings {
  references: readonly ReferenceForm[];
  reloaderAnnotations: boolean;
}

export const RELOADER = {
  auto: 'reloader.stakater.com/auto',
  secretAuto: 'secret.reloader.stakater.com/auto',
  configMapAuto: 'configmap.reloader.stakater.com/auto',
  secretReload: 'secret.reloader.stakater.com/reload',
  configMapReload: 'configmap.reloader.stakater.com/reload',
} as const;

function containerRefs(c: V1Container, role: 'container' | 'initContainer', target: ObjectRef, out: Reference[]): void {
  const who = `${role} ${c.name}`;
  for (const e of c.env ?? []) {
    const ref = target.kind === 'Secret' ? e.valueFrom?.secretKeyRef : e.valueFrom?.configMapKeyRef;
    if (ref?.name === target.name) out.push({ form: 'env', where: `${who} env ${e.name}` });
  }
  for (const [i, f] of (c.envFrom ?? []).entries()) {
    const ref = target.kind === 'Secret' ? f.secretRef : f.configMapRef;
    if (ref?.name === target.name) out.push({ form: 'envFrom', where: `${who} envFrom[${i}]` });
  }
}

/** Every place `spec` names `target` (containers, init containers, volumes, projected sources, pull secrets). */
export function findReferences(spec: V1PodSpec | undefined, target: ObjectRef): Reference[] {
  const out: Reference[] = [];
  if (!spec) return out;
  for (const c of spec.initContainers ?? []) containerRefs(c, 'initContainer', target, out);
  for (const c of spec.containers ?? []) containerRefs(c, 'container', target, out);
  for (const v of spec.volumes ?? []) {
    const direct = target.kind === 'Secret' ? v.secret?.secretName : v.configMap?.name;
    if (direct === target.name) out.push({ form: 'volume', where: `volume ${v.name}` });
    for (const [i, s] of (v.projected?.sources ?? []).entries()) {
      const p = target.kind === 'Secret' ? s.secret?.name : s.configMap?.name;
      if (p === target.name) out.push({ form: 'projected', where: `volume ${v.name} projected source ${i}` });
    }
  }
  if (target.kind === 'Secret') {
    for (const p of spec.imagePullSecrets ?? []) {
      if (p.name === target.name) out.push({ form: 'imagePullSecrets', where: 'imagePullSecrets' });
    }
  }
  return out;
}

function splitList(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Reloader's view of a workload: auto for this kind? explicitly named? (annotations of workload + template) */
export function reloaderSays(annotations: Record<string, string>, target: ObjectRef): { auto: boolean; named: boolean } {
  const isTrue = (k: string): boolean => annotations[k]?.toLowerCase() === 'true';
  const auto = isTrue(RELOADER.auto) || isTrue(target.kind === 'Secret' ? RELOADER.secretAuto : RELOADER.configMapAuto);
  // entries are regular expressions anchored ^…$, as Reloader reads them (reloader.ts nameMatches)
  const named = splitList(annotations[target.kind === 'Secret' ? RELOADER.secretReload : RELOADER.configMapReload]).some((e) => nameMatches(e, target.name));
  return { auto, named };
}

export interface Consumption {
  /** True when a change of the object must roll the workload out. */
  restart: boolean;
  /** References that make it a consumer (what the restart is for). */
  references: Reference[];
  /** References found but not counted (pull secrets, forms outside `reload.references`): reported only. */
  ignored: Reference[];
  /** Why (for logs and skip reports). */
  reason: string;
  /** Not restarted on purpose although the workload uses or names the object (opt-out, exclude, ignore...): reported as a skip. */
  skip?: boolean;
}

/**
 * Does a workload (its metadata annotations + pod template) consume `target` under `settings`?
 */
export function consumption(
  workloadAnnotations: Record<string, string> | undefined,
  template: V1PodTemplateSpec | undefined,
  target: ObjectRef,
  settings: ConsumerSettings,
): Consumption {
  const found = findReferences(template?.spec, target);
  const ann = { ...(template?.metadata?.annotations ?? {}), ...(workloadAnnotations ?? {}) };
  const reloader = settings.reloaderAnnotations ? reloaderSays(ann, target) : { auto: false, named: false };
  const counts = (r: Reference): boolean =>
    r.form !== 'imagePullSecrets' && (reloader.auto || (settings.references as readonly string[]).includes(r.form));
  const references = found.filter(counts);
  const ignored = found.filter((r) => !counts(r));
  if (references.length > 0) {
    return { restart: true, references, ignored, reason: `consumes ${target.kind} ${target.name} via ${references.map((r) => r.where).join('; ')}` };
  }
  if (reloader.named) {
    const key = target.kind === 'Secret' ? RELOADER.secretReload : RELOADER.configMapReload;
    return { restart: true, references: [], ignored, reason: `names ${target.kind} ${target.name} in annotation ${key}` };
  }
  if (ignored.length > 0) {
    const why = ignored.map((r) => (r.form === 'imagePullSecrets' ? 'imagePullSecrets (pull secrets are not reloaded)' : `${r.where} (form "${r.form}" not in reload.references)`));
    return { restart: false, references: [], ignored, reason: `references ${target.kind} ${target.name} only via ${why.join('; ')}` };
  }
  return { restart: false, references: [], ignored, reason: `does not reference ${target.kind} ${target.name}` };
}
