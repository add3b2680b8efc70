/**
 * Parser for the text TFLite's `benchmark_model` prints, in every format it has used:
 * - `Inference timings in us: Init: N, First inference: N, Warmup (avg): N, Inference (avg): N`
 *   and the older `Average inference timings in us: Warmup: N, Init: N, Inference: N` (or `no stats: N`);
 * - statistics lines `count=N first=N curr=N min=N max=N avg=N std=N [p5=N median=N p95=N]` and
 *   `count=N curr=N(all same)`;
 * - `Initialized session in Nms.`, `The input model file size (MB): N`;
 * - memory: `Memory footprint delta from the start of the tool (MB): init=N overall=N`, the older
 *   `Peak memory footprint (MB): init=N overall=N`, and
 *   `Overall peak memory footprint (MB) via periodic monitoring: N`;
 * - op-profiling tables (`Run Order`, `Summary by node type`), tab- or space-separated, node types
 *   with spaces, with or without a `[start]` column;
 * - `Replacing X out of Y node(s) with delegate (NAME) node, yielding Z partitions`.
 * Lines may carry an `INFO: ` prefix or a logcat prefix. Units: timings in microseconds, session
 * init in ms, memory in MB, op tables in ms and KB. Numbers may have decimals or exponents.
 */

export interface StatLine {
  count: number;
  first: number | null;
  curr: number | null;
  min: number | null;
  max: number | null;
  avg: number | null;
  std: number | null;
  p5: number | null;
  median: number | null;
  p95: number | null;
  /** `count=N curr=N(all same)`: every sample had the same value. */
  allSame: boolean;
}

export interface OpRow {
  section: 'run_order' | 'by_type';
  nodeType: string;
  nodeName: string | null;
  /** Nodes of this type (by type) or times called (run order). */
  count: number | null;
  avgMs: number | null;
  pct: number | null;
  memKb: number | null;
}

export interface Delegation {
  delegate: string;
  replaced: number;
  total: number;
  partitions: number | null;
}

export interface ParsedBenchmark {
  initMs: number | null;
  firstInferenceUs: number | null;
  warmupMeanUs: number | null;
  inferenceMeanUs: number | null;
  /** Statistics of the warm-up runs (first stats line when there are several). */
  warmup: StatLine | null;
  /** Statistics of the measured runs (the stats line nearest before the timings summary). */
  runs: StatLine | null;
  modelSizeMb: number | null;
  memory: { initMb: number; overallMb: number; kind: 'delta' | 'peak' } | null;
  /** `Overall peak memory footprint (MB) via periodic monitoring`. */
  peakMemMb: number | null;
  delegations: Delegation[];
  /** Share of nodes replaced by delegates (0..1), over the last delegation report per delegate. */
  delegatedShare: number | null;
  ops: OpRow[];
  /** Error lines as the runner printed them (prefix removed). */
  errors: string[];
}

const NUM = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`;
const num = (s: string | undefined): number | null => {
  if (s === undefined) return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
};

// Logcat "threadtime": `07-14 13:14:52.097 22838 22838 I tflite  : `;
// logcat "time": `07-08 15:33:58.992 I/tflite  ( 5395): `;
// TensorFlow's own logging: `2017-11-27 08:56:35.518009: I tensorflow/.../file.cc:324] `.
const LOGCAT_THREADTIME = /^\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+([VDIWEF])\s+[^:]*?\s*:\s?/;
const LOGCAT_TIME = /^\d\d-\d\d \d\d:\d\d:\d\d\.\d+\s+([VDIWEF])\/[^(]*\(\s*\d+\):\s?/;
const TF_LOG = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) [^\]]*\]\s?/;
const LEVEL = /^(INFO|WARNING|ERROR|VERBOSE|DEBUG|FATAL): ?/;

interface Line {
  text: string;
  error: boolean;
}

/** Remove logcat, TF-logging and level prefixes; remember whether the line was an error. */
export function stripPrefix(raw: string): Line {
  let text = raw.replace(/\r$/, '');
  let error = false;
  const lead = text.match(/^\s*/)?.[0] ?? '';
  const body = text.slice(lead.length);
  let m = LOGCAT_THREADTIME.exec(body) ?? LOGCAT_TIME.exec(body) ?? TF_LOG.exec(body);
  if (m) {
    error = m[1] === 'E' || m[1] === 'F';
    text = body.slice(m[0].length);
  } else {
    // Keep the leading whitespace of table rows that have no prefix; it is harmless.
    text = body;
  }
  m = LEVEL.exec(text);
  if (m) {
    error ||= m[1] === 'ERROR' || m[1] === 'FATAL';
    text = text.slice(m[0].length);
  }
  return { text, error };
}

export function parseStatLine(text: string): StatLine | null {
  const t = text.trim();
  if (!/^count=/.test(t)) return null;
  const field = (k: string) => num(new RegExp(String.raw`(?:^|\s)${k}=(${NUM})`).exec(t)?.[1]);
  const count = field('count');
  if (count === null) return null;
  const allSame = /\(all same\)/.test(t);
  const curr = field('curr');
  const same = allSame || (count <= 1 && curr !== null && field('avg') === null);
  return {
    count,
    first: field('first') ?? (same ? curr : null),
    curr,
    min: field('min') ?? (same ? curr : null),
    max: field('max') ?? (same ? curr : null),
    avg: field('avg') ?? (same ? curr : null),
    std: field('std') ?? (same ? 0 : null),
    p5: field('p5'),
    median: field('median') ?? (same ? curr : null),
    p95: field('p95'),
    allSame,
  };
}

function parseKeyValues(s: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of s.split(',')) {
    const m = new RegExp(String.raw`^\s*([A-Za-z][A-Za-z ()]*?)\s*:\s*(${NUM})\s*$`).exec(part);
    if (m) out[m[1].toLowerCase()] = Number(m[2]);
  }
  return out;
}

interface TableState {
  section: OpRow['section'] | null;
  columns: string[] | null;
}

const NUMERIC_CELL = new RegExp(String.raw`^${NUM}%?$`);

function parseOpRow(text: string, columns: string[], section: OpRow['section']): OpRow | null {
  const hasName = columns[columns.length - 1].toLowerCase() === 'name';
  const numericCols = columns.slice(1, hasName ? -1 : undefined);
  let nodeType: string;
  let cells: string[];
  let name: string | null = null;
  if (text.includes('\t')) {
    const parts = text.split('\t').map((p) => p.trim()).filter((p, i, a) => p !== '' || (i > 0 && i === a.length - 1));
    if (parts.length < 1 + numericCols.length) return null;
    nodeType = parts[0];
    cells = parts.slice(1, 1 + numericCols.length);
    if (hasName) name = parts.slice(1 + numericCols.length).join('\t').trim() || null;
  } else {
    const tokens = text.trim().split(/\s+/);
    const n = numericCols.length;
    let at = -1;
    if (hasName) {
      for (let i = 1; i + n <= tokens.length; i++) {
        if (tokens.slice(i, i + n).every((x) => NUMERIC_CELL.test(x))) {
          at = i;
          break;
        }
      }
    } else if (tokens.length > n && tokens.slice(-n).every((x) => NUMERIC_CELL.test(x))) {
      at = tokens.length - n;
    }
    if (at < 1) return null;
    nodeType = tokens.slice(0, at).join(' ');
    cells = tokens.slice(at, at + n);
    if (hasName) name = tokens.slice(at + n).join(' ') || null;
  }
  if (!cells.every((c) => NUMERIC_CELL.test(c))) return null;
  const col = (...names: string[]) => {
    const i = numericCols.findIndex((c) => names.includes(c.toLowerCase()));
    return i < 0 ? null : num(cells[i].replace(/%$/, ''));
  };
  if (name && /^\[.*\]$/.test(name)) name = name.slice(1, -1);
  return {
    section,
    nodeType,
    nodeName: name,
    count: section === 'by_type' ? col('count') : col('times called'),
    avgMs: col('avg ms'),
    pct: col('%', 'avg %'),
    memKb: col('mem kb'),
  };
}

/** Parse everything `benchmark_model` printed (stdout and stderr together). */
export function parseBenchmarkOutput(output: string): ParsedBenchmark {
  const r: ParsedBenchmark = {
    initMs: null,
    firstInferenceUs: null,
    warmupMeanUs: null,
    inferenceMeanUs: null,
    warmup: null,
    runs: null,
    modelSizeMb: null,
    memory: null,
    peakMemMb: null,
    delegations: [],
    delegatedShare: null,
    ops: [],
    errors: [],
  };
  const stats: StatLine[] = [];
  let runsFromSummary: StatLine | null = null;
  let sessionInitMs: number | null = null;
  let timingsInitUs: number | null = null;
  const table: TableState = { section: null, columns: null };
  // Op tables printed for the initialization phase (newer tools) are not the model's ops.
  let inInitProfile = false;

  for (const raw of output.split('\n')) {
    const { text, error } = stripPrefix(raw);
    const t = text.trim();

    // Op-profiling tables.
    if (/Profiling Info for Benchmark Initialization/i.test(t)) inInitProfile = true;
    if (/Operator-wise Profiling Info for Regular Benchmark Runs/i.test(t)) inInitProfile = false;
    const sec = /^=+\s*(.+?)\s*=+$/.exec(t);
    if (sec) {
      const title = sec[1].toLowerCase();
      table.section = title === 'run order' ? 'run_order' : title === 'summary by node type' ? 'by_type' : null;
      table.columns = null;
      continue;
    }
    if (table.section && !table.columns && /^\[node type\]/i.test(t)) {
      table.columns = [...t.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1].trim());
      continue;
    }
    if (table.section && table.columns) {
      if (t === '') {
        table.section = null;
        table.columns = null;
        continue;
      }
      const row = parseOpRow(text, table.columns, table.section);
      if (row) {
        if (!inInitProfile) r.ops.push(row);
        continue;
      }
      table.section = null;
      table.columns = null;
    }

    if (error && t) r.errors.push(t);

    const stat = parseStatLine(t);
    if (stat) {
      stats.push(stat);
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = new RegExp(String.raw`^Inference timings in us: (.*)$`).exec(t))) {
      const kv = parseKeyValues(m[1]);
      timingsInitUs = kv['init'] ?? null;
      r.firstInferenceUs = kv['first inference'] ?? null;
      r.warmupMeanUs = kv['warmup (avg)'] ?? null;
      r.inferenceMeanUs = kv['inference (avg)'] ?? null;
      runsFromSummary = stats[stats.length - 1] ?? null;
    } else if ((m = /^Average inference timings in us: (.*)$/.exec(t))) {
      const kv = parseKeyValues(m[1]);
      timingsInitUs = kv['init'] ?? null;
      r.warmupMeanUs = kv['warmup'] ?? null;
      r.inferenceMeanUs = kv['inference'] ?? kv['no stats'] ?? null;
      runsFromSummary = stats[stats.length - 1] ?? null;
    } else if ((m = new RegExp(String.raw`^Initialized session in (${NUM})\s*ms`).exec(t))) {
      sessionInitMs = num(m[1]);
    } else if ((m = new RegExp(String.raw`^The input model file size \(MB\): (${NUM})`).exec(t))) {
      r.modelSizeMb = num(m[1]);
    } else if ((m = new RegExp(String.raw`^Memory footprint delta from the start of the tool \(MB\): init=(${NUM}) overall=(${NUM})`).exec(t))) {
      r.memory = { initMb: Number(m[1]), overallMb: Number(m[2]), kind: 'delta' };
    } else if ((m = new RegExp(String.raw`^Peak memory footprint \(MB\): init=(${NUM}) overall=(${NUM})`).exec(t))) {
      r.memory = { initMb: Number(m[1]), overallMb: Number(m[2]), kind: 'peak' };
    } else if ((m = new RegExp(String.raw`^Overall peak memory footprint \(MB\) via periodic monitoring: (${NUM})`).exec(t))) {
      r.peakMemMb = num(m[1]);
    } else if ((m = /Replacing (\d+) out of (\d+) node\(s\) with delegate \(([^)]+)\) node(?:, yielding (\d+) partitions)?/.exec(t))) {
      r.delegations.push({ delegate: m[3], replaced: Number(m[1]), total: Number(m[2]), partitions: m[4] ? Number(m[4]) : null });
    }
  }

  r.initMs = sessionInitMs ?? (timingsInitUs !== null ? timingsInitUs / 1000 : null);
  r.runs = runsFromSummary ?? (stats.length ? stats[stats.length - 1] : null);
  r.warmup = stats.length > 1 && stats[0] !== r.runs ? stats[0] : null;
  if (r.inferenceMeanUs === null && r.runs?.avg != null) r.inferenceMeanUs = r.runs.avg;
  if (r.delegations.length) {
    // One report per (delegate, subgraph); the primary subgraph's total is the model's node count.
    const last = new Map<string, Delegation>();
    for (const d of r.delegations) last.set(d.delegate, d);
    const replaced = [...last.values()].reduce((s, d) => s + d.replaced, 0);
    const total = Math.max(...[...last.values()].map((d) => d.total));
    r.delegatedShare = total > 0 ? Math.min(1, replaced / total) : null;
  }
  return r;
}

/** The runner's own words for a failure: its error lines, else the last non-empty lines. */
export function runnerErrorMessage(output: string, maxLines = 3): string {
  const parsed = parseBenchmarkOutput(output);
  if (parsed.errors.length) return parsed.errors.slice(-maxLines).join(' ');
  const lines = output
    .split('\n')
    .map((l) => stripPrefix(l).text.trim())
    .filter(Boolean);
  return lines.slice(-maxLines).join(' ') || 'it printed nothing';
}
