// The README's "your own exports" commands, run exactly as written (npx navlake -> this checkout's bin) in a fresh
// directory, as a newcomer would paste them.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAVLAKE } from './helpers/cli.ts';

const exec = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));

/** The `npx navlake` lines of the README's sh blocks after `heading`, without trailing comments. */
function commandsUnder(readme: string, heading: string): string[] {
  const section = readme.slice(readme.indexOf(heading), readme.indexOf('\n## ', readme.indexOf(heading) + heading.length));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => (m[1] ?? '').split('\n'))
    .filter((line) => line.startsWith('npx navlake '))
    .map((line) => line.replace(/\s+#[^'"]*$/, ''));
}

let dir: string;
let commands: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'navlake-readme-'));
  await symlink(FIXTURES, join(dir, 'fixtures'));
  commands = commandsUnder(await readFile(new URL('../README.md', import.meta.url), 'utf8'), '## Your own exports');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the README's commands for your own exports", () => {
  it('are ingest, query and report, in that order', () => {
    expect(commands.map((c) => c.split(' ')[2])).toEqual(['ingest', 'query', 'report']);
  });

  it('run as written: the export is ingested, the query answers month by month, the report is written', async () => {
    const outputs: string[] = [];
    for (const command of commands) {
      const { stdout } = await exec('sh', ['-c', command.replace(/^npx navlake /, `"${process.execPath}" "${NAVLAKE}" `)], {
        cwd: dir,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      outputs.push(stdout);
    }
    const [ingested, queried] = outputs;
    expect(ingested).toMatch(/accepted, 7430 records/);
    // Twelve months of 2019, January first with the national total over all measure groups.
    expect(queried?.match(/^2019-\d\d\s+\d+$/gm)).toHaveLength(12);
    expect((await stat(join(dir, 'lake', 'report.html'))).size).toBeGreaterThan(1000);
  });
});
