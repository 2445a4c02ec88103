/**
 * Pattern size: every rendered EventBridge pattern fits the "Event pattern size" quota, widening step by step
 * (patternForms) and never narrower than correct. Events are built with the event schema's helpers (validated
 * as the forwarder's PutEvents entries are) and matched with the local bus's EventBridge matcher.
 */
import { describe, expect, it } from 'vitest';
import { matches, validatePattern } from '../../../infra/local/eventbridge/pattern.ts';
import { objectChangeEntry, parseRippleEvent, resyncEntry, type ObjectChangeDetail, type PutEntry, type RippleEvent } from '../../../events/schema.ts';
import { ANN_POLICY, ANN_SOURCE, DETAIL_TYPES, FIELD_MANAGER, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../../../core/constants.ts';
import { RipplePolicy } from '../../../core/policy/schema.ts';
import { DETAIL_BASE } from '../../support/events.ts';
import { targetName } from '../../../core/policy/select.ts';
import { loadPolicies } from '../../../core/policy/load.ts';
import { renderFiles } from '../../../render/index.ts';
import { renderRbacFiles, type PolicyRule } from '../../../render/rbac.ts';
import {
  describeRenderedPattern,
  EVENT_PATTERN_MAX,
  parsePatternLimit,
  PATTERN_HANDLERS,
  patternForms,
  patternSize,
  renderPattern,
  renderPatterns,
  type PatternHandler,
} from '../../../render/patterns.ts';

/**
 * n policies, kinds alternating Secret/ConfigMap, spread over `namespaces` namespaces; every third copies under
 * another target name, every fifth selects namespaces by label; all sync, reload and protect.
 */
function spread(n: number, namespaces: number, name = (i: number) => `app-${i}`, protect = true): RipplePolicy[] {
  return Array.from({ length: n }, (_, i) =>
    RipplePolicy.parse({
      apiVersion: 'ripple.dev/v1alpha1',
      kind: 'RipplePolicy',
      metadata: { name: `p-${i}` },
      spec: {
        source: { kind: i % 2 ? 'ConfigMap' : 'Secret', namespace: `team-${i % namespaces}`, name: name(i) },
        sync: i % 3 === 0 ? { targetName: `copy-${i}` } : i % 5 === 0 ? { namespaces: { selector: { matchLabels: { tier: 'gold' } } } } : {},
        reload: {},
        ...(protect ? { protect: {} } : {}),
      },
    }),
  );
}

let seq = 0;
function delivered(entry: PutEntry): RippleEvent {
  return parseRippleEvent({ version: '0', id: `e${++seq}`, source: entry.Source, account: '1', time: '2026-01-01T00:00:00Z', region: 'eu-west-1', resources: entry.Resources ?? [], 'detail-type': entry.DetailType, detail: JSON.parse(entry.Detail) });
}
function change(detailType: 'created' | 'updated' | 'deleted', d: Partial<ObjectChangeDetail> & Pick<ObjectChangeDetail, 'kind' | 'name'>): RippleEvent {
  const detail: ObjectChangeDetail = { ...DETAIL_BASE, changes: detailType === 'updated' ? ['data'] : [], ...d };
  return delivered(objectChangeEntry(DETAIL_TYPES[detailType], detail));
}
const resync = () => delivered(resyncEntry({ cluster: 'prod', reason: 'schedule', observedAt: '2026-01-01T00:00:00Z' }));

/** A namespace holding copies and no source. */
const ELSEWHERE = 'copies-only';

/** [handler, what, event]: every event the handlers must receive for these policies. */
function mustMatch(ps: RipplePolicy[]): [PatternHandler, string, RippleEvent][] {
  const out: [PatternHandler, string, RippleEvent][] = [];
  for (const p of ps) {
    const { kind, namespace } = p.spec.source;
    const name = p.spec.source.name!;
    const src = { kind, namespace, name };
    const marks = { labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE }, annotations: { [ANN_SOURCE]: `${kind}/${namespace}/${name}`, [ANN_POLICY]: p.metadata.name } };
    const copy = { kind, namespace: ELSEWHERE, name: targetName(p), ...marks };
    const at = `${p.metadata.name} (${kind} ${namespace}/${name})`;
    for (const t of ['created', 'updated', 'deleted'] as const) out.push(['clone', `${at}: source ${t}`, change(t, src)]);
    out.push(['clone', `${at}: source labels updated by ripple`, change('updated', { ...src, manager: FIELD_MANAGER, changes: ['labels'] })]);
    out.push(['clone', `${at}: copy edited by a user`, change('updated', { ...copy, manager: 'kubectl-edit' })]);
    out.push(['clone', `${at}: copy label removed (managedFields still names ripple)`, change('updated', { ...copy, labels: {}, manager: FIELD_MANAGER, changes: ['labels'] })]);
    out.push(['clone', `${at}: copy data key removed (managedFields still names ripple; drifted)`, change('updated', { ...copy, manager: FIELD_MANAGER, drifted: true })]);
    out.push(['clone', `${at}: copy deleted`, change('deleted', { ...copy, manager: 'kubectl-edit' })]);
    out.push(['clone', `${at}: copy deleted, found by relist (no marks)`, change('deleted', { kind, namespace: ELSEWHERE, name: targetName(p) })]);
    for (const t of ['created', 'updated', 'deleted'] as const) out.push(['protect', `${at}: protected object ${t}`, change(t, src)]);
    if (p.spec.protect && p.spec.sync) {
      // clone copies a protected source from its last-known-good snapshot: a moved snapshot must reach it
      for (const t of ['created', 'updated', 'deleted'] as const) out.push(['clone', `${at}: last-known-good snapshot ${t}`, change(t, { kind: 'Secret', namespace: 'ripple-system', name: `ripple-snapshot-${p.metadata.name}`, manager: FIELD_MANAGER })]);
    }
    out.push(['rollout', `${at}: source data changed`, change('updated', src)]);
    out.push(['rollout', `${at}: source type changed`, change('updated', { ...src, changes: ['type'] })]);
    out.push(['rollout', `${at}: source re-created`, change('created', src)]);
    out.push(['rollout', `${at}: copy data written by ripple`, change('updated', { ...copy, manager: FIELD_MANAGER, changes: ['data', 'annotations'] })]);
    out.push(['rollout', `${at}: copy re-created`, change('created', { ...copy, manager: FIELD_MANAGER })]);
  }
  out.push(['clone', 'namespace created', change('created', { kind: 'Namespace', name: 'team-new' })]);
  if (ps.some((p) => p.spec.sync?.namespaces.selector)) out.push(['clone', 'namespace relabelled', change('updated', { kind: 'Namespace', name: 'team-new', changes: ['labels'] })]);
  out.push(['clone', 'resync', resync()], ['protect', 'resync', resync()]);
  return out;
}

/** Events no handler needs whatever the form: even the widest forms stay bounded by the policies. */
const neverMatch: [string, RippleEvent][] = [
  ['an unrelated Pod-like kind', change('updated', { kind: 'Lease', namespace: 'team-0', name: 'app-0' })],
  ['a Namespace deleted', change('deleted', { kind: 'Namespace', name: 'team-0' })],
];

const sets: [string, RipplePolicy[]][] = [
  ['1 policy', spread(1, 1)],
  ['6 policies in 6 namespaces', spread(6, 6)],
  ['20 policies in 20 namespaces', spread(20, 20)],
  ['100 policies in 25 namespaces', spread(100, 25)],
];

describe.each(sets)('%s', (_n, ps) => {
  const rendered = renderPatterns(ps);
  const needed = mustMatch(ps);

  it.each(PATTERN_HANDLERS)('%s: within the default limit and a valid pattern', (h) => {
    expect(rendered[h].size).toBe(patternSize(rendered[h].pattern));
    expect(rendered[h].size).toBeLessThanOrEqual(EVENT_PATTERN_MAX);
    expect(validatePattern(rendered[h].pattern)).toBeNull();
  });

  it.each(PATTERN_HANDLERS)('%s: matches every event the handler must see', (h) => {
    const missed = needed.filter(([hh, , ev]) => hh === h && !matches(rendered[h].pattern, ev)).map(([, what]) => what);
    expect(missed).toEqual([]);
  });

  it.each(PATTERN_HANDLERS)('%s: each wider form is valid and matches whatever the narrower ones match', (h) => {
    const forms = patternForms(h, ps);
    const events = [...needed.map(([, , ev]) => ev), ...neverMatch.map(([, ev]) => ev)];
    for (const f of forms) expect(validatePattern(f.pattern), f.id).toBeNull();
    for (let i = 1; i < forms.length; i++) {
      const lost = events.filter((ev) => matches(forms[i - 1].pattern, ev) && !matches(forms[i].pattern, ev));
      expect(lost, `${forms[i - 1].id} -> ${forms[i].id}`).toEqual([]);
    }
  });

  it.each(PATTERN_HANDLERS)('%s: no form matches events outside the policies', (h) => {
    for (const f of patternForms(h, ps)) for (const [what, ev] of neverMatch) expect(matches(f.pattern, ev), `${f.id}: ${what}`).toBe(false);
  });
});

describe('rollout forms stay within what the rollout role may read', () => {
  // The rollout handler reads each changed object; its ClusterRole allows `get` only on the source and target
  // names of the reloading policies, per resource. A form admitting another (kind, name) would be a 403 — except the
  // widest, name-free form: the handler drops an object no policy names before reading it (functions/rollout/
  // reconcile.ts; test/integration/rollout: "an object no policy names is never read").
  const RESOURCE: Record<string, string> = { Secret: 'secrets', ConfigMap: 'configmaps' };
  it.each(sets)('%s', (_n, ps) => {
    const role = renderRbacFiles(ps).rollout.find((o) => o.kind === 'ClusterRole') as unknown as { rules: PolicyRule[] };
    const readable = (kind: string, name: string) => role.rules.some((r) => r.resources.includes(RESOURCE[kind]) && r.verbs.includes('get') && r.resourceNames?.includes(name));
    for (const f of patternForms('rollout', ps).filter((form) => form.id !== 'kinds')) {
      const clauses = ((f.pattern.$or as Record<string, unknown>[] | undefined) ?? [f.pattern]).map((c) => c.detail as { kind: string[]; name?: string[] });
      for (const d of clauses) {
        expect(d.name, `${f.id}: every clause lists names`).toBeDefined();
        const outside = d.kind.flatMap((k) => d.name!.filter((n) => !readable(k, n)).map((n) => `${k}/${n}`));
        expect(outside, f.id).toEqual([]);
      }
    }
  });
});

describe('widening follows the size', () => {
  it.each([
    // [policies, handler, form rendered at 2048]
    ['1 policy', 'clone', 'exact', spread(1, 1)],
    ['1 policy', 'rollout', 'exact', spread(1, 1)],
    ['6 policies in 6 namespaces', 'rollout', 'sources-by-kind', spread(6, 6)],
    ['6 policies in 6 namespaces', 'protect', 'exact', spread(6, 6)],
    ['20 policies in 20 namespaces', 'clone', 'source-namespaces', spread(20, 20)],
    ['100 policies in 25 namespaces', 'clone', 'copy-kinds', spread(100, 25)],
    ['100 policies in 25 namespaces', 'rollout', 'any-change', spread(100, 25)],
    ['100 policies in 25 namespaces', 'protect', 'sources-by-kind', spread(100, 25)],
    ['300 policies in 300 namespaces', 'clone', 'kinds', spread(300, 300)],
    ['300 policies in 300 namespaces', 'protect', 'kinds', spread(300, 300)],
  ] as const)('%s: %s renders "%s"', (_n, h, form, ps) => {
    expect(renderPattern(h, [...ps]).form.id).toBe(form);
  });

  it('the narrowest form that fits: a raised quota keeps the pattern narrower', () => {
    const ps = spread(20, 20);
    expect(renderPattern('rollout', ps).form.id).toBe('names-by-kind');
    expect(renderPattern('rollout', ps, { limit: 4096 }).form.id).toBe('sources-by-kind');
    expect(renderPattern('rollout', ps, { limit: 8192 }).form.id).toBe('exact');
  });

  it('the repository policies render exactly (the checked-in files are the exact forms)', () => {
    const ps = loadPolicies('policies');
    for (const h of PATTERN_HANDLERS) expect(renderPattern(h, ps).form.id).toBe('exact');
  });

  it('a widened pattern says so in the render summary', () => {
    const r = renderPattern('rollout', spread(6, 6));
    expect(describeRenderedPattern(r)).toBe(`rollout pattern: ${r.size} of 2048 characters, widened to "sources-by-kind" (the exact form is ${r.exactSize}): ${r.form.widening}`);
    expect(describeRenderedPattern(renderPattern('protect', spread(1, 1)))).toMatch(/^protect pattern: \d+ of 2048 characters \(exact\)$/);
  });
});

describe('beyond the named forms', () => {
  // 100 reloading policies in 100 namespaces with 16-character names: every named rollout form exceeds 2048.
  const ps = spread(100, 100, (i) => `app-${String(i).padStart(3, '0')}-settings`, false);

  it('rollout renders its name-free form, whose size does not grow with the policies', () => {
    const r = renderPattern('rollout', ps);
    expect(r.form.id).toBe('kinds');
    expect(r.size).toBeLessThanOrEqual(EVENT_PATTERN_MAX);
    expect(renderPattern('rollout', spread(1000, 200, (i) => `app-${String(i).padStart(4, '0')}-settings`, false)).size).toBe(r.size);
  });

  it('a quota below even the widest form fails naming the handler, the size and what to do', () => {
    expect(() => renderPattern('rollout', ps, { limit: 60 })).toThrow(
      /^the rollout event pattern is \d+ characters even in its widest form "kinds" \(\d+ exact; 100 policies, 100 source kind\+namespace pairs\); EventBridge's "Event pattern size" quota is 60\. Raise the quota .* --pattern-limit <N> .*split the policies/,
    );
    expect(() => renderFiles('patterns', ps, { patternLimit: 60 })).toThrow(/event pattern/);
  });

  it('1,000 policies in 200 namespaces: every handler within the default limit, and the audit-log filter within 1024', () => {
    const big = spread(1000, 200);
    for (const h of PATTERN_HANDLERS) {
      const r = renderPattern(h, big);
      expect(r.size, h).toBeLessThanOrEqual(EVENT_PATTERN_MAX);
      expect(validatePattern(r.pattern), h).toBeNull();
    }
    expect(renderFiles('patterns', big)['events/patterns/protect-audit-filter.json'].length).toBeLessThanOrEqual(1024 + 10);
  });

  it('with 500 sets of bases (source.selector) in 100 namespaces besides: every handler within the default limit', () => {
    const sets = Array.from({ length: 500 }, (_, i) =>
      RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: `set-${i}` }, spec: { source: { kind: i % 2 ? 'ConfigMap' : 'Secret', namespace: `shared-${i % 100}`, selector: { matchLabels: { [`share-${i}`]: 'yes' } } }, sync: {} } }),
    );
    const mixed = [...spread(1000, 200), ...sets];
    for (const h of PATTERN_HANDLERS) {
      const r = renderPattern(h, mixed);
      expect(r.size, h).toBeLessThanOrEqual(EVENT_PATTERN_MAX);
      expect(validatePattern(r.pattern), h).toBeNull();
    }
    // a few sets alone stay exact, whatever the objects they select
    expect(renderPattern('clone', sets.slice(0, 4)).form.id).toBe('exact');
  });

  it('clone still fits: its widest forms list no names (the handler reads nothing for objects no policy names)', () => {
    expect(renderPattern('clone', ps).form.id).toBe('kinds');
  });

  it('renders with a raised quota', () => {
    const r = renderPattern('rollout', ps, { limit: 4096 });
    expect(r.size).toBeLessThanOrEqual(4096);
    expect(r.form.id).not.toBe('kinds');
    expect(renderFiles('patterns', ps, { patternLimit: 4096 })['events/patterns/rollout.json']).toBe(`${JSON.stringify(r.pattern, null, 2)}\n`);
  });

  it.each([['0'], ['-5'], ['2k'], ['1.5']])('rejects the limit %s', (raw) => {
    expect(() => parsePatternLimit(raw)).toThrow(`--pattern-limit: "${raw}" is not a positive whole number of characters`);
  });
});
