/**
 * Parts of the service that do not exist are reported by name with what will not happen, and the scenario says
 * which steps did not converge — nothing is imitated. A service directory built from the repository's pieces minus
 * two of the handlers serverless.yml names (the service's parts; the embedded cluster and the forwarder are
 * ripple's own, imported by the runner, so they are always there — and no copy of forwarder/ is needed here).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'ripple-dev-missing-'));
for (const p of ['infra', 'policies', 'events', 'node_modules', 'package.json']) symlinkSync(join(repo, p), join(dir, p));
mkdirSync(join(dir, 'functions'));
// clone is there (its imports resolve into the repository: Node follows the symlink); rollout and protect are not.
symlinkSync(join(repo, 'functions', 'clone'), join(dir, 'functions', 'clone'));
writeFileSync(join(dir, 'serverless.yml'), readFileSync(join(repo, 'serverless.yml'), 'utf8'));

describe('ripple dev with parts missing', () => {
  it('names each missing part and what will not happen, and exits 1 with the steps that did not converge', { timeout: 120_000 }, async () => {
    const r = await new Promise<{ code: number; out: string }>((done) => {
      execFile(process.execPath, [join(repo, 'cli', 'ripple.ts'), 'dev', '--once', '--logs', 'none', '--step-timeout', '1'], { cwd: dir, timeout: 110_000 }, (err, stdout, stderr) =>
        done({ code: err ? ((err as { code?: number }).code ?? 99) : 0, out: stdout + stderr }),
      );
    });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('functions/rollout/handler.ts not found: rollouts will not happen');
    expect(r.out).toContain('functions/protect/handler.ts not found: changes to protected bases will not be reverted or reported');
    expect(r.out).not.toContain('forwarder/index.ts not found');
    expect(r.out).toMatch(/✓ copy team-b\/blogsecret deleted -> re-created/); // clone and the forwarder are there
    expect(r.out).toContain('queue ripple-dev-rollout: not consumed (rollout is missing)');
    expect(r.out).toMatch(/✗ Deployment team-a\/blog rolled out: did not converge within 1s/);
    expect(r.out).toMatch(/steps did not converge/);
  });
});
