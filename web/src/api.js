// The page's client of runbox's API: fetch with the bearer token, errors as ApiError (the
// server's {error, field}, 429/503 Retry-After, network failures), the interactive WebSocket's
// URL and an SSE reader over fetch streaming (EventSource cannot send the token).

const TOKEN_KEY = "runbox.token";

export class ApiError extends Error {
  constructor(message, { status = 0, field = "", retryAfter = 0 } = {}) {
    super(message);
    this.status = status;
    this.field = field;
    this.retryAfter = retryAfter;
  }
  // One sentence for the status line, naming the page's field when there is one.
  describe() {
    const names = {
      "limits.wall_time": "Time limit", args: "Arguments", stdin: "Input", language: "Language",
      username: "User name", password: "Password",
    };
    const f = this.field;
    const named = names[f] || (/^files(\[|$)/.test(f) ? "Files" : "");
    let s = named ? `${named}: ${this.message}` : this.message;
    if (f && !named) s += ` (field: ${f})`;
    if (this.retryAfter) s += ` Try again in ${this.retryAfter} s.`;
    return s;
  }
}

export function createApi() {
  let token = localStorage.getItem(TOKEN_KEY) || "";
  const listeners = new Set();

  function setToken(t) {
    token = t || "";
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  }

  function headers(extra = {}) {
    const h = { Accept: "application/json", ...extra };
    if (token) h.Authorization = `Bearer ${token}`;
    return h;
  }

  async function errorFrom(res) {
    let body = null;
    try {
      body = await res.json();
    } catch {
      /* not JSON */
    }
    const retry = Number(res.headers.get("Retry-After")) || (body && body.retry_after) || 0;
    let msg = body && body.error ? body.error : `${res.status} ${res.statusText || "error"}`;
    if (res.status === 429 && !(body && body.error)) msg = "Too many requests";
    const e = new ApiError(msg, { status: res.status, field: (body && body.field) || "", retryAfter: retry });
    if (res.status === 401) for (const f of listeners) f(e);
    return e;
  }

  async function send(method, path, { json, form, query, signal, raw } = {}) {
    let url = path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
      const s = q.toString();
      if (s) url += (url.includes("?") ? "&" : "?") + s;
    }
    const init = { method, headers: headers(), signal };
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    } else if (form) {
      init.headers["Content-Type"] = "application/x-www-form-urlencoded";
      init.body = new URLSearchParams(form).toString();
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new ApiError("Cannot reach the server: check your connection (the network request failed).");
    }
    if (!res.ok) throw await errorFrom(res);
    if (raw) return res;
    if (res.status === 204) return null;
    const text = await res.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError(`The server answered something that is not JSON (${res.status}).`, { status: res.status });
    }
  }

  // Server-sent events over fetch: calls on(type, data) for each event until the stream ends.
  async function events(path, on, signal) {
    const res = await send("GET", path, { signal, raw: true });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let type = "message";
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) type = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (!data.length) continue;
        let parsed;
        try {
          parsed = JSON.parse(data.join("\n"));
        } catch {
          parsed = data.join("\n");
        }
        if (on(type, parsed) === false) {
          reader.cancel().catch(() => {});
          return;
        }
      }
    }
  }

  function wsUrl(path) {
    const u = new URL(path, location.href);
    u.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (token) u.searchParams.set("access_token", token);
    return u.toString();
  }

  return {
    get token() {
      return token;
    },
    setToken,
    onUnauthorized: (f) => listeners.add(f),
    get: (p, o) => send("GET", p, o),
    post: (p, o) => send("POST", p, o),
    put: (p, o) => send("PUT", p, o),
    del: (p, o) => send("DELETE", p, o),
    send,
    events,
    // window.fetch with the token (for src/browser/): never throws on an HTTP error status.
    fetch(path, init = {}) {
      const h = new Headers(init.headers || {});
      if (token && !h.has("Authorization")) h.set("Authorization", `Bearer ${token}`);
      return fetch(path, { ...init, headers: h });
    },
    wsUrl,
  };
}
