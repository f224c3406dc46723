// The public v2 API, called as any client would: same origin, the key in X-API-Key.

export class ApiError extends Error {
  constructor(status, body) {
    super(body && typeof body.error === "string" ? body.error : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.code = this.body.code || null;
  }

  // The message as the API words it, with what the body adds (a wait, the credits, fields).
  describe() {
    const b = this.body;
    let text = this.message;
    if (this.status === 402) {
      const cost = b.creditsRequired ?? b.cost;
      const have = b.creditsAvailable ?? b.balance;
      if (cost !== undefined && !/\d/.test(text)) text += ` (costs ${cost}, balance ${have})`;
    }
    if (this.status === 429) {
      const wait = b.retryAfter ?? this.retryAfter;
      if (wait !== undefined && !/retry|wait/i.test(text)) text += ` — retry after ${wait} s`;
    }
    if (b.details && typeof b.details === "object") {
      const parts = Object.entries(b.details).map(([field, msgs]) =>
        `${field}: ${[].concat(msgs).join("; ")}`);
      if (parts.length && !parts.every((p) => text.includes(p))) text += ` — ${parts.join(" · ")}`;
    }
    return `${this.status} · ${text}`;
  }
}

export class NetworkError extends Error {
  describe() {
    return `Cannot reach the server (${this.message})`;
  }
}

const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED"]);
const FINAL_EVENTS = new Set(["completed", "failed", "cancelled"]);
export const isTerminal = (status) => TERMINAL.has(status);

export class Api {
  constructor(key) {
    this.key = key;
  }

  async request(method, path, { json, form, signal } = {}) {
    const headers = { "X-API-Key": this.key };
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form;
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body, signal });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new NetworkError(err.message);
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { error: text.slice(0, 300) };
    }
    if (!response.ok) {
      const error = new ApiError(response.status, data);
      const retry = response.headers.get("Retry-After");
      if (retry) error.retryAfter = Number(retry);
      throw error;
    }
    return data;
  }

  me() {
    return this.request("GET", "/v2/me");
  }

  job(id) {
    return this.request("GET", `/v2/jobs/${encodeURIComponent(id)}`);
  }

  jobs(cursor, limit = 12) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    return this.request("GET", `/v2/jobs?${query}`);
  }

  generate(prompt, aspectRatio) {
    return this.request("POST", "/v2/images/generate", {
      json: { prompt, model: "midjourney", midjourneyParams: { aspect_ratio: aspectRatio } },
    });
  }

  cancel(id) {
    return this.request("POST", `/v2/jobs/${encodeURIComponent(id)}/cancel`);
  }

  action(body) {
    return this.request("POST", "/v2/images/midjourney/action", { json: body });
  }

  zoomVideo(body) {
    return this.request("POST", "/v2/videos/zoom", { json: body });
  }

  importFile(file) {
    const form = new FormData();
    form.append("image", file, file.name || "image.png");
    return this.request("POST", "/v2/images/import", { form });
  }

  // GET /v2/jobs/:id/events, read with fetch (an EventSource cannot send the key). Calls
  // onEvent(name, data) for each event; resolves with the final event's data (completed, failed
  // or cancelled), or null when the server ended the stream before the job finished (then open
  // it again).
  async events(id, onEvent, signal) {
    let response;
    try {
      response = await fetch(`/v2/jobs/${encodeURIComponent(id)}/events`, {
        headers: { "X-API-Key": this.key, Accept: "text/event-stream" },
        signal,
      });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new NetworkError(err.message);
    }
    if (!response.ok) {
      let data = null;
      try {
        data = await response.json();
      } catch {
        /* not JSON */
      }
      throw new ApiError(response.status, data);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return null;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
        }
        if (!data) continue;
        const parsed = JSON.parse(data);
        onEvent(name, parsed);
        if (FINAL_EVENTS.has(name)) {
          reader.cancel().catch(() => {});
          return parsed;
        }
      }
    }
  }
}
