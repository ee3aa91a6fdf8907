// Output events as text. The server sends a chunk as "data" when its bytes are UTF-8 and as
// "data_base64" when they are not (a NUL-free chunk cut in the middle of a character, invalid
// bytes): each stream (stdout, stderr, compile stdout, ...) gets its own streaming TextDecoder, so
// a character split across two chunks comes out whole and invalid bytes as U+FFFD, as the history
// shows them.
function b64bytes(b64) {
  const bin = atob(b64);
  const a = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) a[i] = bin.charCodeAt(i);
  return a;
}

// A decoder of one run's events: text(ev, key) for an event of stream @key (e.g. "run:stdout").
export function createEventDecoder() {
  const decoders = new Map();
  const dec = (key) => {
    let d = decoders.get(key);
    if (!d) decoders.set(key, (d = new TextDecoder("utf-8")));
    return d;
  };
  return {
    text(ev, key) {
      if (ev.data_base64) {
        let bytes;
        try {
          bytes = b64bytes(ev.data_base64);
        } catch {
          return "";
        }
        return dec(key).decode(bytes, { stream: true });
      }
      // Plain text: what an earlier base64 chunk left unfinished ends here (as U+FFFD).
      const d = decoders.get(key);
      return (d ? d.decode() : "") + (ev.data || "");
    },
    // The rest of every stream, at the end of the run.
    end() {
      const rest = {};
      for (const [key, d] of decoders) {
        const t = d.decode();
        if (t) rest[key] = t;
      }
      decoders.clear();
      return rest;
    },
  };
}
