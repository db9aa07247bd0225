import type { Command } from 'commander';
import { schemaMarkdown } from '../../lambdas/schema/columns.ts';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description("print the lake's tables and columns as Markdown (the schema section of docs/data.md)")
    .action(() => {
      process.stdout.write(`${schemaMarkdown()}\n`);
    });
}
