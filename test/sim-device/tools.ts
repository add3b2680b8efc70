/**
 * The device's command-line tools, as small POSIX sh scripts written into the sim's state folder and
 * put first on the shell's PATH (and under /system/bin in the sandbox). They read the sim's state
 * files, which the TypeScript side rewrites when a fault or a reading changes.
 *
 * Environment every device command gets: SIM_ROOT (the sandbox = device "/"), SIM_STATE (this
 * folder), SIM_DEVICE (id used to guard `kill`), SIM_NCPU, SIM_NODE/SIM_RUNNER_SHIM/SIM_RUNNER_SOCKET
 * (the benchmark_model stand-in).
 */

/** Marker on line 2 of the script that stands in for a pushed ELF executable. */
export const ELF_STANDIN_MARKER = '# pocketbench-sim-elf: ';

/** Turns args that are ELF stand-ins into their kept ELF bytes (`$SIM_STATE/elf/…`). */
const substituteFn = `
# sim_sub FILE: prints the file that holds FILE's real bytes (itself unless it is an ELF stand-in).
sim_sub() {
  if [ -f "$1" ]; then
    _s=$(sed -n '2{s/^${ELF_STANDIN_MARKER}//p;q}' "$1" 2>/dev/null)
    if [ -n "$_s" ] && [ -f "$_s" ]; then printf '%s' "$_s"; return; fi
  fi
  printf '%s' "$1"
}
`;

/** A wrapper that runs the real tool on the substituted files and names the original files in its output. */
function substitutingWrapper(tool: string): string {
  return `#!/bin/sh
${substituteFn}
sed_expr=""
n=$#
i=0
while [ $i -lt $n ]; do
  a=$1; shift; i=$((i+1))
  case "$a" in
    -*) set -- "$@" "$a" ;;
    *) s=$(sim_sub "$a")
       if [ "$s" != "$a" ]; then
         esc_s=$(printf '%s' "$s" | sed 's/[][\\/.*^$]/\\\\&/g'); esc_a=$(printf '%s' "$a" | sed 's/[\\/&]/\\\\&/g')
         sed_expr="$sed_expr;s/$esc_s/$esc_a/g"
       fi
       set -- "$@" "$s" ;;
  esac
done
PATH=/usr/bin:/bin
export PATH
if [ -z "$sed_expr" ]; then exec ${tool} "$@"; fi
${tool} "$@" > "$SIM_STATE/tmp.$$" 2>&1; rc=$?
sed "\${sed_expr#;}" "$SIM_STATE/tmp.$$"; rm -f "$SIM_STATE/tmp.$$"
exit $rc
`;
}

const getprop = `#!/bin/sh
# getprop [NAME [DEFAULT]]
f="$SIM_STATE/props"
if [ $# -eq 0 ]; then
  while IFS= read -r line; do printf '[%s]: [%s]\\n' "\${line%%=*}" "\${line#*=}"; done < "$f"
  exit 0
fi
awk -v k="$1" -v d="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); found = 1; exit } END { if (!found) print d }' "$f"
`;

const dumpsys = `#!/bin/sh
case "$1" in
  battery|thermalservice|meminfo|cpuinfo)
    if [ -f "$SIM_STATE/dumpsys/$1" ]; then exec /bin/cat "$SIM_STATE/dumpsys/$1"; fi ;;
esac
echo "Can't find service: $1" >&2
exit 0
`;

const df = `#!/bin/sh
# toybox-style df for the /data partition. Sizes come from $SIM_STATE/df: "total used available" (KiB).
human=0
while [ $# -gt 0 ]; do case "$1" in -h) human=1; shift;; --) shift; break;; -*) shift;; *) break;; esac; done
read total used avail < "$SIM_STATE/df"
[ $# -eq 0 ] && set -- /data
if [ $human = 1 ]; then echo 'Filesystem       Size  Used Avail Use% Mounted on'
else echo 'Filesystem       1K-blocks     Used Available Use% Mounted on'; fi
rc=0
for p in "$@"; do
  if [ ! -e "$p" ]; then echo "df: $p: No such file or directory" >&2; rc=1; continue; fi
  awk -v t="$total" -v u="$used" -v a="$avail" -v h="$human" '
    function hs(k,  v, i, units) { split("K M G T", units, " "); v = k; i = 1
      while (v >= 1024 && i < 4) { v = v / 1024; i++ }
      if (v < 10 && i > 1) return sprintf("%.1f%s", v, units[i]); return sprintf("%d%s", v, units[i]) }
    BEGIN { pct = t > 0 ? int((u * 100 + t - 1) / t) : 0
      if (h == 1) printf "%-16s %5s %5s %5s %3d%% %s\\n", "/dev/block/dm-5", hs(t), hs(u), hs(a), pct, "/data"
      else printf "%-16s %9d %8d %9d %3d%% %s\\n", "/dev/block/dm-5", t, u, a, pct, "/data" }'
done
exit $rc
`;

const taskset = `#!/bin/sh
# toybox-style taskset: taskset [-p] [MASK] [PID | COMMAND [ARGS...]]. The mask is remembered per pid
# in $SIM_STATE/affinity and passed to commands as SIM_CPU_MASK (the runner reports it in /proc).
all=$(( (1 << SIM_NCPU) - 1 ))
norm() {
  case "$1" in ''|*[!0-9a-fA-Fx]*) echo "taskset: bad mask '$1'" >&2; exit 1;; esac
  m=$(( 0x\${1#0x} & all ))
  if [ $m -eq 0 ]; then echo "taskset: sched_setaffinity: Invalid argument" >&2; exit 1; fi
  printf '%x' $m
}
current() { if [ -f "$SIM_STATE/affinity/$1" ]; then /bin/cat "$SIM_STATE/affinity/$1"; else printf '%x' $all; fi; }
if [ "$1" = "-p" ] || [ "$1" = "-ap" ]; then
  shift
  if [ $# -eq 1 ]; then
    [ -d "/proc/$1" ] || { echo "taskset: sched_getaffinity: No such process" >&2; exit 1; }
    echo "pid $1's affinity mask: $(current "$1")"; exit 0
  fi
  [ -d "/proc/$2" ] || { echo "taskset: sched_setaffinity: No such process" >&2; exit 1; }
  m=$(norm "$1") || exit 1
  echo "pid $2's current affinity mask: $(current "$2")"
  mkdir -p "$SIM_STATE/affinity"; printf '%s' "$m" > "$SIM_STATE/affinity/$2"
  echo "pid $2's new affinity mask: $m"
  exit 0
fi
if [ $# -lt 2 ]; then echo "usage: taskset [-p] [mask] [PID | cmd [args...]]" >&2; exit 1; fi
m=$(norm "$1") || exit 1
shift
mkdir -p "$SIM_STATE/affinity"; printf '%s' "$m" > "$SIM_STATE/affinity/$$"
SIM_CPU_MASK=$m
export SIM_CPU_MASK
exec "$@"
`;

const cat = `#!/bin/sh
# cat that honours the sim's SELinux denials ($SIM_STATE/denied: one host path prefix a line) and
# shows a pushed ELF's real bytes.
${substituteFn}
opts=""
for a in "$@"; do case "$a" in -?*) opts="$opts $a";; esac; done
[ $# -eq 0 ] && exec /bin/cat
rc=0
for a in "$@"; do
  case "$a" in -?*) continue;; esac
  p=$a; case "$p" in /*) ;; *) p="$PWD/$p";; esac
  denied=0
  if [ -f "$SIM_STATE/denied" ]; then
    while IFS= read -r d; do case "$p" in "$d"|"$d"/*) denied=1;; esac; done < "$SIM_STATE/denied"
  fi
  if [ $denied = 1 ]; then echo "cat: $a: Permission denied" >&2; rc=1; continue; fi
  /bin/cat $opts -- "$(sim_sub "$a")" || rc=1
done
exit $rc
`;

const chmod = `#!/bin/sh
# chmod that also applies to the kept bytes of a pushed ELF (so stat shows the same mode).
${substituteFn}
/bin/chmod "$@" || exit $?
mode=""
for a in "$@"; do
  case "$a" in -*) continue;; esac
  if [ -z "$mode" ]; then mode=$a; continue; fi
  s=$(sim_sub "$a"); [ "$s" != "$a" ] && /bin/chmod "$mode" "$s"
done
exit 0
`;

/** Guards `kill`: only processes started by this simulated device (they carry SIM_DEVICE). */
const prelude = `
kill() {
  _sig=""; _rc=0
  while [ $# -gt 0 ]; do
    case "$1" in
      -l|-L) command kill "$@"; return $?;;
      -s) _sig="-s $2"; shift 2;;
      --) shift; break;;
      -[0-9]*|-[A-Za-z]*) _sig="$1"; shift;;
      *) break;;
    esac
  done
  if [ $# -eq 0 ]; then echo "usage: kill [-s SIGNAL | -SIGNAL] PID..." >&2; return 1; fi
  for _p in "$@"; do
    case "$_p" in ''|*[!0-9]*) echo "kill: $_p: only process ids of this device can be signalled here" >&2; _rc=1; continue;; esac
    if [ -r "/proc/$_p/environ" ] && tr '\\0' '\\n' < "/proc/$_p/environ" 2>/dev/null | grep -qx "SIM_DEVICE=$SIM_DEVICE"; then
      command kill $_sig "$_p" || _rc=1
    else
      echo "kill: $_p: No such process" >&2; _rc=1
    fi
  done
  return $_rc
}
`;

const killScript = `#!/bin/sh
. "$SIM_STATE/prelude.sh"
kill "$@"
`;

/** `sh -c` from inside a device command also gets the prelude (the guarded kill). */
const sh = `#!/bin/sh
if [ "$1" = "-c" ] && [ $# -ge 2 ]; then
  c=$2; shift 2
  exec /bin/sh -c ". \\"\\$SIM_STATE/prelude.sh\\"
$c" "$@"
fi
exec /bin/sh "$@"
`;

const pidof = `#!/bin/sh
out=""
for d in "$SIM_ROOT"/proc/[0-9]*; do
  [ -f "$d/cmdline" ] || continue
  n=$(tr '\\0' ' ' < "$d/cmdline" | awk '{print $1}'); n=\${n##*/}
  for want in "$@"; do [ "$n" = "$want" ] && out="$out \${d##*/}"; done
done
[ -n "$out" ] || exit 1
echo \${out# }
`;

/** File name → script. */
export function deviceTools(): Record<string, string> {
  return {
    getprop,
    dumpsys,
    df,
    taskset,
    cat,
    chmod,
    kill: killScript,
    sh,
    pidof,
    sha256sum: substitutingWrapper('sha256sum'),
    sha1sum: substitutingWrapper('sha1sum'),
    md5sum: substitutingWrapper('md5sum'),
    stat: substitutingWrapper('stat'),
    wc: substitutingWrapper('wc'),
    head: substitutingWrapper('head'),
    tail: substitutingWrapper('tail'),
    od: substitutingWrapper('od'),
    xxd: substitutingWrapper('xxd'),
    cmp: substitutingWrapper('cmp'),
  };
}

export const PRELUDE = prelude;

/**
 * Writes \`$SIM_ROOT/proc/$$/status\` before the stand-in execs node (same PID), so the process is
 * visible in /proc from its first instant, as on a phone; the runner keeps it up to date.
 */
const procStatusFn = `
if [ -n "$SIM_ROOT" ] && [ -n "$SIM_NCPU" ]; then
  _all=$(( (1 << SIM_NCPU) - 1 )); _m=$(( 0x\${SIM_CPU_MASK:-$(printf '%x' $_all)} & _all ))
  _l=""; _i=0
  while [ $_i -lt $SIM_NCPU ]; do
    if [ $(( (_m >> _i) & 1 )) -eq 1 ]; then
      _j=$_i; while [ $(( _j + 1 )) -lt $SIM_NCPU ] && [ $(( (_m >> (_j + 1)) & 1 )) -eq 1 ]; do _j=$(( _j + 1 )); done
      if [ $_j -gt $_i ]; then _l="$_l,$_i-$_j"; else _l="$_l,$_i"; fi
      _i=$_j
    fi
    _i=$(( _i + 1 ))
  done
  mkdir -p "$SIM_ROOT/proc/$$"
  printf 'Name:\\tbenchmark_model\\nState:\\tR (running)\\nPid:\\t%s\\nVmHWM:\\t    2048 kB\\nVmRSS:\\t    2048 kB\\nCpus_allowed:\\t%x\\nCpus_allowed_list:\\t%s\\n' $$ $_m "\${_l#,}" > "$SIM_ROOT/proc/$$/status"
fi
`;

/** The script left at a device path in place of a pushed ELF: it runs the benchmark_model stand-in. */
export function elfStandInScript(keptBytesPath: string): string {
  return `#!/bin/sh
${ELF_STANDIN_MARKER}${keptBytesPath}
${procStatusFn}
exec "\${SIM_NODE:?only the PocketBench simulated device runs this}" "$SIM_RUNNER_SHIM" "${keptBytesPath}" "$0" "$@"
`;
}
