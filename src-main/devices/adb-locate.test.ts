import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { adbCandidates, type LocateEnv, locateAdb } from './adb-locate';
import { adbBinary } from './adb-status';

const fake = (platform: NodeJS.Platform, env: Record<string, string>, home: string, files: string[]): LocateEnv => ({
  platform,
  env,
  home,
  isFile: (p) => files.includes(p),
});

describe('finding adb when it is not on PATH', () => {
  it('looks in ANDROID_HOME, ANDROID_SDK_ROOT and Android Studio’s default SDK folder for each OS', () => {
    expect(adbCandidates(fake('linux', { ANDROID_HOME: '/opt/sdk', ANDROID_SDK_ROOT: '/srv/sdk' }, '/home/u', []))).toEqual([
      '/opt/sdk/platform-tools/adb',
      '/srv/sdk/platform-tools/adb',
      '/home/u/Android/Sdk/platform-tools/adb',
    ]);
    expect(adbCandidates(fake('darwin', {}, '/Users/u', []))).toEqual(['/Users/u/Library/Android/sdk/platform-tools/adb', '/opt/homebrew/bin/adb', '/usr/local/bin/adb']);
    expect(adbCandidates(fake('win32', { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'C:\\Users\\u', []))).toEqual([
      'C:\\Users\\u\\AppData\\Local\\Android\\Sdk\\platform-tools\\adb.exe',
      'C:\\Users\\u\\scoop\\shims\\adb.exe',
    ]);
  });

  it('prefers POCKETBENCH_ADB, then PATH, then the SDK folders; plain adb when none has it', () => {
    const studio = '/Users/u/Library/Android/sdk/platform-tools/adb';
    expect(locateAdb(fake('darwin', { PATH: '/usr/bin:/bin' }, '/Users/u', [studio]))).toEqual({ bin: studio, source: 'platform-tools' });
    expect(locateAdb(fake('darwin', { PATH: '/usr/bin:/opt/x' }, '/Users/u', [studio, '/opt/x/adb']))).toEqual({ bin: '/opt/x/adb', source: 'PATH' });
    expect(locateAdb(fake('darwin', { PATH: '/opt/x', POCKETBENCH_ADB: '/my/adb' }, '/Users/u', ['/opt/x/adb']))).toEqual({ bin: '/my/adb', source: 'POCKETBENCH_ADB' });
    expect(locateAdb(fake('linux', { PATH: '/usr/bin' }, '/home/u', []))).toEqual({ bin: 'adb', source: 'none' });
    expect(locateAdb(fake('win32', { Path: 'C:\\tools', ANDROID_HOME: 'D:\\sdk' }, 'C:\\Users\\u', ['D:\\sdk\\platform-tools\\adb.exe']))).toEqual({
      bin: 'D:\\sdk\\platform-tools\\adb.exe',
      source: 'platform-tools',
    });
  });

  it('the app finds a real file in $ANDROID_HOME/platform-tools when PATH has no adb', () => {
    const sdk = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-sdk-'));
    const adb = path.join(sdk, 'platform-tools', 'adb');
    fs.mkdirSync(path.dirname(adb));
    fs.writeFileSync(adb, '#!/bin/sh\necho "Android Debug Bridge version 1.0.41"\n', { mode: 0o755 });
    const saved = { PATH: process.env.PATH, ANDROID_HOME: process.env.ANDROID_HOME, POCKETBENCH_ADB: process.env.POCKETBENCH_ADB };
    try {
      process.env.PATH = '/nonexistent';
      process.env.ANDROID_HOME = sdk;
      delete process.env.POCKETBENCH_ADB;
      expect(adbBinary()).toBe(adb);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      fs.rmSync(sdk, { recursive: true, force: true });
    }
  });
});
