// Parses one file in a process of its own and reports its peak resident memory, so the figure is the parser's alone.
import { readFileSync } from 'node:fs';
import { parseFileStream } from '../../lambdas/parser/index.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: parse-memory.ts FILE');
let records = 0;
const started = performance.now();
// Generated exports past ~5 MB repeat their years (the parser accepts 1990-2100 only), so repeats are allowed here.
const summary = await parseFileStream(
  file,
  (batch) => {
    records += batch.length;
  },
  { repeatedSections: 'allow' },
);
const seconds = (performance.now() - started) / 1000;
/**
 * Peak resident memory of this process's own address space. getrusage's maxRSS is not used: on Linux it carries over
 * the parent's RSS at fork time across exec, so a child of a large benchmark process would report the parent's size.
 */
function peakRssMb(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m?.[1]) return Number(m[1]) / 1024;
  } catch {
    // Not Linux: fall back to getrusage, which is right when the parent is small.
  }
  return process.resourceUsage().maxRSS / 1024;
}

process.stdout.write(
  `${JSON.stringify({ records, sections: summary.sections, warnings: summary.warnings.length, seconds, peak_rss_mb: peakRssMb() })}\n`,
);
