#!/usr/bin/env node
/**
 * `npm run setup`: everything a fresh clone needs before `npm test`.
 *
 * - Debian/Ubuntu: installs what is missing of `adb`, Chromium (for the UI tests),
 *   `dataset-fashion-mnist`, `postgresql` and `libpq-dev` (the shared-history tests) with apt when it may (running as root, or `sudo -n` works); otherwise
 *   prints the one apt command to run.
 * - Any other OS: prints exactly what to install (Android platform tools, a Chromium for the
 *   tests); the app itself downloads Fashion-MNIST on first use.
 * - Then `npm ci`, with the environment this machine needs: `npm_config_nodedir=/usr` when the
 *   running Node is the system one and its headers are installed (native modules then build with
 *   no header download), and `ELECTRON_SKIP_BINARY_DOWNLOAD=1` when Electron's download site cannot
 *   be reached (the app builds and tests without the binary).
 *
 * Plain Node, no dependencies: it runs before `npm ci`. `--dry-run` prints the plan only.
 * `POCKETBENCH_SETUP_FACTS` (JSON) replaces detected facts, for tests of the plan.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

function has(cmd) {
  return spawnSync(process.platform === 'win32' ? 'where' : 'sh', process.platform === 'win32' ? [cmd] : ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function osRelease() {
  try {
    const text = fs.readFileSync('/etc/os-release', 'utf8');
    const get = (k) => new RegExp(`^${k}="?([^"\\n]*)"?`, 'm').exec(text)?.[1] ?? '';
    return { id: get('ID'), idLike: get('ID_LIKE'), name: get('PRETTY_NAME') };
  } catch {
    return { id: '', idLike: '', name: '' };
  }
}

/** The Node headers in /usr/include/node, when they are this Node's own (Debian's nodejs + libnode-dev). */
function systemNodeHeaders() {
  const h = '/usr/include/node/node_version.h';
  if (!fs.existsSync(h) || !process.execPath.startsWith('/usr/bin/')) return null;
  const text = fs.readFileSync(h, 'utf8');
  const v = ['MAJOR', 'MINOR', 'PATCH'].map((k) => new RegExp(`#define NODE_${k}_VERSION (\\d+)`).exec(text)?.[1]).join('.');
  return v === process.versions.node ? '/usr' : null;
}

/** Debian's server binaries (initdb, pg_ctl), which the store tests start on a private socket. */
function postgresInstalled() {
  const dir = '/usr/lib/postgresql';
  try {
    return fs.readdirSync(dir).some((v) => fs.existsSync(path.join(dir, v, 'bin', 'initdb'))) || has('initdb');
  } catch {
    return has('initdb');
  }
}

/** Where node_modules points when it is a symbolic link (a worktree sharing another's), else null. */
function linkTarget(p) {
  try {
    return fs.lstatSync(p).isSymbolicLink() ? fs.realpathSync(p) : null;
  } catch {
    return null;
  }
}

function electronVersion() {
  try {
    const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
    return lock.packages?.['node_modules/electron']?.version ?? null;
  } catch {
    return null;
  }
}

/** Can Electron's postinstall fetch its zip? (a HEAD on the release's checksum file, 6 s). */
async function electronReachable() {
  const v = electronVersion();
  if (!v) return false;
  const base = process.env.ELECTRON_MIRROR || 'https://github.com/electron/electron/releases/download/';
  try {
    const r = await fetch(`${base.replace(/\/?$/, '/')}v${v}/SHASUMS256.txt`, { method: 'HEAD', redirect: 'follow', signal: AbortSignal.timeout(6000) });
    return r.ok;
  } catch {
    return false;
  }
}

async function detect() {
  if (process.env.POCKETBENCH_SETUP_FACTS) return JSON.parse(process.env.POCKETBENCH_SETUP_FACTS);
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  const facts = {
    platform: process.platform,
    os: process.platform === 'linux' ? osRelease() : null,
    root: uid === 0,
    sudo: uid !== 0 && process.platform !== 'win32' && has('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0,
    apt: has('apt-get'),
    have: {
      adb: has('adb'),
      chromium: ['chromium', 'chromium-browser', 'google-chrome'].some(has) || Boolean(process.env.CHROMIUM_PATH),
      dataset: fs.existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz'),
      // the PostgreSQL half of the store tests (a private server per test run) and pg-native's build
      postgres: postgresInstalled(),
      libpq: fs.existsSync('/usr/include/postgresql/libpq-fe.h') || has('pg_config'),
    },
    nodeHeaders: systemNodeHeaders(),
    nodeModulesLink: linkTarget(path.join(root, 'node_modules')),
    skipElectron: process.env.ELECTRON_SKIP_BINARY_DOWNLOAD === '1' ? true : null,
  };
  if (facts.skipElectron === null) facts.skipElectron = !(await electronReachable());
  return facts;
}

/** What to do on this machine: apt packages (or the command to print), manual steps, npm ci's env. */
export function planSetup(f) {
  const steps = [];
  const manual = [];
  const debianLike = f.platform === 'linux' && f.apt && /\b(debian|ubuntu)\b/.test(`${f.os?.id ?? ''} ${f.os?.idLike ?? ''}`);
  if (debianLike) {
    const ubuntu = /\bubuntu\b/.test(`${f.os.id} ${f.os.idLike}`);
    const pkgs = [];
    if (!f.have.adb) pkgs.push('adb');
    if (!f.have.chromium) pkgs.push(ubuntu ? 'chromium-browser' : 'chromium');
    if (!f.have.dataset) pkgs.push('dataset-fashion-mnist');
    // `=== false`: facts recorded before these were detected plan as before
    if (f.have.postgres === false) pkgs.push('postgresql');
    if (f.have.libpq === false) pkgs.push('libpq-dev');
    if (pkgs.length) {
      const sudo = f.root ? [] : ['sudo', '-n'];
      if (f.root || f.sudo) {
        steps.push({ kind: 'apt', cmd: [...sudo, 'apt-get', 'update'] });
        steps.push({ kind: 'apt', cmd: [...sudo, 'apt-get', 'install', '-y', '--no-install-recommends', ...pkgs] });
      } else {
        manual.push(`Install the system packages (needs an administrator): sudo apt-get install ${pkgs.join(' ')}`);
      }
    }
  } else {
    const adb = {
      darwin: 'Android platform tools: `brew install --cask android-platform-tools` (or Android Studio: PocketBench finds ~/Library/Android/sdk/platform-tools/adb).',
      win32: 'Android platform tools: `winget install Google.PlatformTools` (or Android Studio: PocketBench finds %LOCALAPPDATA%\\Android\\Sdk\\platform-tools\\adb.exe).',
    }[f.platform] ?? 'Android platform tools (adb): Fedora `sudo dnf install android-tools`, Arch `sudo pacman -S android-tools`, openSUSE `sudo zypper install android-tools`; or Android Studio (PocketBench finds ~/Android/Sdk/platform-tools/adb).';
    const chromium = {
      darwin: 'Chromium for the UI tests: `brew install --cask chromium` (or set CHROMIUM_PATH to a Chrome or Chromium executable).',
      win32: 'Chromium for the UI tests: `winget install Hibbiki.Chromium` (or set CHROMIUM_PATH to chrome.exe).',
    }[f.platform] ?? 'Chromium for the UI tests: Fedora `sudo dnf install chromium`, Arch `sudo pacman -S chromium`, openSUSE `sudo zypper install chromium` (or set CHROMIUM_PATH).';
    if (!f.have.adb) manual.push(adb);
    if (!f.have.chromium) manual.push(chromium);
    if (f.have.postgres === false || f.have.libpq === false) manual.push('PostgreSQL (server and libpq headers) for the shared-history tests: Fedora `sudo dnf install postgresql-server libpq-devel`, Arch `sudo pacman -S postgresql`, macOS `brew install postgresql`; without it those tests say they were skipped.');
    if (!f.have.dataset) manual.push('Fashion-MNIST: nothing to install; PocketBench downloads and verifies it on first use (tests that need Debian\'s copy say they were skipped).');
  }
  const env = {};
  if (f.nodeHeaders) env.npm_config_nodedir = f.nodeHeaders;
  if (f.skipElectron) env.ELECTRON_SKIP_BINARY_DOWNLOAD = '1';
  if (f.nodeModulesLink) {
    // npm ci deletes node_modules first: through a link, that would empty another checkout's.
    manual.push(`node_modules is a link to ${f.nodeModulesLink}, so npm ci is not run here (it would empty that folder); run \`npm run setup\` where it points, or remove the link.`);
  } else {
    steps.push({ kind: 'npm', cmd: ['npm', 'ci', '--no-audit', '--no-fund'], env });
  }
  return { debianLike, steps, manual };
}

function show(step) {
  const env = Object.entries(step.env ?? {}).map(([k, v]) => `${k}=${v} `).join('');
  return `${env}${step.cmd.join(' ')}`;
}

async function main() {
  const dry = process.argv.includes('--dry-run');
  const facts = await detect();
  const plan = planSetup(facts);
  console.log(`PocketBench setup (${facts.os?.name || facts.platform})${dry ? ', dry run' : ''}`);
  for (const m of plan.manual) console.log(`  to do by hand: ${m}`);
  for (const s of plan.steps) console.log(`  run: ${show(s)}`);
  if (plan.steps.some((s) => s.env?.ELECTRON_SKIP_BINARY_DOWNLOAD)) console.log('  (the Electron binary cannot be downloaded here: the app builds and tests without it; Electron-window tests say they were skipped)');
  if (dry) return;
  for (const s of plan.steps) {
    console.log(`\n$ ${show(s)}`);
    const r = spawnSync(s.cmd[0], s.cmd.slice(1), {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ...(s.kind === 'apt' ? { DEBIAN_FRONTEND: 'noninteractive' } : {}), ...(s.env ?? {}) },
      shell: process.platform === 'win32',
    });
    if (r.status !== 0) {
      console.error(`\nsetup: \`${show(s)}\` failed (exit ${r.status ?? r.signal}).`);
      process.exit(r.status || 1);
    }
  }
  if (plan.manual.length) console.log(`\nSet up, except what is listed above under "to do by hand". Then: npm test`);
  else console.log('\nSet up. Next: npm test');
}

// Run only as a script, not when imported.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().catch((err) => {
    console.error(`setup: ${err.message}`);
    process.exit(1);
  });
}
