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
        value: [CREATE, UPDATE]` }), /preconditions: ClusterPolicy protect, rule protect-cm: the conditions deny CREATE \(making a new object under a protected name\) as well as UPDATE: protect\.operations lists UPDATE and DELETE only; narrow the condition to \[UPDATE, DELETE\]/],
    ['deny without an operation condition', validate('', { pre: '' }), /validate\.deny: ClusterPolicy protect, rule protect-cm: this deny has no condition on the operation, so Kyverno denies every request for these objects, creating them included; .*name them with validate\.deny\.conditions/],
    ['precondition on something else', validate('', { pre: `    preconditions:
      all:
      - key: "{{request.object.data.x}}"
        operator: Equals
        value: y` }), /preconditions\.all\[0\]\.key: .*a condition on "\{\{request.object.data.x\}\}" in preconditions is not supported: ripple imports only conditions on "\{\{request.operation\}\}"/],
    ['wildcard names', validate('', { match: `      any:
      - resources:
          kinds: [ConfigMap]
          names: ["settings-*"]
          namespaces: [base]` }), /name "settings-\*" with a wildcard is not supported/],
    ['protect without namespace', validate('', { match: `      any:
      - resources:
          kinds: [ConfigMap]
          names: [settings]` }), /in every namespace: ripple protects base objects/],
    ['validate pattern', validate('').replace('deny: {}', 'pattern: { data: { x: "?*" } }'), /validate field "pattern" is not supported/],
    ['generate with synchronize: "yes"', generate(CLONE.replace('synchronize: true', 'synchronize: "yes"')), /generate\.synchronize: .*synchronize must be true or false/],
    ['generate from data', generate(`      kind: ConfigMap
      apiVersion: v1
      name: settings
      namespace: "{{request.object.metadata.name}}"
      synchronize: true
      data: { data: { a: b } }`), /generate\.data: .*generate\.data \(an object written from the policy itself\) is not supported: ripple copies an existing base/],
    ['generate into a fixed namespace', generate(CLONE.replace('"{{request.object.metadata.name}}"', 'apps')), /generate\.namespace "apps": only "\{\{request\.object\.metadata\.name\}\}" \(one copy in each matched Namespace\) is supported; to copy into one namespace, match that Namespace by name/],
    ['generate triggered by Pods', generate(CLONE, `      any:
      - resources:
          kinds: [Pod]`), /match\.any\[0\]\.resources\.kinds: .*a copy made when a Pod appears \(generate triggered by Pod, .*\) is not supported: ripple copies a base into namespaces chosen by name or label/],
    ['restart a workload named by a variable', restart(ENV_CM, { ns: 'base', targets: `      - apiVersion: apps/v1
        kind: Deployment
        name: "{{request.object.metadata.name}}"
        namespace: "{{request.namespace}}"` }), /mutate\.targets\[0\]\.name: .*must be a literal workload name/],
    ['restart a CronJob', restart(ENV_CM, { ns: 'base', kind: 'CronJob', targets: `      - apiVersion: batch/v1
        kind: CronJob
        namespace: "{{request.namespace}}"` }), /mutate\.targets\[0\]\.kind: .*restarting a CronJob \(mutate\.targets kind CronJob\) is not supported/],
    ['exclude on a restart rule', restart(ENV_CM, { ns: 'base' }).replace('    mutate:\n', '    exclude:\n      any:\n      - resources:\n          namespaces: [team-a]\n    mutate:\n'), /spec\.rules\[0\]\.exclude: .*exclude on a restart rule is not supported: .*annotate it ripple\.dev\/reload: "false"/],
    ['anchor on image', restart(`            (spec):
              (containers):
              - (image): "nginx*"
`, { ns: 'base' }), /conditional anchor "\(image\)" is not supported/],
    ['anchor naming another object', restart(ENV_CM.replace('(name): settings', '(name): other'), { ns: 'base' }), /the anchor names "other", but the rule matches ConfigMap settings/],
    ['restart without a known base namespace', restart(ENV_CM), /no validate or generate rule names the base of ConfigMap "settings"/],
    ['restart rule limited to some namespaces of a synced object', [generate(CLONE), restart(ENV_CM, { ns: 'team-a' })].join('---\n'), /restarting only in namespaces team-a is not supported: ripple restarts the consumers wherever ConfigMap "settings" and its copies live/],
    ['restart rule in several namespaces without copies', restart(ENV_CM, { ns: 'base, other' }), /no validate or generate rule names the base|restarting in namespaces base, other is not supported/],
    ['mutateExistingOnPolicyUpdate (spec, deprecated place)', restart(ENV_CM, { ns: 'base' }).replace('spec:\n  rules:', 'spec:\n  mutateExistingOnPolicyUpdate: true\n  rules:'), /mutateExistingOnPolicyUpdate: true .* is not supported: ripple restarts consumers only when the object they read changes; set it to false/],
    ['mutateExistingOnPolicyUpdate (rule)', restart(ENV_CM, { ns: 'base' }).replace('    mutate:\n', '    mutate:\n      mutateExistingOnPolicyUpdate: true\n'), /mutate\.mutateExistingOnPolicyUpdate: .*mutateExistingOnPolicyUpdate: true .* is not supported/],
    ['context read from a ConfigMap', validate('    context:\n    - name: x\n      configMap: { name: a, namespace: b }\n'), /context\[0\]\.configMap: .*context variable "x" reads a ConfigMap when a request arrives \(context\.configMap\): .*only literal values \(variable\.value\) can be inlined/],
    ['context computed with jmesPath', validate('    context:\n    - name: x\n      variable: { jmesPath: request.object.metadata.namespace }\n'), /context\[0\]\.variable\.jmesPath: .*context variable "x" is computed per request/],
    ['unknown rule construct', validate('    celPreconditions: []\n'), /rule field "celPreconditions" is not supported/],
    ['verifyImages rule', `apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: { name: v }\nspec:\n  rules:\n  - name: imgs\n    match: { any: [ { resources: { kinds: [Pod] } } ] }\n    verifyImages: []\n`, /rule field "verifyImages" is not supported/],
    ['ValidatingPolicy', `apiVersion: policies.kyverno.io/v1alpha1\nkind: ValidatingPolicy\nmetadata: { name: p }\nspec: {}\n`, /^in0\.yaml:2:7: kind: ValidatingPolicy p: only Kyverno ClusterPolicy and Policy documents can be imported/m],
    ['namespaced Policy without a namespace', `apiVersion: kyverno.io/v1\nkind: Policy\nmetadata: { name: p }\nspec: { rules: [] }\n`, /Policy p: a namespaced Policy needs metadata\.namespace/],
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
    expect(() => importKyverno([{ file: 'empty.yaml', text: '---\n' }])).toThrow('no Kyverno ClusterPolicy or Policy found in empty.yaml');
  });
});

describe('Kyverno idioms the importer maps', () => {
  const denyConditions = (conds: string, extra = '') => validate(`${extra}`, { pre: '' }).replace('      deny: {}', `      deny:\n        conditions:\n${conds}`);

  it.each([
    ['AnyIn [UPDATE, DELETE]', `          any:
          - key: "{{request.operation}}"
            operator: AnyIn
            value: [UPDATE, DELETE]`, ['UPDATE', 'DELETE']],
    ['Equals DELETE (request.operation || BACKGROUND)', `          any:
          - key: "{{request.operation || 'BACKGROUND'}}"
            operator: Equals
            value: DELETE`, ['DELETE']],
    ['AnyNotIn [CREATE] (CONNECT left out)', `          all:
          - key: "{{ request.operation }}"
            operator: AnyNotIn
            value: [CREATE]`, ['UPDATE', 'DELETE']],
    ['NotEquals CREATE in the legacy list form', `          - key: "{{request.operation}}"
            operator: NotEquals
            value: CREATE`, ['UPDATE', 'DELETE']],
    ['any of two Equals', `          any:
          - key: "{{request.operation}}"
            operator: Equals
            value: UPDATE
          - key: "{{request.operation}}"
            operator: Equals
            value: DELETE`, ['UPDATE', 'DELETE']],
    ['any and all together (both must hold)', `          any:
          - key: "{{request.operation}}"
            operator: AnyIn
            value: [UPDATE, DELETE, CREATE]
          all:
          - key: "{{request.operation}}"
            operator: NotEquals
            value: CREATE`, ['UPDATE', 'DELETE']],
  ])('validate.deny.conditions on the operation: %s', (_n, conds, ops) => {
    expect(one([denyConditions(conds)]).spec.protect?.operations).toEqual(ops);
  });

  it('intersects deny conditions with preconditions and match operations', () => {
    const doc = validate('', { pre: `    preconditions:
      all:
      - key: "{{request.operation}}"
        operator: AnyIn
        value: [DELETE, UPDATE]` }).replace('      deny: {}', `      deny:
        conditions:
          any:
          - key: "{{request.operation}}"
            operator: AnyIn
            value: [DELETE, CREATE]`);
    expect(one([doc]).spec.protect?.operations).toEqual(['DELETE']);
  });

  it.each([
    ['a condition on the user', `          all:
          - key: "{{request.operation}}"
            operator: AnyIn
            value: [UPDATE, DELETE]
          - key: "{{request.userInfo.username}}"
            operator: NotEquals
            value: alice`, /validate\.deny\.conditions\.all\[1\]\.key: .*a condition on "\{\{request\.userInfo\.username\}\}" in validate\.deny\.conditions is not supported: .*list it under exclude \(subjects: User, Group, ServiceAccount/],
    ['CREATE among the denied operations', `          any:
          - key: "{{request.operation}}"
            operator: AnyIn
            value: [CREATE, UPDATE, DELETE]`, /validate\.deny\.conditions: .*the conditions deny CREATE .* as well as UPDATE and DELETE/],
    ['a lower-case operation', `          any:
          - key: "{{request.operation}}"
            operator: Equals
            value: delete`, /"delete" is not an operation \(CREATE, UPDATE, DELETE, CONNECT; upper case, no wildcards\)/],
    ['a numeric operator', `          any:
          - key: "{{request.operation}}"
            operator: GreaterThan
            value: DELETE`, /operator "GreaterThan" on request\.operation is not supported; use AnyIn, AnyNotIn, Equals or NotEquals/],
  ])('deny conditions refused: %s', (_n, conds, want) => {
    let msg = '';
    try {
      importKyverno([{ file: 'in0.yaml', text: denyConditions(conds) }]);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(want);
    // the unconditional-deny message is for a deny without conditions only
    expect(msg).not.toContain('no condition on the operation');
  });

  it('inlines context variables with literal values (generate.name, clone.name, clone.namespace)', () => {
    const p = one([
      generate(`      kind: ConfigMap
      apiVersion: v1
      name: "{{ copyname }}"
      namespace: "{{request.object.metadata.name}}"
      synchronize: true
      clone: { name: "{{source}}", namespace: "{{src-ns}}" }`, undefined, `    context:
    - name: source
      variable:
        value: settings
    - name: src-ns
      variable:
        value: base
    - name: copyname
      variable:
        value: "{{source}}-copy"
`),
    ]);
    expect(p.spec.source).toEqual({ kind: 'ConfigMap', namespace: 'base', name: 'settings' });
    expect(p.spec.sync?.targetName).toBe('settings-copy');
  });

  it.each([
    ['a variable used in an expression', `    context:
    - name: source
      variable: { value: settings }
`, '"{{ source | to_upper(@) }}"', /generate\.name: .*context variable "source" is used in an expression \("\{\{ source \| to_upper\(@\) \}\}"\)/],
    ['a structured value', `    context:
    - name: source
      variable: { value: { a: b } }
`, '"{{source}}"', /context\[0\]\.variable\.value: .*context variable "source" holds a mapping: only a string, number or boolean can be inlined/],
    ['a name that shadows a built-in', `    context:
    - name: request
      variable: { value: settings }
`, '"{{source}}"', /context\[0\]\.name: .*context variable "request" shadows Kyverno's built-in variable request; rename it/],
    ['an apiCall', `    context:
    - name: source
      apiCall: { urlPath: /api/v1/namespaces }
`, '"{{source}}"', /context\[0\]\.apiCall: .*context variable "source" calls the Kubernetes API .* \(context\.apiCall\)/],
  ])('context refused: %s', (_n, context, name, want) => {
    const doc = generate(CLONE.replace('name: settings\n', `name: ${name}\n`), undefined, context);
    expect(() => importKyverno([{ file: 'in0.yaml', text: doc }])).toThrow(want);
  });

  it('rule-level mutateExistingOnPolicyUpdate: false is accepted', () => {
    const doc = restart(ENV_CM, { ns: 'base' }).replace('    mutate:\n', '    mutate:\n      mutateExistingOnPolicyUpdate: false\n');
    expect(one([doc]).spec.reload?.references).toEqual(['env']);
  });

  it('exclude resources.namespaces (and names) without kinds exclude namespaces; match namespaces include them', () => {
    const p = one([
      generate(CLONE, `      any:
      - resources:
          kinds: [Namespace]
          namespaces: ["team-*"]`, `    exclude:
      any:
      - resources:
          namespaces: [kube-system, default]
      - resources:
          names: [team-sandbox]
`),
    ]);
    expect(p.spec.sync?.namespaces).toMatchObject({ include: ['team-*'], exclude: ['kube-system', 'default', 'team-sandbox'] });
  });

  it('spec.schemaValidation and spec.useServerSideApply are noted and ignored, with a warning', () => {
    const doc = generate(CLONE).replace('spec:\n', 'spec:\n  schemaValidation: false\n  useServerSideApply: true\n');
    const r = importKyverno([{ file: 'in0.yaml', text: doc }]);
    expect(r.policies).toHaveLength(1);
    expect(r.warnings).toEqual([
      expect.stringMatching(/^in0\.yaml:6:21: spec\.schemaValidation: ClusterPolicy gen: spec\.schemaValidation noted and ignored/),
      expect.stringMatching(/^in0\.yaml:7:23: spec\.useServerSideApply: ClusterPolicy gen: spec\.useServerSideApply noted and ignored/),
    ]);
  });

  it('reports the other objects of a file (the base Secret, its Namespace) instead of failing it', () => {
    const text = `apiVersion: v1
kind: Namespace
metadata:
  name: base
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: base
data: { a: b }
---
${generate(CLONE)}`;
    const r = importKyverno([{ file: 'all.yaml', text }]);
    expect(r.policies.map((p) => p.spec.source)).toEqual([{ kind: 'ConfigMap', namespace: 'base', name: 'settings' }]);
    expect(r.warnings).toEqual([
      'all.yaml:2:7: kind: Namespace base is not a Kyverno policy, so it is not imported: apply it with kubectl',
      'all.yaml:7:7: kind: ConfigMap base/settings is not a Kyverno policy, so it is not imported (ripple copies an existing base; it does not create one): apply it with kubectl',
    ]);
  });

  it('a file holding only other objects is an error (and still says what it skipped)', () => {
    let err: any;
    try {
      importKyverno([{ file: 's.yaml', text: 'apiVersion: v1\nkind: Secret\nmetadata: { name: x, namespace: y }\n' }]);
    } catch (e) {
      err = e;
    }
    expect(err.message).toBe('no Kyverno ClusterPolicy or Policy found in s.yaml');
    expect(err.warnings).toEqual([expect.stringContaining('Secret y/x is not a Kyverno policy')]);
  });

  it('a namespaced Policy protects and restarts in its own namespace', () => {
    const pol = (body: string) => body.replace('kind: ClusterPolicy\nmetadata:\n  name: protect\n', 'kind: Policy\nmetadata:\n  name: protect\n  namespace: base\n');
    const doc = pol(validate('', { match: `      any:
      - resources:
          kinds: [ConfigMap]
          names: [settings]` }));
    const p = one([doc]);
    expect(p.spec.source).toEqual({ kind: 'ConfigMap', namespace: 'base', name: 'settings' });
    expect(p.spec.protect?.operations).toEqual(['UPDATE', 'DELETE']);
    const r = one([restart(ENV_CM).replace('kind: ClusterPolicy\nmetadata:\n  name: restart\n', 'kind: Policy\nmetadata:\n  name: restart\n  namespace: base\n')]);
    expect(r.spec.source).toEqual({ kind: 'ConfigMap', namespace: 'base', name: 'settings' });
    expect(r.spec.reload?.references).toEqual(['env']);
  });

  it.each([
    ['synchronize: false', generate(CLONE.replace('synchronize: true', 'synchronize: false')), /synchronize: false -> sync\.mode: once/],
    ['synchronize unset (Kyverno\'s default: false)', generate(CLONE.replace('      synchronize: true\n', '')), /synchronize unset \(Kyverno's default: false\) -> sync\.mode: once/],
  ])('%s -> sync.mode once, copies kept when the source goes, noted', (_n, text, note) => {
    const r = importKyverno([{ file: 'in0.yaml', text }]);
    expect(r.policies[0].spec.sync).toMatchObject({ mode: 'once', onSourceDelete: 'keep' });
    expect(r.yaml).toMatch(note);
    expect(r.yaml).toContain('copies of a synchronize: false rule stay when the policy is deleted');
  });

  it('a named restart target becomes reload.targets (namespace kept when literal), noted', () => {
    const r = importKyverno([{ file: 'in0.yaml', text: restart(ENV_CM, { ns: 'base', targets: `      - apiVersion: apps/v1
        kind: Deployment
        name: web
        namespace: "{{request.namespace}}"` }) }]);
    expect(r.policies[0].spec.reload?.targets).toEqual([{ kind: 'Deployment', name: 'web' }]);
    expect(r.yaml).toContain('named restart target Deployment web -> reload.targets');
  });

  it('a restart target chosen by label becomes reload.targets with a selector, noted', () => {
    const r = importKyverno([{ file: 'in0.yaml', text: restart(ENV_CM, { ns: 'base', targets: `      - apiVersion: apps/v1
        kind: Deployment
        namespace: "{{request.namespace}}"
        selector:
          matchLabels: { tier: web }` }) }]);
    expect(r.policies[0].spec.reload?.targets).toEqual([{ kind: 'Deployment', selector: { matchLabels: { tier: 'web' } } }]);
    expect(r.yaml).toContain('restart target Deployment chosen by label {"matchLabels":{"tier":"web"}} -> reload.targets');
  });

  it.each([
    ['a name and a selector', '        name: web\n        selector: { matchLabels: { a: b } }', /mutate\.targets\[0\]\.selector: .*both a name and a selector is not supported/],
    ['an empty selector', '        selector: {}', /mutate\.targets\[0\]\.selector: .*an empty target selector is not supported/],
  ])('a restart target with %s is refused', (_n, extra, want) => {
    const text = restart(ENV_CM, { ns: 'base', targets: `      - apiVersion: apps/v1\n        kind: Deployment\n        namespace: "{{request.namespace}}"\n${extra}` });
    expect(() => importKyverno([{ file: 'in0.yaml', text }])).toThrow(want);
  });

  it('orphanDownstreamOnPolicyDelete: true is what ripple does (noted in the output)', () => {
    const r = importKyverno([{ file: 'in0.yaml', text: generate(CLONE.replace('synchronize: true', 'synchronize: true\n      orphanDownstreamOnPolicyDelete: true')) }]);
    expect(r.yaml).toContain('orphanDownstreamOnPolicyDelete: true -> removing the RipplePolicy leaves its copies in place');
  });
});

const NAMESPACED = (gen = 'name: copied\n      namespace: base\n      synchronize: true\n      clone: { name: regcred, namespace: base }') => `apiVersion: kyverno.io/v1
kind: Policy
metadata: { name: p, namespace: base }
spec:
  rules:
  - name: copy
    match: { any: [ { resources: { kinds: [ConfigMap] } } ] }
    generate:
      apiVersion: v1
      kind: Secret
      ${gen}
`;

describe('a namespaced Policy cloning next to its base', () => {
  it('imports as a copy under the new name in the source namespace only (listed by exact name), the trigger noted', () => {
    const r = importKyverno([{ file: 'in0.yaml', text: NAMESPACED() }]);
    expect(r.policies[0].spec.source).toEqual({ kind: 'Secret', namespace: 'base', name: 'regcred' });
    expect(r.policies[0].spec.sync).toMatchObject({ namespaces: { include: ['base'] }, targetName: 'copied', mode: 'sync' });
    expect(r.yaml).toContain('Kyverno waited for a ConfigMap to appear there, ripple makes it whenever the base exists');
  });

  it.each([
    ['a base in another namespace', "name: copied\n      namespace: base\n      synchronize: true\n      clone: { name: regcred, namespace: other }", /generate\.clone\.namespace: .*a namespaced Policy reads only its own namespace base/],
    ['a copy into another namespace', "name: copied\n      namespace: other\n      synchronize: true\n      clone: { name: regcred, namespace: base }", /generate\.namespace: .*a namespaced Policy writes only into its own namespace base/],
    ['the base itself', "name: regcred\n      namespace: base\n      synchronize: true\n      clone: { name: regcred, namespace: base }", /generate\.name: .*is the base itself/],
  ])('refuses %s, naming the field', (_n, gen, want) => {
    expect(() => importKyverno([{ file: 'in0.yaml', text: NAMESPACED(gen) }])).toThrow(want);
  });
});

describe('one base cloned under two names by two rules -> sync.targetNames', () => {
  const two = (second: string) => [generate(CLONE), second.replace('name: gen\n', 'name: gen2\n')].join('---\n');
  it('same namespaces and mode: one policy, both names', () => {
    const r = importKyverno([{ file: 'in0.yaml', text: two(generate(CLONE.replace('name: settings\n', 'name: settings-two\n'))) }]);
    expect(r.policies).toHaveLength(1);
    expect(r.policies[0].spec.sync?.targetNames).toEqual(['settings', 'settings-two']);
    expect(r.policies[0].spec.sync?.targetName).toBeUndefined();
    expect(r.yaml).toMatch(/sync +<- ClusterPolicy gen, rule copy; ClusterPolicy gen2, rule copy/);
  });
  it.each([
    ['the same name twice', generate(CLONE), /ConfigMap base\/settings is already cloned as "settings" by ClusterPolicy gen, rule copy; merge the two rules/],
    [
      'other namespaces',
      generate(CLONE.replace('name: settings\n', 'name: settings-two\n'), `      any:
      - resources:
          kinds: [Namespace]
          names: [team-a]`),
      /generate\.name: .*already copied as "settings" by ClusterPolicy gen, rule copy, into other namespaces or another way \(namespaces include\); .*nearest supported form: the same match, exclude and synchronize in both rules/,
    ],
  ])('refused: %s', (_n, second, want) => {
    let msg = '';
    try {
      importKyverno([{ file: 'in0.yaml', text: two(second) }]);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(want);
    expect(msg.split('\n')).toHaveLength(1);
  });
});

describe('generate.cloneList -> a set of bases per kind (source.selector)', () => {
  const list = (body: string, synchronize = 'true') => generate(`      namespace: "{{request.object.metadata.name}}"
      synchronize: ${synchronize}
      cloneList:
${body}`);
  it('maps each kind to a RipplePolicy selecting its bases by label, copied under their own names', () => {
    const r = importKyverno([{ file: 'in0.yaml', text: list('        namespace: base\n        kinds: [v1/Secret, v1/ConfigMap]\n        selector: { matchLabels: { share: "true" } }') }]);
    expect(r.policies.map((p) => [p.metadata.name, p.spec.source])).toEqual([
      ['gen-configmaps', { kind: 'ConfigMap', namespace: 'base', selector: { matchLabels: { share: 'true' } } }],
      ['gen-secrets', { kind: 'Secret', namespace: 'base', selector: { matchLabels: { share: 'true' } } }],
    ]);
    expect(r.policies[0].spec.sync).toMatchObject({ mode: 'sync', onSourceDelete: 'delete' });
    expect(r.policies[0].spec.sync?.targetName).toBeUndefined();
    expect(r.yaml).toMatch(/one that loses the label leaves the set and is treated as deleted \(its copies are deleted\)/);
  });
  it('one kind: the Kyverno policy\'s name; synchronize: false -> once, copies kept', () => {
    const r = importKyverno([{ file: 'in0.yaml', text: list('        namespace: base\n        kinds: [Secret]\n        selector: { matchExpressions: [{ key: share, operator: Exists }] }', 'false') }]);
    expect(r.policies.map((p) => p.metadata.name)).toEqual(['gen']);
    expect(r.policies[0].spec.sync).toMatchObject({ mode: 'once', onSourceDelete: 'keep' });
  });
  it.each([
    ['no selector', '        namespace: base\n        kinds: [v1/Secret]', /generate\.cloneList: .*cloneList without a selector .* is not supported; label the objects to copy/],
    ['an empty selector', '        namespace: base\n        kinds: [v1/Secret]\n        selector: {}', /generate\.cloneList\.selector: .*an empty cloneList\.selector is not supported/],
    ['another kind', '        namespace: base\n        kinds: [v1/Secret, apps/v1/Deployment]\n        selector: { matchLabels: { a: b } }', /generate\.cloneList\.kinds\[1\]: .*cloning kind "apps\/v1\/Deployment" is not supported/],
    ['a namespace variable', '        namespace: "{{request.object.metadata.name}}"\n        kinds: [v1/Secret]\n        selector: { matchLabels: { a: b } }', /generate\.cloneList\.namespace: .*must be a literal namespace/],
    ['an unknown field', '        namespace: base\n        kinds: [v1/Secret]\n        selector: { matchLabels: { a: b } }\n        names: [x]', /generate\.cloneList\.names: .*cloneList field "names" is not supported/],
  ])('refused: %s', (_n, body, want) => {
    expect(() => importKyverno([{ file: 'in0.yaml', text: list(body) }])).toThrow(want);
  });
});
