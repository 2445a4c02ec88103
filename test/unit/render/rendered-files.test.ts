import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPolicies, policyFiles } from '../../../core/policy/load.ts';
import { checkRendered, renderFiles } from '../../../render/index.ts';
import { policyJsonSchema } from '../../../render/schema.ts';
import { parse } from 'yaml';

describe('checked-in rendered files', () => {
  it('equal a fresh render of policies/ (nothing hand-copied, nothing stale)', () => {
    const files = renderFiles('all', loadPolicies('policies'));
    expect(Object.keys(files)).toEqual(
      expect.arrayContaining([
        'events/patterns/clone.json',
        'events/patterns/rollout.json',
        'events/patterns/protect.json',
        'events/patterns/rollout-settings.json',
        'events/patterns/protect-audit-filter.json',
        'infra/k8s/admission/blogsecret.yaml',
        'infra/k8s/rbac/forwarder.yaml',
        'infra/k8s/rbac/clone.yaml',
        'infra/k8s/rbac/rollout.yaml',
        'infra/k8s/rbac/protect.yaml',
        'schema/ripple-policy.schema.json',
        'events/ripple-events.schema.json',
      ]),
    );
    expect(checkRendered('all', files, '.')).toEqual([]);
  });
});

// A validator for exactly the JSON Schema keywords the generated schema uses. The keyword check below makes
// it fail loudly if the generator starts emitting anything it does not understand.
const KNOWN = new Set(['$schema', '$id', 'title', 'description', 'default', 'type', 'properties', 'required', 'additionalProperties', 'propertyNames', 'items', 'enum', 'const', 'pattern', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']);

function keywords(s: any, out = new Set<string>()): Set<string> {
  if (s && typeof s === 'object') {
    for (const [k, v] of Object.entries(s)) {
      out.add(k);
      if (k === 'properties') for (const sub of Object.values(v as object)) keywords(sub, out);
      else if (k === 'items' || k === 'additionalProperties' || k === 'propertyNames') keywords(v, out);
    }
  }
  return out;
}

function errors(s: any, v: unknown, path = '$'): string[] {
  if (s === true || s === undefined) return [];
  if (s === false) return [`${path}: not allowed`];
  const out: string[] = [];
  const t = s.type;
  const typeOf = Array.isArray(v) ? 'array' : v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v;
  if (t && !(t === typeOf || (t === 'number' && typeOf === 'integer'))) return [`${path}: expected ${t}, got ${typeOf}`];
  if ('const' in s && v !== s.const) out.push(`${path}: must be ${JSON.stringify(s.const)}`);
  if (s.enum && !s.enum.includes(v)) out.push(`${path}: must be one of ${s.enum.join(', ')}`);
  if (typeof v === 'string') {
    if (s.pattern && !new RegExp(s.pattern, 'u').test(v)) out.push(`${path}: does not match ${s.pattern}`);
    if (s.minLength !== undefined && v.length < s.minLength) out.push(`${path}: too short`);
    if (s.maxLength !== undefined && v.length > s.maxLength) out.push(`${path}: too long`);
  }
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) out.push(`${path}: below minimum`);
    if (s.maximum !== undefined && v > s.maximum) out.push(`${path}: above maximum`);
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) out.push(`${path}: too few items`);
    if (s.maxItems !== undefined && v.length > s.maxItems) out.push(`${path}: too many items`);
    v.forEach((x, i) => out.push(...errors(s.items, x, `${path}[${i}]`)));
  }
  if (typeOf === 'object') {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) out.push(`${path}.${r}: required`);
    for (const [k, x] of Object.entries(o)) {
      if (s.properties && k in s.properties) out.push(...errors(s.properties[k], x, `${path}.${k}`));
      else out.push(...errors(s.additionalProperties, x, `${path}.${k}`));
      if (s.propertyNames) out.push(...errors(s.propertyNames, k, `${path}.${k}(name)`));
    }
  }
  return out;
}

describe('schema/ripple-policy.schema.json', () => {
  const schema = JSON.parse(readFileSync('schema/ripple-policy.schema.json', 'utf8'));

  it('is the JSON Schema generated from the zod schema, draft 2020-12, with descriptions for editors', () => {
    expect(schema).toEqual(policyJsonSchema());
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.spec.properties.protect.description).toMatch(/Protect the base object/);
    expect(schema.properties.spec.properties.sync.properties.onSourceDelete).toMatchObject({ enum: ['keep', 'delete'], default: 'delete' });
  });

  it('uses only keywords this structural check understands', () => {
    expect([...keywords(schema)].filter((k) => !KNOWN.has(k))).toEqual([]);
  });

  it.each(policyFiles('policies').flatMap((f) => readFileSync(f, 'utf8').split(/^---$/m).map((doc, i) => [`${f}#${i}`, doc] as const)))('%s validates', (_name, doc) => {
    expect(errors(schema, parse(doc))).toEqual([]);
  });

  it.each([
    ['unknown field', { spec: { source: { kind: 'Secret', namespace: 'a', name: 'b' }, bogus: 1 } }, '$.spec.bogus: not allowed'],
    ['bad enum', { spec: { source: { kind: 'Pod', namespace: 'a', name: 'b' } } }, '$.spec.source.kind: must be one of Secret, ConfigMap'],
    ['missing source', { spec: {} }, '$.spec.source: required'],
    ['bad duration', { spec: { source: { kind: 'Secret', namespace: 'a', name: 'b' }, reload: { coalesce: 'soon' } } }, '$.spec.reload.coalesce: does not match ^\\d+(ms|s|m|h)$'],
  ])('rejects %s (the check can fail)', (_n, partial, want) => {
    const doc = { apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: 'x' }, ...partial };
    expect(errors(schema, doc)).toContain(want);
  });
});
