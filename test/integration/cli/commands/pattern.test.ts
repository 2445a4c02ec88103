/** `ripple pattern test` as a user runs it: the real CLI in a child process, exit codes and output. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'ripple-pattern-'));
const file = (name: string, content: string) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

const event = file('event.json', JSON.stringify({ version: '0', id: '1', 'detail-type': 'Kubernetes Object Updated', source: 'ripple.kubernetes', account: '1', time: '2026-11-25T10:00:00Z', region: 'eu-west-1', resources: [], detail: { kind: 'Secret', namespace: 'platform', name: 'blogsecret', changes: ['data'] } }));

function ripple(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['cli/ripple.ts', ...args], { cwd: process.cwd() }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 99) : 0, stdout, stderr });
    });
  });
}

describe('ripple pattern test', () => {
  it('prints match and exits 0', async () => {
    const pattern = file('match.json', JSON.stringify({ source: ['ripple.kubernetes'], detail: { changes: ['data'], namespace: [{ prefix: 'plat' }] } }));
    const r = await ripple('pattern', 'test', '--pattern', pattern, '--event', event);
    expect(r).toMatchObject({ code: 0, stdout: 'match\n' });
  });

  it('prints no match and exits 1', async () => {
    const pattern = file('nomatch.json', JSON.stringify({ detail: { kind: [{ 'anything-but': 'Secret' }] } }));
    const r = await ripple('pattern', 'test', '--pattern', pattern, '--event', event);
    expect(r).toMatchObject({ code: 1, stdout: 'no match\n' });
  });

  it('exits 2 with the reason for an invalid pattern', async () => {
    const pattern = file('invalid.json', JSON.stringify({ detail: { kind: [{ contains: 'Sec' }] } }));
    const r = await ripple('pattern', 'test', '--pattern', pattern, '--event', event);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Event pattern is not valid. Reason: Unrecognized match type contains at detail.kind');
  });

  it('exits 2 for an event that is not JSON', async () => {
    const pattern = file('ok.json', '{"source":["x"]}');
    const r = await ripple('pattern', 'test', '--pattern', pattern, '--event', file('bad-event.json', '{nope'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^event .*bad-event\.json: not valid JSON/);
  });

  it('exits 2 for a missing file', async () => {
    const r = await ripple('pattern', 'test', '--pattern', join(dir, 'missing.json'), '--event', event);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pattern .*missing\.json: cannot read \(ENOENT\)/);
  });
});
