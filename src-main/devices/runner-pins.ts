/**
 * The official `benchmark_model` builds PocketBench installs by itself: one entry per ABI and
 * version, with the SHA-256 of the exact file, the version and the date it was recorded. A
 * download whose hash is not listed here is refused (kept aside, not installed); the user can
 * still pick that file, or any build of their own, in Devices → Runners, which records its hash.
 *
 * No values are pinned yet, on purpose: TensorFlow publishes these binaries only as unversioned
 * nightlies (`…/lite/tools/nightly/latest/android_aarch64_benchmark_model`, replaced every day,
 * no published checksums), and the machine this was written on (2026-12-05) has no access to
 * them, so no real hash could be read. Inventing one would make every download fail, or worse,
 * look verified. To pin a build: download it, check it runs on a phone, then add
 * `{ abi, version, date, sha256, bytes }` here (`sha256sum FILE`, `stat -c %s FILE`).
 */
export interface RunnerPin {
  abi: 'arm64-v8a' | 'armeabi-v7a';
  /** TensorFlow / LiteRT version or nightly date the binary reports (`--version`) or was built from. */
  version: string;
  /** When the hash was recorded (YYYY-MM-DD). */
  date: string;
  sha256: string;
  bytes: number;
}

export const RUNNER_PINS: readonly RunnerPin[] = [];
