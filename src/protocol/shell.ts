// Words for a POSIX shell, for the commands we print and the helper lines we write. Pure.

/** `text` as one shell word: as it is when it is plain, else in single quotes. */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A command line from words. */
export function shellLine(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
