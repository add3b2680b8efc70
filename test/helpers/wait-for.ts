/**
 * Poll `fn` every 50 ms until it returns something truthy (returned), or fail after `timeoutMs` naming `what`.
 * The bound is generous (it returns as soon as the condition holds): on a loaded 2-core CI machine,
 * facts over adb and a LiteRT runner start take seconds each.
 */
export async function waitFor<T>(fn: () => T | undefined | null | false, what: string, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
