// schema.graphql and the generated client must follow the code: CI fails on drift.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import { printSortedSchema, schemaFile } from '../schema/print.ts';

const root = path.resolve(import.meta.dirname, '..');

describe('generated artefacts', () => {
  it('schema.graphql matches the schema built from the code', async () => {
    const committed = await readFile(schemaFile, 'utf8');
    expect(committed, 'schema.graphql is stale: run `npm run codegen`').toBe(printSortedSchema());
  });

  it('client/generated matches what codegen writes from schema.graphql', async () => {
    const { default: config } = await import('../codegen.ts');
    const outputs = (await generate({ ...config, cwd: root, silent: true }, false)) as { filename: string; content: string }[];
    expect(outputs.length).toBeGreaterThan(0);
    for (const output of outputs) {
      const committed = await readFile(path.resolve(root, output.filename), 'utf8');
      expect(committed, `${output.filename} is stale: run \`npm run codegen\``).toBe(output.content);
    }
  });
});
