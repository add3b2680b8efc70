/**
 * Where `adb` is on a user's computer. A desktop app does not get a shell's PATH on macOS (an app
 * started from the Dock sees /usr/bin:/bin:/usr/sbin:/sbin) and Android Studio never adds its SDK
 * to PATH, so besides PATH the usual platform-tools folders are tried, in this order:
 * `POCKETBENCH_ADB` (an explicit file), PATH, `$ANDROID_HOME/platform-tools`,
 * `$ANDROID_SDK_ROOT/platform-tools`, Android Studio's default SDK folder for the OS
 * (macOS ~/Library/Android/sdk, Windows %LOCALAPPDATA%\Android\Sdk, Linux ~/Android/Sdk), then the
 * package managers' folders (Homebrew, Scoop).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LocateEnv {
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  home: string;
  /** Is there an executable file here? */
  isFile: (p: string) => boolean;
}

const defaultEnv = (): LocateEnv => ({
  platform: process.platform,
  env: process.env,
  home: os.homedir(),
  isFile: (p) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  },
});

/** Folders to look in for adb, in order, without PATH (see the file comment). */
export function adbCandidates(e: LocateEnv = defaultEnv()): string[] {
  const p = e.platform === 'win32' ? path.win32 : path.posix;
  const exe = e.platform === 'win32' ? 'adb.exe' : 'adb';
  const sdks: string[] = [];
  for (const v of [e.env.ANDROID_HOME, e.env.ANDROID_SDK_ROOT]) if (v) sdks.push(v);
  if (e.platform === 'darwin') sdks.push(p.join(e.home, 'Library', 'Android', 'sdk'));
  else if (e.platform === 'win32') sdks.push(p.join(e.env.LOCALAPPDATA || p.join(e.home, 'AppData', 'Local'), 'Android', 'Sdk'));
  else sdks.push(p.join(e.home, 'Android', 'Sdk'));
  const files = sdks.map((s) => p.join(s, 'platform-tools', exe));
  if (e.platform === 'darwin') files.push('/opt/homebrew/bin/adb', '/usr/local/bin/adb');
  if (e.platform === 'win32') files.push(p.join(e.home, 'scoop', 'shims', 'adb.exe'));
  return [...new Set(files)];
}

/** Every PATH entry joined with adb's file name(s). */
function onPath(e: LocateEnv): string[] {
  const p = e.platform === 'win32' ? path.win32 : path.posix;
  const dirs = (e.env.PATH ?? e.env.Path ?? '').split(e.platform === 'win32' ? ';' : ':').filter(Boolean);
  return dirs.map((d) => p.join(d, e.platform === 'win32' ? 'adb.exe' : 'adb'));
}

/**
 * The adb to run: `POCKETBENCH_ADB` when set (as is, even if missing: the user chose it), else the
 * first that exists on PATH or in the candidate folders, else plain `adb` (whose absence the status
 * bar then reports with the install hint).
 */
export function locateAdb(e: LocateEnv = defaultEnv()): { bin: string; source: 'POCKETBENCH_ADB' | 'PATH' | 'platform-tools' | 'none' } {
  if (e.env.POCKETBENCH_ADB) return { bin: e.env.POCKETBENCH_ADB, source: 'POCKETBENCH_ADB' };
  const viaPath = onPath(e).find(e.isFile);
  if (viaPath) return { bin: viaPath, source: 'PATH' };
  const sdk = adbCandidates(e).find(e.isFile);
  if (sdk) return { bin: sdk, source: 'platform-tools' };
  return { bin: 'adb', source: 'none' };
}
