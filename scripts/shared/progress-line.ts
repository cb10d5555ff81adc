// The one progress line the long-running scripts (load, storm) show while
// they run: rewritten in place on a terminal, absent anywhere else.

export interface Progress {
  /** Replaces the line shown. */
  show(line: string): void;
  /** Removes it, so what is printed next starts on a clean line. */
  clear(): void;
}

/**
 * One line rewritten in place on a terminal; nothing at all on anything else,
 * where every rewrite would be a line of its own in a log. Cut to the
 * terminal's width: a wrapped line can no longer be rewritten in place.
 */
export function progressLine(
  stream: Pick<NodeJS.WriteStream, 'isTTY' | 'columns' | 'write' | 'cursorTo' | 'clearLine'>,
): Progress {
  if (!stream.isTTY) return { show: () => undefined, clear: () => undefined };
  let shown = false;
  return {
    show(line) {
      stream.cursorTo(0);
      stream.write(line.slice(0, Math.max(1, (stream.columns || 80) - 1)));
      stream.clearLine(1);
      shown = true;
    },
    clear() {
      if (!shown) return;
      stream.cursorTo(0);
      stream.clearLine(0);
      shown = false;
    },
  };
}
