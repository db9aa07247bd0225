// One process per local lake: the lock serve, ingest and demo take, and the demo's refusal to empty a real lake.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
