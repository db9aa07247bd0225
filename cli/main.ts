import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isParseError } from '../lambdas/parser/index.ts';
import { registerParse } from './commands/parse.ts';
import { registerQuery } from './commands/query.ts';
import { registerIngest } from './commands/ingest.ts';
import { registerServe } from './commands/serve.ts';
import { registerDemo } from './commands/demo.ts';
import { registerSchema } from './commands/schema.ts';
import { registerCheck } from './commands/check.ts';
import { registerReport } from './commands/report.ts';
import { CliError } from './errors.ts';
import { packagePath } from './package-root.ts';

const program = new Command('navlake')
  .description('NAV monthly statistics exports to an SQL-ready data lake')
  .version(packageVersion(), '-V, --version', 'print the navlake version')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

registerParse(program);
registerQuery(program);
registerIngest(program);
registerServe(program);
registerDemo(program);
registerSchema(program);
registerCheck(program);
registerReport(program);

// A closed pipe (`navlake parse x | head`) is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

// Not a top-level await: the compiled CLI is a CommonJS bundle (bin/code-cache.mjs says why).
program.parseAsync(process.argv).catch((e: unknown) => {
  process.exitCode = exitCodeFor(e);
});

function exitCodeFor(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  if (isParseError(e)) {
    process.stderr.write(`navlake: ${e.file}:${e.line}: ${e.code}: ${e.detail}${e.column ? ` (column ${e.column})` : ''}\n`);
    return 2;
  }
  if (e instanceof CliError) {
    process.stderr.write(`navlake: ${e.message}\n`);
    return e.exitCode;
  }
  process.stderr.write(`navlake: ${e instanceof Error ? e.message : String(e)}\n`);
  if (process.env.NAVLAKE_DEBUG) console.error(e);
  return 1;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}
