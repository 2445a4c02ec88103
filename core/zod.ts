/**
 * The one zod import: zod's mini build (functional, tree-shakable API) with zod's English messages, exactly
 * the messages the classic build gives. The classic `import { z } from 'zod'` pulls every locale and the whole
 * API into each Lambda bundle (443 KB of 670 KB); the mini build keeps only what the schemas use
 * (docs/adr/0008-zod-mini-in-the-handlers.md).
 */
import { $ZodError, clone, config, globalRegistry, type $ZodType } from 'zod/v4/core';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';

/** Whether `err` is a zod validation error (of this build or the classic one). */
export function isZodError(err: unknown): err is $ZodError {
  return err instanceof $ZodError;
}

/** `schema.describe(text)` of the classic build: a copy of the schema carrying the description (for JSON Schema). */
export function described<T extends $ZodType>(schema: T, description: string): T {
  const copy = clone(schema);
  globalRegistry.add(copy, { description });
  return copy;
}
