/** `npm run setup` (scripts/setup.mjs): the plan it makes per machine, checked with --dry-run. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const script = path.resolve(import.meta.dirname, '..', 'scripts', 'setup.mjs');
const none = { adb: false, chromium: false, dataset: false };

function dryRun(facts?: Record<string, unknown>): { out: string; status: number | null } {
  const env = { ...process.env };
  if (facts) env.POCKETBENCH_SETUP_FACTS = JSON.stringify(facts);
  else delete env.POCKETBENCH_SETUP_FACTS;
  const r = spawnSync(process.execPath, [script, '--dry-run'], { encoding: 'utf8', env });
  return { out: r.stdout + r.stderr, status: r.status };
}

describe('npm run setup', () => {
  it('Debian as root: apt installs adb, chromium and the dataset, then npm ci with the local Node headers and no Electron download', () => {
    const { out, status } = dryRun({ platform: 'linux', os: { id: 'debian', idLike: '', name: 'Debian 12' }, root: true, sudo: false, apt: true, have: none, nodeHeaders: '/usr', skipElectron: true });
    expect(status).toBe(0);
    expect(out).toContain('run: apt-get update\n');
    expect(out).toContain('run: apt-get install -y --no-install-recommends adb chromium dataset-fashion-mnist\n');
    expect(out).toContain('run: npm_config_nodedir=/usr ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-audit --no-fund\n');
    expect(out).not.toContain('by hand');
  });

  it('Debian without PostgreSQL: apt installs the server and libpq headers for the shared-history tests', () => {
    const { out } = dryRun({ platform: 'linux', os: { id: 'debian', idLike: '', name: 'Debian 12' }, root: true, sudo: false, apt: true, have: { adb: true, chromium: true, dataset: true, postgres: false, libpq: false }, nodeHeaders: '/usr', skipElectron: true });
    expect(out).toContain('run: apt-get install -y --no-install-recommends postgresql libpq-dev\n');
    const have = dryRun({ platform: 'linux', os: { id: 'debian', idLike: '', name: 'Debian 12' }, root: true, sudo: false, apt: true, have: { adb: true, chromium: true, dataset: true, postgres: true, libpq: true }, nodeHeaders: '/usr', skipElectron: true }).out;
    expect(have).not.toContain('apt-get install');
  });

  it('Ubuntu with passwordless sudo: only what is missing, Ubuntu’s Chromium package name', () => {
    const { out } = dryRun({ platform: 'linux', os: { id: 'ubuntu', idLike: 'debian', name: 'Ubuntu 24.04' }, root: false, sudo: true, apt: true, have: { adb: true, chromium: false, dataset: false }, nodeHeaders: null, skipElectron: false });
    expect(out).toContain('run: sudo -n apt-get install -y --no-install-recommends chromium-browser dataset-fashion-mnist\n');
    expect(out).toContain('run: npm ci --no-audit --no-fund\n');
  });

  it('Debian without root or sudo: prints the apt command to run, still runs npm ci; nothing to install when all is there', () => {
    const { out } = dryRun({ platform: 'linux', os: { id: 'debian', idLike: '', name: 'Debian 12' }, root: false, sudo: false, apt: true, have: { adb: false, chromium: true, dataset: true }, nodeHeaders: '/usr', skipElectron: false });
    expect(out).toContain('to do by hand: Install the system packages (needs an administrator): sudo apt-get install adb\n');
    expect(out).not.toContain('run: sudo');
    expect(out).toContain('run: npm_config_nodedir=/usr npm ci');
    const all = dryRun({ platform: 'linux', os: { id: 'debian', idLike: '', name: 'Debian 12' }, root: true, sudo: false, apt: true, have: { adb: true, chromium: true, dataset: true }, nodeHeaders: '/usr', skipElectron: true });
    expect(all.out).not.toContain('apt-get');
  });

  it('macOS, Windows and other Linux: says exactly what to install', () => {
    const mac = dryRun({ platform: 'darwin', os: null, root: false, sudo: false, apt: false, have: none, nodeHeaders: null, skipElectron: false }).out;
    expect(mac).toContain('brew install --cask android-platform-tools');
    expect(mac).toContain('brew install --cask chromium');
    expect(mac).toContain('PocketBench downloads and verifies it on first use');
    expect(mac).not.toContain('apt-get');
    const win = dryRun({ platform: 'win32', os: null, root: false, sudo: false, apt: false, have: { adb: false, chromium: false, dataset: false }, nodeHeaders: null, skipElectron: false }).out;
    expect(win).toContain('winget install Google.PlatformTools');
    expect(win).toContain('winget install Hibbiki.Chromium');
    const fedora = dryRun({ platform: 'linux', os: { id: 'fedora', idLike: '', name: 'Fedora 41' }, root: true, sudo: false, apt: false, have: { adb: false, chromium: true, dataset: false }, nodeHeaders: null, skipElectron: false }).out;
    expect(fedora).toContain('sudo dnf install android-tools');
    expect(fedora).not.toContain('Chromium for the UI tests');
    for (const o of [mac, win, fedora]) expect(o).toContain('run: npm ci --no-audit --no-fund\n');
  });

  it('never runs npm ci through a node_modules link (it would empty the folder it points to)', () => {
    const { out } = dryRun({ platform: 'linux', os: { id: 'debian', idLike: '', name: 'Debian 12' }, root: true, sudo: false, apt: true, have: { adb: true, chromium: true, dataset: true }, nodeHeaders: '/usr', skipElectron: true, nodeModulesLink: '/work/main/node_modules' });
    expect(out).toContain('to do by hand: node_modules is a link to /work/main/node_modules, so npm ci is not run here');
    expect(out).not.toContain('npm ci --no-audit');
  });

  it('detects this machine', () => {
    const { out, status } = dryRun();
    expect(status).toBe(0);
    expect(out).toMatch(/^PocketBench setup \(.+\), dry run\n/);
    // A worktree whose node_modules links to another checkout's is told so instead.
    expect(out).toMatch(/run: .*npm ci --no-audit --no-fund\n|node_modules is a link to /);
  }, 20_000);
});
