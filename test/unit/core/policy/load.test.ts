import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../core/errors.ts';
import { loadPolicies, parsePolicies, PolicyError, policyOrigin } from '../../../../core/policy/load.ts';

const HEAD = `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
`;

function errorOf(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect(e).toBeInstanceOf(PolicyError);
    return e as PolicyError;
  }
  throw new Error('expected an error');
}

describe('parsePolicies', () => {
  it('applies defaults to a minimal policy', () => {
    const [p] = parsePolicies(
      `${HEAD}metadata:
  name: blogsecret
spec:
  source: { kind: Secret, namespace: platform, name: blogsecret }
  protect: {}
  sync: {}
  reload: {}
`,
      'p.yaml',
    );
    expect(p.spec.protect).toEqual({
      operations: ['UPDATE', 'DELETE'],
      allow: { groups: [], users: [], serviceAccounts: [] },
      mode: 'enforce',
      message: 'This Secret is protected and may not be altered or deleted.',
    });
    expect(p.spec.sync?.namespaces).toEqual({ include: ['*'], exclude: [] });
    expect(p.spec.sync?.onSourceDelete).toBe('delete');
    expect(p.spec.reload?.kinds).toEqual(['Deployment', 'StatefulSet', 'DaemonSet']);
    expect(policyOrigin(p)).toEqual({ file: 'p.yaml', line: 4, col: 9 });
  });

  it('reads several documents per file and skips empty ones', () => {
    const doc = (n: string) => `${HEAD}metadata: { name: ${n} }\nspec: { source: { kind: ConfigMap, namespace: platform, name: ${n} } }\n`;
    const ps = parsePolicies(`---\n${doc('one')}---\n${doc('two')}---\n`, 'multi.yaml');
    expect(ps.map((p) => p.metadata.name)).toEqual(['one', 'two']);
  });

  // Each row: YAML body after apiVersion/kind, the expected "line:col: path: message" (the file prefix is added).
  it.each([
    [
      'enum value',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  sync:
    onSourceDelete: remove
`,
      'bad.yaml:7:21: spec.sync.onSourceDelete: must be one of keep, delete',
    ],
    [
      'unknown field names what is allowed',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  protect:
    mode: enforce
    mesage: hi
`,
      'bad.yaml:8:5: spec.protect.mesage: unknown field; allowed here: operations, allow, mode, message',
    ],
    [
      'missing required field points at the parent key',
      `metadata: { name: x }
spec:
  source:
    kind: Secret
    name: x
`,
      'bad.yaml:5:3: spec.source.namespace: is required (a string)',
    ],
    [
      'wrong type',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  reload:
    maxConcurrency: "five"
`,
      'bad.yaml:7:21: spec.reload.maxConcurrency: must be a number, not string "five"',
    ],
    [
      'number bound',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  reload: { maxConcurrency: 1 }
`,
      'bad.yaml:6:29: spec.reload.maxConcurrency: must be >= 2',
    ],
    [
      'list item',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  protect:
    operations: [UPDATE, CREATE]
`,
      'bad.yaml:7:26: spec.protect.operations[1]: must be one of UPDATE, DELETE',
    ],
    [
      'duration format',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  reload: { coalesce: 10 seconds }
`,
      'bad.yaml:6:23: spec.reload.coalesce: must be a duration such as "500ms", "10s" or "2m"',
    ],
    [
      'coalescing window above the SQS limit',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  reload: { coalesce: 10m }
`,
      'bad.yaml:6:23: spec.reload.coalesce: must be at most 5m (the SQS batching window limit)',
    ],
    [
      'DNS name',
      `metadata: { name: Blog_Secret }
spec:
  source: { kind: Secret, namespace: platform, name: x }
`,
      'bad.yaml:3:19: metadata.name: must be a DNS-1123 subdomain: lower-case letters, digits, "-" and "."',
    ],
    [
      'selector operator needs values',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  sync:
    namespaces:
      selector:
        matchExpressions:
          - { key: tier, operator: In }
`,
      'bad.yaml:10:13: spec.sync.namespaces.selector.matchExpressions[0].values: must list at least one value for operator In',
    ],
    [
      'selector label key with a space and "!"',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  sync: { namespaces: { selector: { matchLabels: { "bad key!": x } } } }
`,
      'bad.yaml:6:64: spec.sync.namespaces.selector.matchLabels.bad key!: must be a label key: an optional DNS-1123 subdomain prefix and "/", then a name of at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
    ],
    [
      'selector label value with a space',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  sync: { namespaces: { selector: { matchLabels: { tier: "has space" } } } }
`,
      'bad.yaml:6:58: spec.sync.namespaces.selector.matchLabels.tier: must be a label value: empty, or letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
    ],
    [
      'selector label key prefix not a DNS subdomain',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  sync: { namespaces: { selector: { matchExpressions: [{ key: "Example.com/tier", operator: Exists }] } } }
`,
      'bad.yaml:6:63: spec.sync.namespaces.selector.matchExpressions[0].key: must be a label key: an optional DNS-1123 subdomain prefix and "/", then a name of at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
    ],
    [
      'selector expression value too long',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  sync: { namespaces: { selector: { matchExpressions: [{ key: tier, operator: In, values: [${'a'.repeat(64)}] }] } } }
`,
      `bad.yaml:6:92: spec.sync.namespaces.selector.matchExpressions[0].values[0]: must be a label value: at most 63 characters`,
    ],
    [
      'empty include',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  sync: { namespaces: { include: [] } }
`,
      'bad.yaml:6:34: spec.sync.namespaces.include: must list at least one namespace name or glob ("*" = all)',
    ],
    [
      'service account form',
      `metadata: { name: x }
spec:
  source: { kind: Secret, namespace: platform, name: x }
  protect: { allow: { serviceAccounts: [kyverno] } }
`,
      'bad.yaml:6:41: spec.protect.allow.serviceAccounts[0]: must be "namespace/name"',
    ],
  ])('%s', (_name, body, want) => {
    const err = errorOf(() => parsePolicies(HEAD + body, 'bad.yaml'));
    expect(err.message.split('\n')).toContain(want);
  });

  it.each([
    ['wrong kind', `apiVersion: ripple.dev/v1alpha1\nkind: ClusterPolicy\nmetadata: { name: x }\nspec: { source: { kind: Secret, namespace: a, name: x } }\n`, 'f.yaml:2:7: kind: must be "RipplePolicy"'],
    ['wrong apiVersion', `apiVersion: ripple.dev/v1\nkind: RipplePolicy\nmetadata: { name: x }\nspec: { source: { kind: Secret, namespace: a, name: x } }\n`, 'f.yaml:1:13: apiVersion: must be "ripple.dev/v1alpha1"'],
    ['a Kyverno policy', `apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: { name: x }\n`, 'f.yaml:2:7: kind: must be "RipplePolicy" (this is a Kyverno ClusterPolicy: convert it with `ripple import kyverno f.yaml`)'],
    ['not a mapping', `- a\n- b\n`, 'f.yaml:1:1: each document must be a RipplePolicy mapping (apiVersion, kind, metadata, spec), not a list'],
    ['broken YAML', `apiVersion: ripple.dev/v1alpha1\nkind: [RipplePolicy\n`, /^f\.yaml:\d+:\d+: invalid YAML: /],
    ['duplicate key', `apiVersion: ripple.dev/v1alpha1\napiVersion: ripple.dev/v1alpha1\n`, /^f\.yaml:2:1: invalid YAML: Map keys must be unique/],
  ])('document-level: %s', (_name, text, want) => {
    const err = errorOf(() => parsePolicies(text, 'f.yaml'));
    if (typeof want === 'string') expect(err.message.split('\n')).toContain(want);
    else expect(err.message).toMatch(want);
  });

  it('reports every problem of every document, each with its own position', () => {
    const text = `${HEAD}metadata: { name: a }\nspec: { source: { kind: Secret, namespace: a, name: a }, sync: { onSourceDelete: x } }\n---\n${HEAD}metadata: { name: b }\nspec: { source: { kind: Sekret, namespace: a, name: b } }\n`;
    const err = errorOf(() => parsePolicies(text, 'm.yaml'));
    expect(err.problems.map((p) => `${p.line} ${p.path}`)).toEqual(['4 spec.sync.onSourceDelete', '9 spec.source.kind']);
  });
});

describe('policy-set checks', () => {
  const pol = (name: string, src: string, extra = '') => {
    const [kind, ns, n] = src.split('/');
    return `${HEAD}metadata: { name: ${name} }\nspec:\n  source: { kind: ${kind}, namespace: ${ns}, name: ${n} }\n${extra}`;
  };

  it.each([
    ['duplicate names', [pol('x', 'Secret/a/one'), pol('x', 'Secret/a/two')], /metadata.name: duplicate policy name "x" \(also at s.yaml:3:19\)/],
    ['two policies for one source', [pol('x', 'Secret/a/one', '  protect: {}\n'), pol('y', 'Secret/a/one', '  sync: {}\n')], /spec.source: Secret a\/one is already the source of policy "x"/],
    ['same copy target everywhere', [pol('x', 'Secret/a/tls', '  sync: {}\n'), pol('y', 'Secret/b/tls', '  sync: { namespaces: { exclude: [a] } }\n')], /both write Secret "tls" into the same namespaces/],
    ['copy into another policy\'s source namespace', [pol('x', 'Secret/a/tls', '  sync: {}\n'), pol('y', 'Secret/b/tls')], /would copy Secret "tls" into namespace b, overwriting the source of policy "y"/],
    ['same target via targetName', [pol('x', 'Secret/a/one', '  sync: { targetName: tls, namespaces: { include: [team-a] } }\n'), pol('y', 'Secret/b/two', '  sync: { targetName: tls, namespaces: { include: ["team-*"] } }\n')], /both write Secret "tls".*"team-a"/],
  ])('%s -> error', (_name, docs, want) => {
    const err = errorOf(() => parsePolicies(docs.join('---\n'), 's.yaml'));
    expect(err.message).toMatch(want);
  });

  it.each([
    ['different kinds', [pol('x', 'Secret/a/tls', '  sync: {}\n'), pol('y', 'ConfigMap/b/tls', '  sync: { namespaces: { exclude: [a] } }\n')]],
    ['disjoint exact names', [pol('x', 'Secret/a/tls', '  sync: { namespaces: { include: [team-a] } }\n'), pol('y', 'Secret/b/tls', '  sync: { namespaces: { include: [team-b] } }\n')]],
    ['disjoint glob prefixes', [pol('x', 'Secret/a/tls', '  sync: { namespaces: { include: ["team-a-*"] } }\n'), pol('y', 'Secret/b/tls', '  sync: { namespaces: { include: ["team-b-*"] } }\n')]],
    ['disjoint selectors', [pol('x', 'Secret/a/tls', '  sync: { namespaces: { exclude: [b], selector: { matchLabels: { tier: gold } } } }\n'), pol('y', 'Secret/b/tls', '  sync: { namespaces: { exclude: [a], selector: { matchLabels: { tier: silver } } } }\n')]],
    ['different target names', [pol('x', 'Secret/a/tls', '  sync: {}\n'), pol('y', 'Secret/b/tls', '  sync: { targetName: tls-b }\n')].map((d, i) => (i === 0 ? d.replace('sync: {}', 'sync: { namespaces: { exclude: [b] } }') : d))],
  ])('%s -> accepted', (_name, docs) => {
    expect(parsePolicies(docs.join('---\n'), 's.yaml')).toHaveLength(2);
  });

  // A fleet: checks hold within a cluster; policies placed in different clusters do not conflict.
  const inCluster = (name: string, src: string, cluster: string | null, extra = '') => pol(name, src, extra).replace(/(source: \{[^}]*) \}/, (_m, head: string) => `${head}${cluster ? `, cluster: ${cluster}` : ''} }`);

  it.each([
    ['one base, one cluster, two policies', [inCluster('x', 'Secret/a/one', 'hub', '  protect: {}\n'), inCluster('y', 'Secret/a/one', 'hub', '  sync: {}\n')], /Secret a\/one in cluster hub is already the source of policy "x"/],
    ['a cluster-local policy (a source in every cluster) and a fleet one for the same base', [pol('x', 'Secret/a/one', '  protect: {}\n'), inCluster('y', 'Secret/a/one', 'edge', '  protect: {}\n')], /Secret a\/one in cluster edge is already the source of policy "x"/],
    ['two policies writing one copy into the same cluster', [inCluster('x', 'Secret/a/tls', 'hub', '  sync: { clusters: [edge] }\n'), inCluster('y', 'Secret/b/tls', 'edge', '  sync: { namespaces: { exclude: [a] } }\n')], /both write Secret "tls" into the same namespaces of cluster edge.*or their sync.clusters/],
    ['a copy over another policy\'s source in the same cluster', [inCluster('x', 'Secret/a/tls', 'hub', '  sync: { clusters: ["*"] }\n'), inCluster('y', 'Secret/b/tls', 'edge')], /would copy Secret "tls" into namespace b, overwriting the source of policy "y"/],
  ])('fleet: %s -> error', (_name, docs, want) => {
    const err = errorOf(() => parsePolicies(docs.join('---\n'), 's.yaml'));
    expect(err.message).toMatch(want);
  });

  it.each([
    ['one base name, different clusters', [inCluster('x', 'Secret/a/one', 'hub', '  protect: {}\n'), inCluster('y', 'Secret/a/one', 'edge', '  protect: {}\n')]],
    ['one copy name, different target clusters', [inCluster('x', 'Secret/a/tls', 'hub', '  sync: { clusters: [hub] }\n'), inCluster('y', 'Secret/b/tls', 'edge', '  sync: { clusters: [edge] }\n')]],
    ['a copy into another cluster than the same-named source', [inCluster('x', 'Secret/a/tls', 'hub', '  sync: { clusters: [edge], namespaces: { exclude: [c] } }\n'), inCluster('y', 'Secret/b/tls', 'hub')]],
  ])('fleet: %s -> accepted', (_name, docs) => {
    expect(parsePolicies(docs.join('---\n'), 's.yaml')).toHaveLength(2);
  });
});

describe('loadPolicies', () => {
  it('reads *.yaml and *.yml directly in a directory, not subdirectories, and checks across files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ripple-policies-'));
    mkdirSync(join(dir, 'kyverno'));
    writeFileSync(join(dir, 'kyverno', 'ignored.yaml'), 'apiVersion: kyverno.io/v1\nkind: ClusterPolicy\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a policy');
    writeFileSync(join(dir, 'a.yaml'), `${HEAD}metadata: { name: a }\nspec: { source: { kind: Secret, namespace: p, name: a } }\n`);
    writeFileSync(join(dir, 'b.yml'), `${HEAD}metadata: { name: b }\nspec: { source: { kind: Secret, namespace: p, name: b } }\n`);
    expect(loadPolicies(dir).map((p) => p.metadata.name)).toEqual(['a', 'b']);

    writeFileSync(join(dir, 'c.yaml'), `${HEAD}metadata: { name: a }\nspec: { source: { kind: Secret, namespace: p, name: c } }\n`);
    const err = errorOf(() => loadPolicies([dir]));
    expect(err.message).toBe(`${join(dir, 'c.yaml')}:3:19: metadata.name: duplicate policy name "a" (also at ${join(dir, 'a.yaml')}:3:19); policy names must be unique`);
  });

  it('names a missing path', () => {
    expect(() => loadPolicies('/nonexistent/policies')).toThrow('/nonexistent/policies: no such file or directory');
  });
});
