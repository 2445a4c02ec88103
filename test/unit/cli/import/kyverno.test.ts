import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importKyverno, importKyvernoFiles } from '../../../../cli/import/kyverno.ts';
import { parsePolicies } from '../../../../core/policy/load.ts';

const ARTICLE = ['validate-secrets', 'generate-secret', 'restart-deployment-on-secret-change'].map((n) => `policies/kyverno/${n}.yaml`);

describe('the article\'s three Kyverno policies', () => {
  const expected = readFileSync('policies/blogsecret.yaml', 'utf8');

  it.each([
    ['article order', ARTICLE],
    ['reversed', [...ARTICLE].reverse()],
    ['restart rule first', [ARTICLE[2], ARTICLE[0], ARTICLE[1]]],
  ])('import into exactly policies/blogsecret.yaml (%s)', (_name, files) => {
    expect(importKyvernoFiles(files).yaml).toBe(expected);
  });

  it('also import from one multi-document file', () => {
    const text = ARTICLE.map((f) => readFileSync(f, 'utf8')).join('---\n');
    expect(importKyverno([{ file: 'all.yaml', text }]).yaml).toBe(expected);
  });

  it('give the scenario: protect UPDATE+DELETE except system:masters, sync everywhere, reload env consumers', () => {
    const [p] = parsePolicies(expected, 'policies/blogsecret.yaml');
    expect(p.spec.source).toEqual({ kind: 'Secret', namespace: 'platform', name: 'blogsecret' });
    expect(p.spec.protect).toMatchObject({ operations: ['UPDATE', 'DELETE'], allow: { groups: ['system:masters'], users: [], serviceAccounts: [] }, mode: 'enforce', message: 'This Secret is protected and may not be altered or deleted.' });
    expect(p.spec.sync).toMatchObject({ namespaces: { include: ['*'], exclude: [] }, onSourceDelete: 'delete' });
    expect(p.spec.reload).toMatchObject({ kinds: ['Deployment'], references: ['env'] });
  });
});

const validate = (extra: string, opts: { action?: string; match?: string; pre?: string } = {}) => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: protect
spec:
  validationFailureAction: ${opts.action ?? 'Enforce'}
  rules:
  - name: protect-cm
    match:
${opts.match ?? `      any:
      - resources:
          kinds: [ConfigMap]
          names: [settings]
          namespaces: [base]`}
${opts.pre ?? `    preconditions:
      all:
      - key: "{{request.operation || 'BACKGROUND'}}"
        operator: AnyIn
        value: [UPDATE, DELETE]`}
${extra}    validate:
      message: "hands off"
      deny: {}
`;

const generate = (gen: string, match = `      any:
      - resources:
          kinds: [Namespace]`, extra = '') => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: gen
spec:
  generateExisting: true
  rules:
  - name: copy
    match:
${match}
${extra}    generate:
${gen}
`;
const CLONE = `      kind: ConfigMap
      apiVersion: v1
      name: settings
      namespace: "{{request.object.metadata.name}}"
      synchronize: true
      clone: { name: settings, namespace: base }`;

const restart = (anchors: string, opts: { kind?: string; names?: string; ns?: string; targets?: string } = {}) => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: restart
spec:
  rules:
  - name: restart-${(opts.kind ?? 'Deployment').toLowerCase()}
    match:
      any:
      - resources:
          kinds: [ConfigMap]
          names: [${opts.names ?? 'settings'}]${opts.ns ? `\n          namespaces: [${opts.ns}]` : ''}
          operations: [UPDATE]
    mutate:
      targets:
${opts.targets ?? `      - apiVersion: apps/v1
        kind: ${opts.kind ?? 'Deployment'}
        namespace: "{{request.namespace}}"`}
      patchStrategicMerge:
        spec:
          template:
            metadata:
              annotations:
                example.com/restart: "{{request.object.metadata.resourceVersion}}"
${anchors}`;

const ENV_CM = `            (spec):
              (containers):
              - (env):
                - (valueFrom):
                    (configMapKeyRef):
                      (name): settings
`;

function one(docs: string[]) {
  const r = importKyverno(docs.map((text, i) => ({ file: `in${i}.yaml`, text })));
  expect(r.policies).toHaveLength(1);
  // every import result is a valid policy file
  expect(parsePolicies(r.yaml, 'out.yaml')).toHaveLength(1);
  return r.policies[0];
}

describe('supported constructs', () => {
  it.each([
    [
      'subjects: ServiceAccount, User, Group; audit mode; match operations',
      validate(`    exclude:
      any:
      - subjects:
        - { kind: ServiceAccount, name: deployer, namespace: ci }
        - { kind: User, name: alice }
        - { kind: Group, name: platform-admins }
`, { action: 'Audit', pre: '', match: `      any:
      - resources:
          kinds: [ConfigMap]
          names: [settings]
          namespaces: [base]
          operations: [DELETE]` }),
      { protect: { operations: ['DELETE'], allow: { groups: ['platform-admins'], users: ['alice'], serviceAccounts: ['ci/deployer'] }, mode: 'audit', message: 'hands off' } },
    ],
    [
      'legacy exclude form with clusterRoles cluster-admin, Equals precondition',
      validate(`    exclude:
      clusterRoles: [cluster-admin]
`, { pre: `    preconditions:
      all:
      - key: "{{ request.operation }}"
        operator: Equals
        value: DELETE` }),
      { protect: { operations: ['DELETE'], allow: { groups: ['system:masters'], users: [], serviceAccounts: [] }, mode: 'enforce' } },
    ],
  ])('validate: %s', (_n, doc, want) => {
    expect(one([doc]).spec).toMatchObject(want);
  });

  it.each([
    ['all namespaces', CLONE, undefined, '', { namespaces: { include: ['*'], exclude: [] } }],
    ['names, globs and excluded names', CLONE, `      any:
      - resources:
          kinds: [Namespace]
          names: ["team-*", tools]`, `    exclude:
      any:
      - resources:
          kinds: [Namespace]
          names: [team-sandbox]
`, { namespaces: { include: ['team-*', 'tools'], exclude: ['team-sandbox'] } }],
    ['label selector', CLONE, `      any:
      - resources:
          kinds: [Namespace]
          selector:
            matchLabels: { app: critical }`, '', { namespaces: { include: ['*'], selector: { matchLabels: { app: 'critical' } } } }],
    ['different target name', CLONE.replace('name: settings\n', 'name: settings-copy\n'), undefined, '', { targetName: 'settings-copy' }],
  ])('generate: %s', (_n, gen, match, extra, want) => {
    const p = one([generate(gen, match, extra)]);
    expect(p.spec.source).toEqual({ kind: 'ConfigMap', namespace: 'base', name: 'settings' });
    expect(p.spec.sync).toMatchObject({ onSourceDelete: 'delete', ...want });
  });

  it.each([
    ['env configMapKeyRef', ENV_CM, ['env']],
    ['envFrom', `            (spec):
              (containers):
              - (envFrom):
                - (configMapRef):
                    (name): settings
`, ['envFrom']],
    ['volume', `            (spec):
              (volumes):
              - (configMap):
                  (name): settings
`, ['volume']],
    ['projected', `            (spec):
              (volumes):
              - (projected):
                  (sources):
                  - (configMap):
                      (name): settings
`, ['projected']],
    ['init containers', `            (spec):
              (initContainers):
              - (env):
                - (valueFrom):
                    (configMapKeyRef):
                      (name): settings
`, ['env']],
    ['no anchors: every reference form', '', ['env', 'envFrom', 'volume', 'projected']],
  ])('mutate-existing: %s', (_n, anchors, refs) => {
    const p = one([generate(CLONE), restart(anchors)]);
    expect(p.spec.reload).toMatchObject({ kinds: ['Deployment'], references: refs });
  });

  it('merges one restart rule per workload kind into one reload section', () => {
    const p = one([generate(CLONE), restart(ENV_CM, { kind: 'StatefulSet' }), restart(ENV_CM, { kind: 'Deployment' }).replace('name: restart\n', 'name: restart2\n')]);
    expect(p.spec.reload?.kinds).toEqual(['Deployment', 'StatefulSet']);
  });

  it('a restart rule naming one namespace stands alone (reload only)', () => {
    const p = one([restart(ENV_CM, { ns: 'base' })]);
    expect(p.spec).toEqual(expect.objectContaining({ source: { kind: 'ConfigMap', namespace: 'base', name: 'settings' } }));
    expect(p.spec.sync).toBeUndefined();
    expect(p.spec.reload?.references).toEqual(['env']);
  });

  it('one policy per base object, protect + sync merged', () => {
    const p = one([validate(''), generate(CLONE)]);
    expect(Object.keys(p.spec)).toEqual(['source', 'protect', 'sync']);
  });
});

describe('unsupported constructs are errors naming the policy, the rule, the construct and the position', () => {
  it.each([
    ['other clusterRoles', validate(`    exclude:
      any:
      - clusterRoles: [edit]
`), /^in0\.yaml:22:24: spec\.rules\[0\]\.exclude\.any\[0\]\.clusterRoles\[0\]: ClusterPolicy protect, rule protect-cm: exclude clusterRoles "edit" is not supported/m],
    ['roles', validate(`    exclude:
      any:
      - roles: [ns:edit]
`), /ClusterPolicy protect, rule protect-cm: exclude roles is not supported/],
    ['clusterRoles AND subjects in one clause', validate(`    exclude:
      any:
      - clusterRoles: [cluster-admin]
        subjects: [{ kind: User, name: bob }]
`), /combining subjects and clusterRoles|combining clusterRoles and subjects/],
    ['CREATE in operations', validate('', { pre: `    preconditions:
      all:
      - key: "{{request.operation}}"
        operator: AnyIn
        value: [CREATE, UPDATE]` }), /operation\(s\) CREATE cannot be denied by ripple/],
    ['deny without an operation condition', validate('', { pre: '' }), /would also block CREATE/],
    ['precondition on something else', validate('', { pre: `    preconditions:
      all:
      - key: "{{request.object.data.x}}"
        operator: Equals
        value: y` }), /precondition on "\{\{request.object.data.x\}\}" is not supported/],
    ['wildcard names', validate('', { match: `      any:
      - resources:
          kinds: [ConfigMap]
          names: ["settings-*"]
          namespaces: [base]` }), /name "settings-\*" with a wildcard is not supported/],
    ['protect without namespace', validate('', { match: `      any:
      - resources:
          kinds: [ConfigMap]
          names: [settings]` }), /in every namespace: ripple protects base objects/],
    ['validate pattern', validate('').replace('deny: {}', 'pattern: { data: { x: "?*" } }'), /validate field "pattern" is not supported|only an unconditional `deny: \{\}`/],
    ['generate without synchronize', generate(CLONE.replace('synchronize: true', 'synchronize: false')), /only synchronize: true is supported/],
    ['generate from data', generate(`      kind: ConfigMap
      apiVersion: v1
      name: settings
      namespace: "{{request.object.metadata.name}}"
      synchronize: true
      data: { data: { a: b } }`), /generate field "data" is not supported|generate.clone with name and namespace/],
    ['generate into a fixed namespace', generate(CLONE.replace('"{{request.object.metadata.name}}"', 'apps')), /generate.namespace must be "\{\{request.object.metadata.name\}\}"/],
    ['generate triggered by Pods', generate(CLONE, `      any:
      - resources:
          kinds: [Pod]`), /generate rules must be triggered by Namespace only \(got Pod\)/],
    ['restart a named workload', restart(ENV_CM, { ns: 'base', targets: `      - apiVersion: apps/v1
        kind: Deployment
        name: web
        namespace: "{{request.namespace}}"` }), /target field "name" is not supported/],
    ['restart a CronJob', restart(ENV_CM, { ns: 'base', kind: 'CronJob', targets: `      - apiVersion: batch/v1
        kind: CronJob
        namespace: "{{request.namespace}}"` }), /target kind "CronJob" is not supported/],
    ['anchor on image', restart(`            (spec):
              (containers):
              - (image): "nginx*"
`, { ns: 'base' }), /conditional anchor "\(image\)" is not supported/],
    ['anchor naming another object', restart(ENV_CM.replace('(name): settings', '(name): other'), { ns: 'base' }), /the anchor names "other", but the rule matches ConfigMap settings/],
    ['restart without a known base namespace', restart(ENV_CM), /no validate or generate rule names the base of ConfigMap "settings"/],
    ['restart rule limited to some namespaces of a synced object', [generate(CLONE), restart(ENV_CM, { ns: 'team-a' })].join('---\n'), /restarting only in namespaces team-a is not supported: ripple restarts the consumers wherever ConfigMap "settings" and its copies live/],
    ['restart rule in several namespaces without copies', restart(ENV_CM, { ns: 'base, other' }), /no validate or generate rule names the base|restarting in namespaces base, other is not supported/],
    ['mutateExistingOnPolicyUpdate', restart(ENV_CM, { ns: 'base' }).replace('spec:\n  rules:', 'spec:\n  mutateExistingOnPolicyUpdate: true\n  rules:'), /mutateExistingOnPolicyUpdate: true .* is not supported/],
    ['unknown rule construct', validate('    context:\n    - name: x\n      configMap: { name: a, namespace: b }\n'), /rule field "context" is not supported/],
    ['verifyImages rule', `apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: { name: v }\nspec:\n  rules:\n  - name: imgs\n    match: { any: [ { resources: { kinds: [Pod] } } ] }\n    verifyImages: []\n`, /rule field "verifyImages" is not supported/],
    ['namespaced Policy', `apiVersion: kyverno.io/v1\nkind: Policy\nmetadata: { name: p, namespace: x }\nspec: { rules: [] }\n`, /^in0\.yaml:2:7: kind: Policy p: only kyverno.io ClusterPolicy documents can be imported/m],
    ['unknown spec field', generate(CLONE).replace('spec:\n', 'spec:\n  webhookTimeoutSeconds: 5\n'), /ClusterPolicy gen: spec.webhookTimeoutSeconds is not supported/],
  ])('%s', (_n, doc, want) => {
    expect(() => importKyverno([{ file: 'in0.yaml', text: doc }])).toThrow(want);
  });

  it('reports every problem, not only the first', () => {
    const doc = validate(`    exclude:
      any:
      - clusterRoles: [edit, admin]
`);
    let msg = '';
    try {
      importKyverno([{ file: 'in0.yaml', text: doc }]);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg.split('\n').filter((l) => l.includes('is not supported'))).toHaveLength(2);
  });

  it('a file with no ClusterPolicy is an error', () => {
    expect(() => importKyverno([{ file: 'empty.yaml', text: '---\n' }])).toThrow('no Kyverno ClusterPolicy found in empty.yaml');
  });
});
