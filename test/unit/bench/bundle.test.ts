import { describe, expect, it } from 'vitest';
import type { Metafile } from 'esbuild';
import { dominantInputs, packagingConfig } from '../../../bench/bundle.ts';

describe('bench bundle', () => {
  it('reads the functions and esbuild options the package is built with from serverless.yml', () => {
    const cfg = packagingConfig();
    expect(cfg.functions).toEqual([
      { name: 'clone', entry: 'functions/clone/handler.ts', exportName: 'handler' },
      { name: 'rollout', entry: 'functions/rollout/handler.ts', exportName: 'handler' },
      { name: 'protect', entry: 'functions/protect/handler.ts', exportName: 'handler' },
    ]);
    expect(cfg.esbuild).toMatchObject({ format: 'esm', outputFileExtension: '.mjs', minify: true, exclude: ['@aws-sdk/*'] });
  });

  it('sums the bytes each package contributes to an output, largest first', () => {
    const meta = {
      inputs: {},
      outputs: {
        'out/handler.mjs': {
          bytes: 0,
          imports: [],
          exports: [],
          inputs: {
            'node_modules/@kubernetes/client-node/dist/a.js': { bytesInOutput: 300 },
            'node_modules/@kubernetes/client-node/node_modules/undici/index.js': { bytesInOutput: 200 },
            'node_modules/@kubernetes/client-node/dist/b.js': { bytesInOutput: 100 },
            'node_modules/zod/v4/core.js': { bytesInOutput: 250 },
            'functions/clone/handler.ts': { bytesInOutput: 50 },
          },
        },
      },
    } as unknown as Metafile;
    expect(dominantInputs(meta, 'out/handler.mjs')).toEqual([
      { what: '@kubernetes/client-node', bytes: 400 },
      { what: 'zod', bytes: 250 },
      { what: 'undici', bytes: 200 },
      { what: '(project)', bytes: 50 },
    ]);
    expect(dominantInputs(meta, 'out/other.mjs')).toEqual([]);
  });
});
