/**
 * Every command sent to a device is built here, from quoted arguments. The device shell (mksh or
 * toybox sh) is POSIX: inside single quotes nothing is special, and a single quote is written as
 * `'\''`. Plain words (letters, digits, `_-./:=@%+,`) stay unquoted so logs read naturally.
 */
const PLAIN = /^[A-Za-z0-9_\-./:=@%+,]+$/;

export function quote(arg: string | number): string {
  const s = String(arg);
  if (s !== '' && PLAIN.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** One command line from a program and its arguments, each quoted. */
export function command(program: string, ...args: (string | number)[]): string {
  return [program, ...args].map(quote).join(' ');
}

/**
 * Join already-built commands. Operators are only ever added here, between commands this module
 * built, so no user-controlled text can introduce one.
 */
export function sequence(...commands: string[]): string {
  return commands.join('; ');
}
