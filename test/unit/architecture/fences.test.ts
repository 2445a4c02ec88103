/**
 * The import fences in eslint.config.js (rule `ripple/layers`, docs/adr/0005-layout.md), linted through the ESLint
 * Node API with the repository's own config: a fenced import fails lint, the same import from an allowed place
 * passes.
 */
import { ESLint } from 'eslint';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../../..');
const eslint = new ESLint({ cwd: repo });

async function fenceErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(repo, file) });
  return result!.messages.filter((m) => m.ruleId === 'ripple/layers').map((m) => m.message);
}

describe('import fences', () => {
  it.each([
    ['functions/clone/fixture.ts', "import { x } from '../rollout/plan.ts';\nexport const y = x;\n", /functions\/clone\/fixture.ts must not import functions\/rollout\/plan.ts/],
    ['functions/rollout/fixture.ts', "export { planClone } from '../clone/plan.ts';\n", /must not import functions\/clone\/plan.ts/],
    ['core/fixture.ts', "import { httpRawApi } from '../kube/http.ts';\nexport const c = httpRawApi;\n", /core\/fixture.ts must not import kube\/http.ts/],
    ['kube/fixture.ts', "export const load = () => import('../render/index.ts');\n", /must not import render\/index.ts/],
    ['forwarder/fixture.ts', "import { startCluster } from '../infra/local/cluster/index.ts';\nexport const s = startCluster;\n", /must not import infra\/local\/cluster\/index.ts/],
    ['functions/protect/fixture.ts', "import { register } from '../../cli/commands/render.ts';\nexport const r = register;\n", /must not import cli\/commands\/render.ts/],
    ['events/fixture.ts', "export * from '../render/patterns.ts';\n", /must not import render\/patterns.ts/],
  ])('%s: a fenced import fails lint', async (file, code, message) => {
    const errors = await fenceErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it.each([
    ['cli/fixture.ts', "import { renderFiles } from '../render/index.ts';\nexport const r = renderFiles;\n"],
    ['infra/local/dev/fixture.ts', "import { startForwarder } from '../../../forwarder/index.ts';\nexport const s = startForwarder;\n"],
    ['functions/clone/fixture.ts', "import { HANDLERS } from '../../core/constants.ts';\nexport const h = HANDLERS;\n"],
    ['kube/fixture.ts', "import { RippleError } from '../core/errors.ts';\nexport const e = RippleError;\n"],
  ])('%s: an allowed import passes', async (file, code) => {
    expect(await fenceErrors(file, code)).toEqual([]);
  });
});
