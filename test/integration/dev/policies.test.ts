/**
 * ripple dev starts from policies/, never from files rendered from other policies: an invalid policy stops it with
 * `ripple validate`'s file:line:column error, and a policy changed since the last render is rendered again before
 * anything is wired. A service directory built from the repository's pieces, with its own policies/ and rendered files.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serviceCopy } from '../../support/service.ts';

const repo = resolve(import.meta.dirname, '../../..');
let dir: string;

function dev(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(repo, 'cli', 'ripple.ts'), 'dev', ...args], { cwd: dir, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 99) : 0, out: stdout + stderr }),
    );
  });
}

beforeEach(() => {
  // Prepare: code linked, everything dev reads or renders copied (a re-render must not write into the repository)
  dir = serviceCopy('ripple-dev-policies-');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ripple dev and policies/', () => {
  it('refuses to start on an invalid policy, naming file:line:column and the field', { timeout: 60_000 }, async () => {
    writeFileSync(
      join(dir, 'policies', 'bad.yaml'),
      'apiVersion: ripple.dev/v1alpha1\nkind: RipplePolicy\nmetadata: { name: bad }\nspec:\n  source: { kind: Secret, namespace: platform, name: x }\n  sync: { namespaces: { selector: { matchLabels: { "bad key!": x } } } }\n',
    );
    const before = readFileSync(join(dir, 'events', 'patterns', 'clone.json'), 'utf8');
    const r = await dev(['--once', '--logs', 'none']);
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(/policies\/bad\.yaml:6:\d+: spec\.sync\.namespaces\.selector\.matchLabels\.bad key!: must be a label key/);
    expect(r.out).not.toContain('ripple is running');
    expect(r.out).not.toMatch(/event bus|cluster +embedded/); // nothing was started
    expect(readFileSync(join(dir, 'events', 'patterns', 'clone.json'), 'utf8')).toBe(before);
  });

  it('renders again when policies/ changed since the last render, and runs on the new files', { timeout: 60_000 }, async () => {
    const file = join(dir, 'policies', 'blogsecret.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('    name: blogsecret', '    name: othersecret'));
    const r = await dev(['--once', '--no-scenario', '--logs', 'none']);
    expect(r.out).toMatch(/policies\/ changed since the last render: re-rendering .*events\/patterns\/clone\.json/);
    expect(readFileSync(join(dir, 'events', 'patterns', 'clone.json'), 'utf8')).toContain('othersecret');
    expect(r.out).toMatch(/audit log .*"othersecret"/);
    // a second start finds everything up to date
    const again = await dev(['--once', '--no-scenario', '--logs', 'none']);
    expect(again.out).not.toContain('re-rendering');
  });
});
