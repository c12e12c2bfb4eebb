/**
 * The report's chart, as hand-written SVG: for the mostly-allowed workload, checks per second at
 * 64 in flight (left) and the Redis cost per check (right: commandstats µs and process CPU µs).
 */
import type { BenchResult } from './bench';

const WIDTH = 1000;
const LABEL_WIDTH = 275;
const PANEL_GAP = 40;
const PANEL_WIDTH = (WIDTH - LABEL_WIDTH - PANEL_GAP - 20) / 2;
const ROW_HEIGHT = 36;
const TOP = 70;
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

const OURS = '#1f6feb';
const OURS_LIGHT = '#9cc2ff';
const OTHER = '#6e7781';
const OTHER_LIGHT = '#c4cad1';

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A round axis a little above `value` (room for the value labels), and its tick count. */
export function niceAxis(value: number): { max: number; ticks: number } {
  if (!(value > 0) || !Number.isFinite(value)) return { max: 1, ticks: 5 };
  const target = value * 1.08;
  const power = 10 ** Math.floor(Math.log10(target));
  const steps = [
    [1, 5],
    [1.5, 3],
    [2, 4],
    [2.5, 5],
    [3, 3],
    [4, 4],
    [5, 5],
    [6, 3],
    [8, 4],
    [10, 5],
  ] as const;
  for (const [step, ticks] of steps) {
    if (step * power >= target) return { max: step * power, ticks };
  }
  return { max: 10 * power, ticks: 5 };
}

function format(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function renderChart(result: BenchResult): string {
  const rows = result.results.filter((r) => r.workload === 'allowed');
  const height = TOP + rows.length * ROW_HEIGHT + 70;
  const throughput = niceAxis(Math.max(...rows.map((r) => r.median.checksPerSecond64).filter(Number.isFinite), 1));
  const cost = niceAxis(Math.max(...rows.flatMap((r) => [r.median.scriptUsecPerCheck, r.median.cpuUsPerCheck]).filter(Number.isFinite), 1));
  const throughputMax = throughput.max;
  const costMax = cost.max;
  const leftX = LABEL_WIDTH;
  const rightX = LABEL_WIDTH + PANEL_WIDTH + PANEL_GAP;
  const scale = (value: number, max: number): number => (Number.isFinite(value) && value > 0 ? (value / max) * PANEL_WIDTH : 0);
  const parts: string[] = [];
  const add = (svg: string): void => void parts.push(svg);

  add(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="title desc">`,
  );
  add(`<title id="title">Rate limiters on one Redis: throughput and Redis cost per check</title>`);
  add(
    `<desc id="desc">Mostly-allowed workload, ${escapeXml(result.machine.cpuModel)}, ${result.machine.cores} cores, Redis ${escapeXml(result.machine.redisVersion)}; medians of ${result.options.repetitions} repetitions.</desc>`,
  );
  add(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  add(`<g ${FONT} fill="#1f2328">`);
  add(
    `<text x="10" y="24" font-size="16" font-weight="600">Mostly-allowed workload, one Redis ${escapeXml(result.machine.redisVersion)}, medians of ${result.options.repetitions} runs</text>`,
  );
  add(`<text x="${leftX}" y="52" font-size="13" font-weight="600">checks/s at 64 in flight (higher is better)</text>`);
  add(`<text x="${rightX}" y="52" font-size="13" font-weight="600">Redis µs per check (lower is better)</text>`);

  // Grid lines and axis labels.
  for (const [x0, axis, digits] of [
    [leftX, throughput, 0],
    [rightX, cost, cost.max < 10 ? 1 : 0],
  ] as const) {
    for (let i = 0; i <= axis.ticks; i++) {
      const x = x0 + (PANEL_WIDTH * i) / axis.ticks;
      const y1 = TOP - 6;
      const y2 = TOP + rows.length * ROW_HEIGHT;
      add(`<line x1="${x.toFixed(1)}" y1="${y1}" x2="${x.toFixed(1)}" y2="${y2}" stroke="#d0d7de" stroke-width="1"/>`);
      add(
        `<text x="${x.toFixed(1)}" y="${y2 + 16}" font-size="11" text-anchor="middle" fill="#57606a">${format((axis.max * i) / axis.ticks, digits)}</text>`,
      );
    }
  }

  rows.forEach((row, index) => {
    const y = TOP + index * ROW_HEIGHT;
    const ours = row.id.startsWith('ours');
    const m = row.median;
    add(
      `<text x="${LABEL_WIDTH - 10}" y="${y + 22}" font-size="12" text-anchor="end"${ours ? ' font-weight="600"' : ''}>${escapeXml(row.shortLabel)}</text>`,
    );
    const w1 = scale(m.checksPerSecond64, throughputMax);
    add(`<rect x="${leftX}" y="${y + 8}" width="${w1.toFixed(1)}" height="20" fill="${ours ? OURS : OTHER}"/>`);
    add(`<text x="${(leftX + w1 + 4).toFixed(1)}" y="${y + 22}" font-size="11">${format(m.checksPerSecond64)}</text>`);
    const w2 = scale(m.scriptUsecPerCheck, costMax);
    const w3 = scale(m.cpuUsPerCheck, costMax);
    add(`<rect x="${rightX}" y="${y + 5}" width="${w2.toFixed(1)}" height="12" fill="${ours ? OURS : OTHER}"/>`);
    add(`<text x="${(rightX + w2 + 4).toFixed(1)}" y="${y + 15}" font-size="10">${format(m.scriptUsecPerCheck, 1)}</text>`);
    add(`<rect x="${rightX}" y="${y + 19}" width="${w3.toFixed(1)}" height="12" fill="${ours ? OURS_LIGHT : OTHER_LIGHT}"/>`);
    add(`<text x="${(rightX + w3 + 4).toFixed(1)}" y="${y + 29}" font-size="10">${format(m.cpuUsPerCheck, 1)}</text>`);
  });

  const legendY = TOP + rows.length * ROW_HEIGHT + 40;
  add(`<rect x="${rightX}" y="${legendY - 10}" width="12" height="12" fill="${OTHER}"/>`);
  add(`<text x="${rightX + 18}" y="${legendY}" font-size="11">commandstats (script execution)</text>`);
  add(`<rect x="${rightX}" y="${legendY + 6}" width="12" height="12" fill="${OTHER_LIGHT}"/>`);
  add(`<text x="${rightX + 18}" y="${legendY + 16}" font-size="11">process CPU (INFO cpu, sockets included)</text>`);
  add(`<rect x="10" y="${legendY - 10}" width="12" height="12" fill="${OURS}"/>`);
  add(`<text x="28" y="${legendY}" font-size="11">this project</text>`);
  add(`<rect x="10" y="${legendY + 6}" width="12" height="12" fill="${OTHER}"/>`);
  add(`<text x="28" y="${legendY + 16}" font-size="11">other limiters and the EVALSHA floor</text>`);
  add('</g>');
  add('</svg>');
  return parts.join('\n') + '\n';
}
