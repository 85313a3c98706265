// Prints the schema sorted, so schema.graphql diffs show real API changes only.
// `npm run schema:print` writes it; `--check` exits 1 when the committed file drifted.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './index.ts';

export const schemaFile = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'schema.graphql');

export function printSortedSchema(): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const printed = printSortedSchema();
  if (process.argv.includes('--check')) {
    const committed = await readFile(schemaFile, 'utf8').catch(() => '');
    if (committed !== printed) {
      console.error('schema.graphql is out of date: run `npm run codegen`');
      process.exit(1);
    }
  } else {
    await writeFile(schemaFile, printed);
    console.log(`wrote ${path.relative(process.cwd(), schemaFile)}`);
  }
}
