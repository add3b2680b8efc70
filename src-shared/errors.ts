/**
 * Errors that cross the UI/backend boundary as `{ code, message, details }`.
 * `message` is for people: it says what happened and, where we know, what to do next.
 */
import type { z } from 'zod';

export type ErrorCode =
  | 'INVALID_ARGS'
  | 'UNKNOWN_METHOD'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNSUPPORTED'
  | 'IO'
  | 'DISK_FULL'
  | 'CANCELLED'
  | 'INTERNAL'
  | (string & {});

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }

  static fromInfo(info: ErrorInfo): AppError {
    return new AppError(info.code, info.message, info.details);
  }

  /** One line per problem, each naming the field: `stages.1.temperature: must be at most 64`. */
  static fromZod(error: z.ZodError, prefix = 'Invalid input'): AppError {
    const problems = explainIssues(error.issues, []).map((i) => ({
      path: i.path.map(String).join('.') || '(root)',
      message: i.message,
    }));
    const text = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    return new AppError('INVALID_ARGS', `${prefix}: ${text}`, { problems });
  }
}

type Issue = { path: PropertyKey[]; message: string; code?: string; errors?: Issue[][] };

/**
 * Zod issues with each failed union replaced by the issues of the alternative the value came closest
 * to (the one that failed deepest inside the value): "model.options.hidden.0: must be at most 16384"
 * rather than "model: Invalid input".
 */
export function explainIssues(issues: readonly Issue[], at: PropertyKey[]): { path: PropertyKey[]; message: string }[] {
  return issues.flatMap((i) => {
    const path = [...at, ...i.path];
    if (i.code !== 'invalid_union' || !i.errors?.length) return [{ path, message: i.message }];
    const depth = (branch: Issue[]) => Math.max(...branch.map((b) => b.path.length));
    const best = i.errors.filter((b) => b.length).sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0];
    return best ? explainIssues(best, path) : [{ path, message: i.message }];
  });
}

/** Anything thrown -> a serialisable error. Unknown errors keep their message, not their stack. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof AppError) {
    return { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) };
  }
  const e = err as { code?: unknown; message?: unknown } | null;
  const sysCode = typeof e?.code === 'string' ? e.code : undefined;
  if (sysCode === 'ENOSPC') {
    return {
      code: 'DISK_FULL',
      message: 'The disk is full. Free some space (or move the data folder in Settings) and try again; nothing already saved was lost.',
    };
  }
  if (sysCode === 'ENOENT' || sysCode === 'EACCES' || sysCode === 'EISDIR' || sysCode === 'ENOTDIR') {
    return { code: 'IO', message: String(e?.message ?? err), details: { sysCode } };
  }
  const message = e && typeof e.message === 'string' ? e.message : String(err);
  return { code: 'INTERNAL', message: `Unexpected error: ${message}` };
}
