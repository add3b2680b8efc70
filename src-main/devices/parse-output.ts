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
 * - `Replacing X out of Y node(s) with delegate (NAME) node, yielding Z partitions`, the benchmark's
 *   `Explicitly applied GPU delegate, and the model graph will be completely|partially executed…`,
 *   `Though NNAPI delegate is explicitly applied, the model graph will not be executed by the delegate.`,
 *   the GPU delegate's `Following operations are not supported by GPU delegate:` list and its
 *   `N operations will run on the GPU, and the remaining M …` / `No operations will run on the GPU…`;
 * - the op profiler's `Timings (microseconds): count=N …` (TF 1.x stat_summarizer and tflite's profiler);
 * - `Memory status at the end of exeution:` with `- VmRSS : N MB` (the tool's spelling).
 * One output may hold several benchmarks (each opens with `STARTING!`): the last one is read, and
 * every statistic of the measured runs comes from one line (the last stat line before the summary);
 * `problems` lists what contradicts itself (min > mean, …), so the caller refuses to store it.
 * Lines may carry an `INFO: ` prefix or a logcat prefix. Units: timings in microseconds, session
 * init in ms, memory in the tool's "MB", which is MiB (2^20 bytes: tflite's memory_info divides KiB
 * by 1024), op tables in ms and KB. Numbers may have decimals or exponents.
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

export type DelegateKind = 'gpu' | 'nnapi' | 'xnnpack' | 'hexagon' | 'other';

/** What a delegate the output names did with the graph. */
export interface DelegateOutcome {
  kind: DelegateKind;
  /** `full`: the whole graph; `partial`: some nodes; `none`: nothing delegated; null: not said. */
  applied: 'full' | 'partial' | 'none' | null;
  /** Share of the model's nodes this delegate replaced (0..1), when the output gives counts. */
  share: number | null;
  /** Operators the delegate refused, as `OP: reason` (GPU delegate). */
  unsupported: string[];
  /** The tool's own words about the outcome. */
  note: string | null;
}

export interface MemoryStatus {
  /** `- VmRSS : N MB` at the end of execution (MiB, whole numbers). */
  vmRssMb: number | null;
  rssAnonMb: number | null;
  rssFileShmemMb: number | null;
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
  /** Where `runs` came from: the benchmark's own stat line, or the op profiler's `Timings` line. */
  runsSource: 'benchmark' | 'profiler' | null;
  /** Delegates the tool was asked to use (`Use gpu: [1]`, `Use NNAPI: [1]`…). */
  requested: DelegateKind[];
  /** What each delegate did, by kind. */
  delegates: DelegateOutcome[];
  /** `Memory status at the end of exeution` (VmRSS and its parts). */
  memoryStatus: MemoryStatus | null;
  /** Self-contradictions in the numbers (min > mean…): such a result must not be stored as measured. */
  problems: string[];
  /** Things read but set aside (a stat line that did not match the summary…). */
  warnings: string[];
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

export function delegateKind(name: string): DelegateKind {
  const n = name.toLowerCase();
  if (n.includes('gpu')) return 'gpu';
  if (n.includes('nnapi')) return 'nnapi';
  if (n.includes('xnnpack')) return 'xnnpack';
  if (n.includes('hexagon')) return 'hexagon';
  return 'other';
}

/** Every statistic of one line must agree with itself; returns what does not. */
export function statProblems(s: StatLine, what: string): string[] {
  const out: string[] = [];
  const le = (a: number | null, b: number | null, an: string, bn: string) => {
    if (a !== null && b !== null && a > b) out.push(`${what}: ${an} ${a} > ${bn} ${b}`);
  };
  if (!(s.count >= 1) || !Number.isInteger(s.count)) out.push(`${what}: count ${s.count} is not a whole number of runs`);
  le(s.min, s.avg, 'min', 'mean');
  le(s.avg, s.max, 'mean', 'max');
  le(s.min, s.median, 'min', 'median');
  le(s.median, s.max, 'median', 'max');
  le(s.p5, s.median, 'p5', 'median');
  le(s.median, s.p95, 'median', 'p95');
  le(s.min, s.first, 'min', 'first');
  le(s.first, s.max, 'first', 'max');
  if (s.std !== null && s.std < 0) out.push(`${what}: std ${s.std} < 0`);
  return out;
}

const agree = (a: number, b: number) => Math.abs(a - b) <= Math.max(0.5, 1e-3 * Math.max(Math.abs(a), Math.abs(b)));

interface Segment {
  /** Stat lines of the benchmark proper, with the phase announced before each (warmup / runs / null). */
  stats: { stat: StatLine; phase: 'warmup' | 'runs' | null }[];
  profiler: StatLine | null;
  /** Index into stats of the line nearest before the (last) summary. */
  summaryAt: number | null;
  summary: { initUs: number | null; first: number | null; warmup: number | null; mean: number | null } | null;
}

const newSegment = (): Segment => ({ stats: [], profiler: null, summaryAt: null, summary: null });

/** Parse everything `benchmark_model` printed (stdout and stderr together). */
export function parseBenchmarkOutput(output: string): ParsedBenchmark {
  const r: ParsedBenchmark = {
    initMs: null,
    firstInferenceUs: null,
    warmupMeanUs: null,
    inferenceMeanUs: null,
    warmup: null,
    runs: null,
    runsSource: null,
    modelSizeMb: null,
    memory: null,
    peakMemMb: null,
    memoryStatus: null,
    delegations: [],
    delegatedShare: null,
    requested: [],
    delegates: [],
    ops: [],
    errors: [],
    problems: [],
    warnings: [],
  };
  let seg = newSegment();
  let sessionInitMs: number | null = null;
  let runningSeen = 0;
  const table: TableState = { section: null, columns: null };
  // Op tables printed for the initialization phase (newer tools) are not the model's ops.
  let inInitProfile = false;
  let inUnsupported: DelegateOutcome | null = null;
  let inMemStatus = false;
  const outcome = (kind: DelegateKind): DelegateOutcome => {
    let o = r.delegates.find((d) => d.kind === kind);
    if (!o) r.delegates.push((o = { kind, applied: null, share: null, unsupported: [], note: null }));
    return o;
  };

  for (const raw of output.split('\n')) {
    const { text, error } = stripPrefix(raw);
    const t = text.trim();

    // A new benchmark in the same output: the last one is the result.
    if (t === 'STARTING!' && (seg.stats.length || seg.summary)) {
      seg = newSegment();
      sessionInitMs = null;
      runningSeen = 0;
      r.ops = [];
      inInitProfile = false;
    }

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
    if (!table.columns && /^\[node type\]/i.test(t)) {
      const columns = [...t.matchAll(/\[([^\]]+)\]/g)].map((m) => m[1].trim());
      // Tables without a "=== … ===" title (newer tools): the columns say which one it is.
      table.section ??= columns.some((c) => c.toLowerCase() === 'count') ? 'by_type' : 'run_order';
      table.columns = columns;
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

    // The GPU delegate's list of refused operators, closed by its "… will run on the GPU" line.
    let m: RegExpExecArray | null;
    if ((m = /^(?:Next|Following) operations are not supported by (\w+) delegate:?\s*(.*)$/.exec(t))) {
      inUnsupported = outcome(delegateKind(m[1]));
      if (m[2]) inUnsupported.unsupported.push(m[2]);
      continue;
    }
    if ((m = /^(?:First )?(\d+|No) operations will run on the (\w+), and (?:the remaining|all) (\d+)(?: operations)? (?:will run )?on the CPU\.?/.exec(t))) {
      const o = outcome(delegateKind(m[2]));
      const on = m[1] === 'No' ? 0 : Number(m[1]);
      const rest = Number(m[3]);
      o.share = on + rest > 0 ? on / (on + rest) : null;
      o.applied = on === 0 ? 'none' : rest === 0 ? 'full' : 'partial';
      o.note = t;
      inUnsupported = null;
      continue;
    }
    if (inUnsupported) {
      if (/^[A-Z][A-Z0-9_]*: /.test(t)) {
        inUnsupported.unsupported.push(t);
        continue;
      }
      inUnsupported = null;
    }

    // "Memory status at the end of exeution:" (sic) and its indented lines.
    if (/^Memory status at the end of exe[c]?ution:?/.test(t)) {
      inMemStatus = true;
      r.memoryStatus = { vmRssMb: null, rssAnonMb: null, rssFileShmemMb: null };
      continue;
    }
    if (inMemStatus && r.memoryStatus) {
      const mm = new RegExp(String.raw`^[-+]\s*(.+?)\s*:\s*(${NUM})\s*MB`).exec(t);
      if (mm) {
        const key = mm[1].replace(/\s+/g, ' ');
        if (key === 'VmRSS') r.memoryStatus.vmRssMb = Number(mm[2]);
        else if (/^RssAn+on$/.test(key)) r.memoryStatus.rssAnonMb = Number(mm[2]);
        else if (key === 'RssFile + RssShmem') r.memoryStatus.rssFileShmemMb = Number(mm[2]);
        continue;
      }
      inMemStatus = false;
    }

    if (error && t) r.errors.push(t);

    if ((m = /^Timings \(microseconds\):\s*(count=.*)$/.exec(t))) {
      // The op profiler's total per run; the initialization profile's one is not a run.
      const stat = parseStatLine(m[1]);
      if (stat && !inInitProfile) seg.profiler = stat;
      continue;
    }
    const stat = parseStatLine(t);
    if (stat) {
      const phase = runningSeen === 1 ? 'warmup' : runningSeen >= 2 ? 'runs' : null;
      seg.stats.push({ stat, phase });
      continue;
    }
    if (/^Running benchmark for at least/.test(t)) {
      runningSeen++;
      continue;
    }
    if ((m = /^(?:Use (gpu|nnapi|xnnpack|hexagon)\s*:\s*\[(1|true)\])/i.exec(t))) {
      const k = delegateKind(m[1]);
      if (!r.requested.includes(k)) r.requested.push(k);
    } else if ((m = /^Inference timings in us: (.*)$/.exec(t))) {
      const kv = parseKeyValues(m[1]);
      seg.summary = { initUs: kv['init'] ?? null, first: kv['first inference'] ?? null, warmup: kv['warmup (avg)'] ?? null, mean: kv['inference (avg)'] ?? null };
      seg.summaryAt = seg.stats.length ? seg.stats.length - 1 : null;
    } else if ((m = /^Average inference timings in us: (.*)$/.exec(t))) {
      const kv = parseKeyValues(m[1]);
      seg.summary = { initUs: kv['init'] ?? null, first: null, warmup: kv['warmup'] ?? null, mean: kv['inference'] ?? kv['no stats'] ?? null };
      seg.summaryAt = seg.stats.length ? seg.stats.length - 1 : null;
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
    } else if ((m = /^Explicitly applied (\w+) delegate, and the model graph will be (completely|partially) executed by the delegate/.exec(t))) {
      const o = outcome(delegateKind(m[1]));
      o.applied = m[2] === 'completely' ? 'full' : 'partial';
      if (o.applied === 'full') o.share = 1;
      o.note = t;
    } else if ((m = /^Though (\w+) delegate is explicitly applied, the model graph will not be executed by the delegate/.exec(t))) {
      const o = outcome(delegateKind(m[1]));
      o.applied = 'none';
      o.share = 0;
      o.note = t;
    } else if ((m = /^Created (\d+) GPU delegate kernels/.exec(t))) {
      const o = outcome('gpu');
      if (Number(m[1]) === 0 && o.applied === null) {
        o.applied = 'none';
        o.share = 0;
        o.note = t;
      }
    }
  }

  // One summary, one stat line: every statistic of the measured runs comes from the same benchmark.
  const { stats, summary } = seg;
  const runsIdx = (() => {
    const explicit = stats.map((s, i) => (s.phase === 'runs' ? i : -1)).filter((i) => i >= 0);
    if (explicit.length) return explicit[explicit.length - 1];
    if (seg.summaryAt !== null) return seg.summaryAt;
    return stats.length ? stats.length - 1 : null;
  })();
  let runs = runsIdx !== null ? stats[runsIdx].stat : null;
  let runsSource: ParsedBenchmark['runsSource'] = runs ? 'benchmark' : null;
  const warmIdx = stats.findIndex((s) => s.phase === 'warmup');
  r.warmup = warmIdx >= 0 && warmIdx !== runsIdx ? stats[warmIdx].stat : runsIdx !== null && runsIdx > 0 ? stats[0].stat : null;
  if (!runs && seg.profiler) {
    runs = seg.profiler;
    runsSource = 'profiler';
  }
  if (summary) {
    r.firstInferenceUs = summary.first;
    r.warmupMeanUs = summary.warmup;
    r.inferenceMeanUs = summary.mean;
    if (runs && runs.avg !== null && summary.mean !== null && !agree(runs.avg, summary.mean)) {
      r.warnings.push(`the ${runsSource === 'profiler' ? 'profiler\'s Timings' : 'statistics'} line (mean ${runs.avg} us) does not belong to the summary (mean ${summary.mean} us); its figures were set aside`);
      runs = null;
      runsSource = null;
    }
    if (r.warmup && r.warmup.avg !== null && summary.warmup !== null && !agree(r.warmup.avg, summary.warmup)) {
      r.warnings.push(`the warm-up statistics line (mean ${r.warmup.avg} us) does not match the summary's warm-up mean (${summary.warmup} us); it was set aside`);
      r.warmup = null;
    }
  }
  r.runs = runs;
  r.runsSource = runsSource;
  r.initMs = sessionInitMs ?? (summary?.initUs != null ? summary.initUs / 1000 : null);
  if (r.inferenceMeanUs === null && r.runs?.avg != null) r.inferenceMeanUs = r.runs.avg;
  if (r.runs) r.problems.push(...statProblems(r.runs, 'measured runs'));
  if (r.warmup) r.problems.push(...statProblems(r.warmup, 'warm-up runs'));

  if (r.delegations.length) {
    // One report per (delegate, subgraph); the last report per delegate kind describes the graph it ran.
    const last = new Map<DelegateKind, Delegation>();
    for (const d of r.delegations) last.set(delegateKind(d.delegate), d);
    for (const [kind, d] of last) {
      const o = outcome(kind);
      if (o.share === null && d.total > 0) {
        // XNNPack applied after the GPU delegate sees the GPU's nodes as one: use its first report.
        const first = r.delegations.find((x) => delegateKind(x.delegate) === kind)!;
        o.share = Math.min(1, first.replaced / first.total);
        o.applied ??= first.replaced === 0 ? 'none' : first.replaced >= first.total ? 'full' : 'partial';
      }
    }
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
