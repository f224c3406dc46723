// One card per job: what it is, what it came from, its progress, its images and its buttons.

const ARROWS = { left: "⬅", right: "➡", up: "⬆", down: "⬇" };
const COSTS = { generate: 16, upsample: 4, variation: 16, outpaint: 16, pan: 16, inpaint: 16, import: 0 };
// The zoom video's format: MP4 (H.264) where this browser plays it, else WebM (VP9).
const VIDEO_FORMAT =
  document.createElement("video").canPlayType('video/mp4; codecs="avc1.640028"') ? "mp4" : "webm";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

const ratio = (value) => `${Number(value).toFixed(2).replace(/\.?0+$/, "")}x`;

// What a job is called on its card, as Midjourney's buttons name it.
export function labelOf(action, input = {}) {
  switch (action) {
    case "generate": return "Imagine";
    case "upsample": return input.index ? `Upscale (U${input.index})` : "Upscale";
    case "variation": return input.index ? `Vary (V${input.index})` : "Vary";
    case "outpaint": return input.zoomRatio ? `Zoom Out ${ratio(input.zoomRatio)}` : "Zoom Out";
    case "pan": return input.direction ? `Pan ${ARROWS[input.direction] || input.direction}` : "Pan";
    case "inpaint": return "Vary (Region)";
    case "import": return input.fileName ? `Import · ${input.fileName}` : "Import";
    case "video": return input.direction === "in" ? "Zoom video (in)" : "Zoom video";
    default: return action;
  }
}

const shortId = (id) => id.slice(0, 8);
// The image's own file name (a PNG, or the JPEG an import was kept as).
const fileName = (url) => decodeURIComponent(new URL(url, location.href).pathname.split("/").pop());

export class Card {
  // actions: {submit(body, input), cancel(card), view(url, name), region(card, url), focusJob(id)}
  constructor(job, input, actions, lookup) {
    this.job = job;
    this.input = input || {};
    this.actions = actions;
    this.lookup = lookup; // id -> Card, for the parent's label
    this.node = el("article", { class: "card", id: `job-${job.id}`, tabindex: "-1" });
    this.renderedStatus = null;
    this.render();
  }

  get id() {
    return this.job.id;
  }

  label() {
    return labelOf(this.job.action, this.input);
  }

  // An action without a prompt of its own works from its parent's.
  promptText(depth = 0) {
    if (this.input.prompt) return this.input.prompt;
    const parent = this.job.parentJobId && depth < 50 ? this.lookup(this.job.parentJobId) : null;
    return parent ? parent.promptText(depth + 1) : "";
  }

  update(job) {
    this.job = { ...this.job, ...job };
    if (this.job.status !== this.renderedStatus) this.render();
    else this.setProgress(this.job.progress);
  }

  // A progress event: status and percentage only.
  progress(status, percent) {
    if (status !== this.job.status) {
      this.job = { ...this.job, status, progress: percent };
      this.render();
    } else {
      this.job.progress = percent;
      this.setProgress(percent);
    }
  }

  setProgress(percent) {
    if (!this.bar) return;
    const value = Math.max(0, Math.min(100, Number(percent) || 0));
    this.bar.setAttribute("aria-valuenow", String(value));
    this.bar.dataset.progress = String(value);
    this.fill.style.width = `${value}%`;
    this.percent.textContent = `${value}%`;
  }

  // The parent's label reads better than its id; the parent may not be loaded.
  lineage() {
    const parentId = this.job.parentJobId;
    if (!parentId) return null;
    const parent = this.lookup(parentId);
    const text = parent ? `${parent.label()} · ${shortId(parentId)}` : `job ${shortId(parentId)}`;
    const link = el("a", {
      href: `#job-${parentId}`,
      text,
      onclick: (event) => {
        if (parent) {
          event.preventDefault();
          this.actions.focusJob(parentId);
        }
      },
    });
    return el("p", { class: "lineage" }, el("span", { class: "muted", text: "from " }), link);
  }

  render() {
    const job = this.job;
    this.renderedStatus = job.status;
    this.node.dataset.status = job.status;
    this.node.dataset.action = job.action;
    this.node.classList.remove("no-media");
    this.node.replaceChildren();
    this.bar = null;
    // The images on the left, large; what the job is and its buttons beside them.
    this.media = el("div", { class: "card-media" });
    this.side = el("div", { class: "card-side" });
    this.node.append(this.media, this.side);
    const title = el("h3", { text: this.label() });
    const status = el("span", { class: `status status-${job.status.toLowerCase()}`, text: job.status });
    const when = job.createdAt ? new Date(job.createdAt) : null;
    const time = when ? el("time", { datetime: job.createdAt, text: when.toLocaleTimeString() }) : null;
    this.side.append(el("header", { class: "card-head" }, title, status, time));
    const lineage = this.lineage();
    if (lineage) this.side.append(lineage);
    const prompt = this.promptText();
    if (prompt) this.side.append(el("p", { class: "prompt", text: prompt }));

    if (job.status === "QUEUED" || job.status === "PROCESSING") {
      this.fill = el("span", { class: "bar-fill" });
      this.percent = el("span", { class: "bar-text" });
      this.bar = el(
        "div",
        {
          class: "bar",
          role: "progressbar",
          "aria-label": `${this.label()} progress`,
          "aria-valuemin": "0",
          "aria-valuemax": "100",
        },
        this.fill,
        this.percent,
      );
      this.side.append(this.bar);
      this.setProgress(job.progress || 0);
      if (job.status === "QUEUED") {
        this.side.append(el("p", { class: "muted small", text: "Waiting for a free worker…" }));
      }
      this.side.append(
        el("div", { class: "buttons" },
          el("button", { type: "button", class: "ghost", text: "Cancel", onclick: () => this.actions.cancel(this) })),
      );
      this.media.append(el("div", { class: "placeholder", "aria-hidden": "true" }));
      return;
    }
    if (job.status === "FAILED" || job.status === "CANCELLED") {
      const cost = COSTS[job.action];
      // (a video's price depends on its length: its card does not know the figure)
      const refund = cost
        ? `Its ${cost} credits were refunded.`
        : cost === 0 ? "Nothing was charged." : "Its credits were refunded.";
      const kind = job.status === "FAILED" ? "Failed" : "Cancelled";
      const why = job.error ? `${kind}: ${job.error.replace(/\.$/, "")}. ` : `${kind}. `;
      this.side.append(el("p", { class: "failure", text: `${why}${refund}` }));
      this.node.classList.add("no-media");
      return;
    }
    if (job.expired) {
      this.side.append(el("p", { class: "muted", text: "Its images were deleted by the server's retention." }));
      this.node.classList.add("no-media");
      return;
    }
    if (job.result && job.result.videoUrl) {
      this.renderVideo(job.result);
      return;
    }
    const images = (job.result && job.result.images) || [];
    if (images.length > 1) this.renderGrid(images);
    else if (images.length === 1) this.renderSingle(images[0]);
  }

  thumb(url, name, alt) {
    return el(
      "button",
      {
        type: "button",
        class: "thumb",
        "aria-label": `View ${alt} full size`,
        onclick: () => this.actions.view(url, name),
      },
      el("img", { src: url, alt, loading: "lazy", decoding: "async" }),
    );
  }

  renderGrid(images) {
    const grid = el("div", { class: "grid" });
    images.forEach((url, i) => grid.append(this.thumb(url, fileName(url), `image ${i + 1}`)));
    this.media.append(grid);
    const row = (letter, action) =>
      el(
        "div",
        { class: "buttons", role: "group", "aria-label": action === "upsample" ? "Upscale" : "Vary" },
        ...images.map((_, i) =>
          el("button", {
            type: "button",
            text: `${letter}${i + 1}`,
            title: `${action === "upsample" ? "Upscale" : "Vary"} image ${i + 1}`,
            onclick: () => this.actions.submit({ action, parentJobId: this.id, index: i + 1 }, { index: i + 1 }),
          }),
        ),
      );
    this.side.append(row("U", "upsample"), row("V", "variation"));
  }

  renderVideo(result) {
    const url = result.videoUrl;
    const player = el("video", {
      class: "player",
      src: url,
      controls: true,
      loop: true,
      muted: true,
      playsinline: true,
      preload: "metadata",
      "aria-label": "the zoom video",
    });
    this.media.append(el("div", { class: "single" }, player));
    this.side.append(
      el("p", { class: "muted small", text: `${result.width}×${result.height}, ${result.frames} frames, ${result.seconds} s` }),
      el(
        "div",
        { class: "buttons" },
        el("a", { class: "button", href: url, download: `outframe-${fileName(url)}`, text: "Download" }),
      ),
    );
  }

  // An upsample of a zoom-out ends a chain of them: it can be made into a zoom video.
  endsChain() {
    const parent = this.job.parentJobId ? this.lookup(this.job.parentJobId) : null;
    return this.job.action === "upsample" && parent !== null && parent !== undefined && parent.job.action === "outpaint";
  }

  renderSingle(url) {
    this.media.append(el("div", { class: "single" }, this.thumb(url, fileName(url), "the image")));
    const submit = (body, input) => this.actions.submit({ parentJobId: this.id, ...body }, input);
    const zoom = (value) => submit({ action: "outpaint", zoomRatio: value }, { zoomRatio: value });
    const slider = el("input", {
      type: "range",
      min: "1.01",
      max: "2",
      step: "0.01",
      value: "1.25",
      "aria-label": "Custom Zoom ratio",
    });
    const custom = el("button", { type: "button", text: "Custom Zoom 1.25x" });
    slider.addEventListener("input", () => {
      custom.textContent = `Custom Zoom ${ratio(slider.value)}`;
    });
    custom.addEventListener("click", () => zoom(Number(slider.value)));
    this.side.append(
      el(
        "div",
        { class: "buttons", role: "group", "aria-label": "Zoom Out" },
        el("button", { type: "button", text: "Zoom Out 2x", onclick: () => zoom(2) }),
        el("button", { type: "button", text: "Zoom Out 1.5x", onclick: () => zoom(1.5) }),
        el("span", { class: "custom-zoom" }, slider, custom),
      ),
      el(
        "div",
        { class: "buttons", role: "group", "aria-label": "Pan and edit" },
        ...Object.entries(ARROWS).map(([direction, arrow]) =>
          el("button", {
            type: "button",
            class: "arrow",
            text: arrow,
            "aria-label": `Pan ${direction}`,
            title: `Pan ${direction}`,
            onclick: () => submit({ action: "pan", direction }, { direction }),
          }),
        ),
        el("button", { type: "button", text: "Vary (Region)", onclick: () => this.actions.region(this, url) }),
        el("a", { class: "button", href: url, download: `outframe-${fileName(url)}`, text: "Download" }),
      ),
    );
    if (this.endsChain()) {
      const direction = el(
        "select",
        { "aria-label": "Zoom video direction" },
        el("option", { value: "out", text: "out" }),
        el("option", { value: "in", text: "in" }),
      );
      const make = () => {
        const body = { jobId: this.id, direction: direction.value, format: VIDEO_FORMAT };
        this.actions.video(body, { direction: direction.value });
      };
      this.side.append(
        el(
          "div",
          { class: "buttons", role: "group", "aria-label": "Zoom video" },
          el("button", { type: "button", text: "Zoom video", title: "A video zooming through the chain of zoom-outs", onclick: make }),
          direction,
        ),
      );
    }
  }
}
