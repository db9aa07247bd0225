// One process per local lake: the lock serve, ingest and demo take, and the demo's refusal to empty a real lake.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLake } from '../../cli/lake-lock.ts';
import { navlake } from '../helpers/cli.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'navlake-lock-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('the lake lock', () => {
  it('refuses a lake another live process holds, and names it', async () => {
    const lake = join(work, 'held');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await acquireLake(lake, 'ingest').then((l) => l.release());
      await writeFile(join(lake, 'lake.lock'), JSON.stringify({ pid: sleeper.pid, command: 'ingest' }));
      await expect(acquireLake(lake, 'serve')).rejects.toThrow(`navlake ingest (pid ${sleeper.pid}) is running on ${lake}`);
    } finally {
      sleeper.kill();
    }
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const lake = join(work, 'stale');
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => gone.on('exit', r));
    await acquireLake(lake, 'ingest').then((l) => l.release());
    await writeFile(join(lake, 'lake.lock'), JSON.stringify({ pid: gone.pid, command: 'serve' }));
    const lock = await acquireLake(lake, 'demo');
    expect(JSON.parse(await readFile(join(lake, 'lake.lock'), 'utf8'))).toEqual({ pid: process.pid, command: 'demo' });
    await lock.release();
  });

  it.each([
    ['empty', ''],
    ['cut short', '{"pid":12'],
    ['not JSON', '\u0000\u0000\u0000'],
    ['without a pid', '{"command":"serve"}'],
    ['naming pid 0', '{"pid":0,"command":"serve"}'],
    ['naming pid -1', '{"pid":-1,"command":"serve"}'],
  ])('takes over a lock file that is %s, as a kill or a full disk leaves it', async (what, content) => {
    const lake = join(work, `corrupt-${what.replace(/\W/g, '-')}`);
    await acquireLake(lake, 'ingest').then((l) => l.release());
    await writeFile(join(lake, 'lake.lock'), content);
    const lock = await acquireLake(lake, 'serve');
    expect(JSON.parse(await readFile(join(lake, 'lake.lock'), 'utf8'))).toEqual({ pid: process.pid, command: 'serve' });
    await lock.release();
  });

  it('announces by replacing the lock whole: a reader never sees it empty or cut', async () => {
    const lake = join(work, 'announce');
    const lock = await acquireLake(lake, 'serve');
    const file = join(lake, 'lake.lock');
    // Another process reads the lock as fast as it can while this one announces over and over.
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs'); let reads = 0, bad = 0;
         process.stdout.write('reading\\n');
         const end = Date.now() + 1500;
         while (Date.now() < end) { reads++; try { JSON.parse(fs.readFileSync(process.argv[1], 'utf8')); } catch { bad++; } }
         process.stdout.write(JSON.stringify({ reads, bad }));`,
        file,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    const reading = new Promise<void>((resolve) =>
      reader.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('reading')) resolve();
      }),
    );
    const done = new Promise((resolve) => reader.on('exit', resolve));
    await reading;
    const until = Date.now() + 1000;
    let announced = 0;
    while (Date.now() < until) await lock.announce(`http://127.0.0.1:${4000 + (announced++ % 1000)}`);
    await done;
    const { reads, bad } = JSON.parse(out.slice(out.indexOf('{'))) as { reads: number; bad: number };
    expect(reads).toBeGreaterThan(100);
    expect(announced).toBeGreaterThan(20);
    expect(bad).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ pid: process.pid, command: 'serve', endpoint: expect.any(String) });
    await lock.release();
    // No temporary file stays behind.
    expect(await readdir(lake)).toEqual([]);
  });

  it('removes temporary lock files of processes that died writing them', async () => {
    const lake = join(work, 'temps');
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => gone.on('exit', r));
    await acquireLake(lake, 'ingest').then((l) => l.release());
    await writeFile(join(lake, `lake.lock.${gone.pid}-0badc0de.tmp`), '{"pid":');
    const lock = await acquireLake(lake, 'ingest');
    expect(await readdir(lake)).toEqual(['lake.lock']);
    await lock.release();
  });
});

describe('navlake demo --lake', () => {
  it('refuses to empty a directory it did not make', async () => {
    const dir = join(work, 'precious');
    await acquireLake(dir, 'ingest').then((l) => l.release());
    await writeFile(join(dir, 'keep-me.txt'), 'important');
    const r = await navlake(['demo', '--lake', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not empty and was not made by navlake demo');
    expect(await readFile(join(dir, 'keep-me.txt'), 'utf8')).toBe('important');
  });
});
