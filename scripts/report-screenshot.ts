/**
 * docs/report.png: the report `npm start` writes, built the same way (the 2019 sample through the real handler into a
 * fresh embedded lake) and photographed in headless Chromium. Run: node --import tsx scripts/report-screenshot.ts
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SAMPLE_EXPORT } from '../cli/commands/demo.ts';
import { startLocalLake, uploadAndWait } from '../cli/local-lake.ts';
import { writeReport } from '../cli/report/index.ts';
import { launchChromium, openFile } from './chromium.ts';

const OUT = fileURLToPath(new URL('../docs/report.png', import.meta.url));

const work = await mkdtemp(join(tmpdir(), 'navlake-screenshot-'));
const cwd = process.cwd();
try {
  // The page names its lake as given; from inside the scratch directory that reads `demo-lake`, as after `npm start`.
  process.chdir(work);
  const lakeDir = 'demo-lake';
  const lake = await startLocalLake({ lakeDir, port: 0 });
  try {
    const outcome = await uploadAndWait(lake, SAMPLE_EXPORT, 'nav-tiltak-fylke-2019.txt');
    if (outcome.status !== 'accepted') throw new Error(`the sample was ${outcome.status}`);
  } finally {
    await lake.close();
  }
  const report = await writeReport(lakeDir, join(lakeDir, 'report.html'));
  const browser = await launchChromium();
  try {
    const opened = await openFile(browser, join(work, report.path), { width: 1000, height: 800 });
    const problems = [...opened.consoleErrors, ...opened.pageErrors, ...opened.failedRequests, ...opened.otherRequests];
    if (problems.length > 0) throw new Error(`the report did not load cleanly:\n${problems.join('\n')}`);
    await mkdir(join(OUT, '..'), { recursive: true });
    await opened.page.screenshot({ path: OUT, fullPage: true });
  } finally {
    await browser.close();
  }
  process.stdout.write(`wrote ${OUT} (${Math.round((await stat(OUT)).size / 1024)} KB)\n`);
} finally {
  process.chdir(cwd);
  await rm(work, { recursive: true, force: true });
}
