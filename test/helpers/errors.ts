/** The error a promise rejects with, for tests of bad input (fails the test when it resolves). */
export async function errorOf(p: Promise<unknown>): Promise<{ code?: string; message: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected an error');
}
