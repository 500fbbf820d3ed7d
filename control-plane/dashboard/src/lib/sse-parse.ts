/** One server-sent event. */
export interface StreamEvent {
  event: string;
  data: string;
  id?: string;
}

/** Parses one SSE block (lines up to a blank line); comments (`:` keep-alives) yield null. */
export function parseBlock(block: string): StreamEvent | null {
  let event = 'message';
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (name === 'event') event = value;
    else if (name === 'data') data.push(value);
    else if (name === 'id') id = value;
  }
  if (data.length === 0) return null;
  return { event, data: data.join('\n'), ...(id ? { id } : {}) };
}

/** Incremental parser: feed decoded text chunks as they arrive; complete events come out in order. */
export function createSseParser(onEvent: (event: StreamEvent) => void): { push(chunk: string): void } {
  let buffer = '';
  return {
    push(chunk) {
      buffer += chunk;
      let match: RegExpExecArray | null;
      while ((match = /\r?\n\r?\n/.exec(buffer))) {
        const block = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        const event = parseBlock(block);
        if (event) onEvent(event);
      }
    },
  };
}
