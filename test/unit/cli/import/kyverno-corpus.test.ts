/**
 * Kyverno's own conformance cases (and policy-library samples) for Secret/ConfigMap clone+sync, protect and restart,
 * verbatim in test/fixtures/kyverno/ (sources: its README), through `ripple import kyverno`. Per case: imported, and
 * the RipplePolicies equal test/fixtures/kyverno-expected/<case>.yaml (checked against the case's chainsaw
 * assertions, see each file's header); or refused, every problem naming the construct that decides, at its
 * file:line:column. The tally (imported / refused, by reason) is printed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importKyvernoFiles, KyvernoImportError } from '../../../../cli/import/kyverno.ts';
import { parsePolicies } from '../../../../core/policy/load.ts';

const ROOT = 'test/fixtures/kyverno';
const EXPECTED = 'test/fixtures/kyverno-expected';

/** The reasons a case is refused, by the construct the message names (the tally's rows). */
const REASONS: [string, RegExp][] = [
  ['copy triggered by another object than a Namespace', /a copy made when a \w+ appears .* is not supported: ripple copies a base into namespaces/],
  ['context computed per request (jmesPath, apiCall)', /context variable "[^"]+" (is computed per request|calls the Kubernetes API)/],
  ['protect of a kind other than Secret/ConfigMap', /kind "\w+" cannot be protected by ripple: it protects the Secrets and ConfigMaps it copies/],
  ['mutating an object (not a restart)', /mutating a \w+ \(mutate\.targets kind \w+\) is not something ripple does/],
];

type Outcome = { imported: string } | { refused: RegExp[] };

/** Every case of the corpus, with what must come of it. A refused case lists each problem (file:line:col and construct). */
const CASES: Record<string, Outcome> = {
  'clone-source-managed-by-label-helm': { imported: 'clone-source-managed-by-label-helm.yaml' },
  'clone-source-name-exceeds-63-characters': { imported: 'clone-source-name-exceeds-63-characters.yaml' },
  'clone-sync-same-trigger-source-delete-source': { refused: [/chainsaw-step-01-apply-1-3\.yaml:23:11: spec\.rules\[0\]\.match\.all\[0\]\.resources\.kinds: .*a copy made when a Secret appears/] },
  'clone-sync-same-trigger-source-update-source': { refused: [/policy\.yaml:23:11: spec\.rules\[0\]\.match\.all\[0\]\.resources\.kinds: .*a copy made when a Secret appears/] },
  'cpol-clone-list-sync-create': { imported: 'cpol-clone-list-sync-create.yaml' },
  'cpol-clone-list-sync-create-deprecated': { imported: 'cpol-clone-list-sync-create-deprecated.yaml' },
  'cpol-clone-list-sync-delete-source': { refused: [/policy\.yaml:20:9: spec\.rules\[0\]\.context\[0\]\.apiCall: .*context variable "allow" calls the Kubernetes API/] },
  'cpol-clone-list-sync-orphan-downstream-delete-policy': { imported: 'cpol-clone-list-sync-orphan-downstream-delete-policy.yaml' },
  'cpol-clone-list-sync-update-source': { imported: 'cpol-clone-list-sync-update-source.yaml' },
  'cpol-clone-nosync-create': { imported: 'cpol-clone-nosync-create.yaml' },
  'cpol-clone-nosync-delete-downstream': { imported: 'cpol-clone-nosync-delete-downstream.yaml' },
  'cpol-clone-nosync-delete-policy': { imported: 'cpol-clone-nosync-delete-policy.yaml' },
  'cpol-clone-nosync-delete-rule': { imported: 'cpol-clone-nosync-delete-rule.yaml' },
  'cpol-clone-nosync-delete-source': { imported: 'cpol-clone-nosync-delete-source.yaml' },
  'cpol-clone-nosync-delete-trigger': { refused: [/policy\.yaml:20:11: spec\.rules\[0\]\.match\.any\[0\]\.resources\.kinds: .*a copy made when a ConfigMap appears \(generate triggered by ConfigMap, into "\{\{request\.object\.metadata\.namespace\}\}"\)/] },
  'cpol-clone-nosync-modify-downstream': { imported: 'cpol-clone-nosync-modify-downstream.yaml' },
  'cpol-clone-nosync-modify-source': { imported: 'cpol-clone-nosync-modify-source.yaml' },
  'cpol-clone-nosync-update-trigger-no-match': { refused: [/policy\.yaml:20:11: spec\.rules\[0\]\.match\.any\[0\]\.resources\.kinds: .*a copy made when a ConfigMap appears/] },
  'cpol-clone-sync-create': { imported: 'cpol-clone-sync-create.yaml' },
  'cpol-clone-sync-create-source-after-policy': { imported: 'cpol-clone-sync-create-source-after-policy.yaml' },
  'cpol-clone-sync-delete-downstream': { imported: 'cpol-clone-sync-delete-downstream.yaml' },
  'cpol-clone-sync-delete-policy': { imported: 'cpol-clone-sync-delete-policy.yaml' },
  'cpol-clone-sync-delete-rule': { imported: 'cpol-clone-sync-delete-rule.yaml' },
  'cpol-clone-sync-delete-source': { imported: 'cpol-clone-sync-delete-source.yaml' },
  'cpol-clone-sync-modify-downstream': { imported: 'cpol-clone-sync-modify-downstream.yaml' },
  'cpol-clone-sync-modify-source': { imported: 'cpol-clone-sync-modify-source.yaml' },
  'foreach-cpol-clone-sync-create': { refused: [/2-1-policy\.yaml:16:19: spec\.rules\[0\]\.context\[0\]\.variable\.jmesPath: .*context variable "configmapns" is computed per request/] },
  'foreach-cpol-clone-sync-update-source': { refused: [/2-1-policy\.yaml:16:19: spec\.rules\[0\]\.context\[0\]\.variable\.jmesPath: .*context variable "configmapns" is computed per request/] },
  'mutate-existing-basic-update': { refused: [/policy\.yaml:24:15: spec\.rules\[0\]\.mutate\.targets\[0\]\.kind: .*mutating a Secret \(mutate\.targets kind Secret\)/] },
  'pol-clone-nosync-create': { imported: 'pol-clone-nosync-create.yaml' },
  'pol-clone-sync-create-source-after-policy': { imported: 'pol-clone-sync-create-source-after-policy.yaml' },
  'pol-clone-sync-delete-downstream': { imported: 'pol-clone-sync-delete-downstream.yaml' },
  'pol-clone-sync-delete-policy': { imported: 'pol-clone-sync-delete-policy.yaml' },
  'pol-clone-sync-delete-source': { imported: 'pol-clone-sync-delete-source.yaml' },
  'pol-clone-sync-modify-downstream': { imported: 'pol-clone-sync-modify-downstream.yaml' },
  'pol-clone-sync-modify-source': { imported: 'pol-clone-sync-modify-source.yaml' },
  'policies-block-updates-deletes': { refused: [/block-updates-deletes\.yaml:24:13: spec\.rules\[0\]\.match\.any\[0\]\.resources\.kinds\[0\]: .*kind "Service" cannot be protected by ripple/] },
  'policies-restart-deployment-on-secret-change': { imported: 'policies-restart-deployment-on-secret-change.yaml' },
  'policies-sync-secrets': { imported: 'policies-sync-secrets.yaml' },
  'validate-operations-only-delete': { refused: [/policy\.yaml:13:13: spec\.rules\[0\]\.match\.any\[0\]\.resources\.kinds\[0\]: .*kind "Pod" cannot be protected by ripple/] },
  'validate-operations-only-update': { refused: [/policy\.yaml:13:13: spec\.rules\[0\]\.match\.any\[0\]\.resources\.kinds\[0\]: .*kind "Pod" cannot be protected by ripple/] },
};

const caseFiles = (c: string) =>
  readdirSync(join(ROOT, c))
    .sort()
    .map((f) => join(ROOT, c, f));

const tally = { imported: [] as string[], refused: new Map<string, string[]>() };

describe('the Kyverno conformance corpus through ripple import kyverno', () => {
  it('lists every case of test/fixtures/kyverno (and nothing else)', () => {
    const dirs = readdirSync(ROOT, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(Object.keys(CASES).sort()).toEqual(dirs);
  });

  it.each(Object.entries(CASES))('%s', (name, want) => {
    let result: ReturnType<typeof importKyvernoFiles> | undefined;
    let error: KyvernoImportError | undefined;
    try {
      result = importKyvernoFiles(caseFiles(name));
    } catch (e) {
      if (!(e instanceof KyvernoImportError)) throw e;
      error = e;
    }
    const warnings = result?.warnings ?? error?.warnings ?? [];
    // Whatever else a file holds is reported as such, never as a policy problem.
    for (const w of warnings) expect(w).toMatch(/is not a Kyverno policy, so it is not imported.*: apply it with kubectl$/);
    if ('imported' in want) {
      expect(error?.message, `${name} was refused`).toBeUndefined();
      const file = join(EXPECTED, want.imported);
      expect(result!.policies).toEqual(parsePolicies(readFileSync(file, 'utf8'), file));
      tally.imported.push(name);
    } else {
      expect(result, `${name} was imported`).toBeUndefined();
      const lines = error!.message.split('\n');
      expect(lines).toHaveLength(want.refused.length);
      want.refused.forEach((re, i) => expect(lines[i]).toMatch(re));
      for (const l of lines) expect(l.startsWith(`${ROOT}/${name}/`), l).toBe(true);
      const reasons = [...new Set(lines.map((l) => REASONS.find(([, re]) => re.test(l))?.[0] ?? `other: ${l}`))];
      for (const r of reasons) tally.refused.set(r, [...(tally.refused.get(r) ?? []), name]);
    }
  });

  afterAll(() => {
    const refusedCases = new Set([...tally.refused.values()].flat());
    const lines = [`Kyverno corpus: ${tally.imported.length} imported / ${refusedCases.size} refused (of ${Object.keys(CASES).length})`];
    for (const [reason, cases] of [...tally.refused].sort((a, b) => b[1].length - a[1].length)) lines.push(`  ${String(cases.length).padStart(2)}  ${reason}`);
    console.log(lines.join('\n'));
  });
});
