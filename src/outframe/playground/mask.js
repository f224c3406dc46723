// Vary (Region): paint the area to repaint over the image; the mask is sent as a PNG of the
// image's own size, white where painted and black elsewhere.

const $ = (id) => document.getElementById(id);

export class RegionEditor {
  constructor(onSubmit) {
    this.onSubmit = onSubmit; // (card, maskBase64, prompt) => Promise<boolean>
    this.dialog = $("region");
    this.image = $("region-image");
    this.canvas = $("region-canvas");
    this.brush = $("brush-size");
    this.prompt = $("region-prompt");
    this.ctx = this.canvas.getContext("2d");
    this.mask = document.createElement("canvas"); // the real mask, black and white
    this.cursor = null; // the keyboard brush's position, in image pixels
    this.painted = false;
    this.drawing = false;

    this.canvas.addEventListener("pointerdown", (e) => {
      this.drawing = true;
      this.canvas.setPointerCapture(e.pointerId);
      this.paintAt(this.toImage(e));
    });
    this.canvas.addEventListener("pointermove", (e) => {
      if (this.drawing) this.paintAt(this.toImage(e));
    });
    const stop = () => {
      this.drawing = false;
    };
    this.canvas.addEventListener("pointerup", stop);
    this.canvas.addEventListener("pointercancel", stop);
    this.canvas.addEventListener("keydown", (e) => this.key(e));
    $("region-clear").addEventListener("click", () => this.clear());
    $("region-cancel").addEventListener("click", () => this.dialog.close());
    $("region-submit").addEventListener("click", () => this.submit());
  }

  open(card, url) {
    this.card = card;
    this.prompt.value = "";
    this.prompt.placeholder = card.input.prompt || "(the parent's prompt)";
    $("region-submit").disabled = true;
    this.image.onload = () => {
      const { naturalWidth: w, naturalHeight: h } = this.image;
      // Shown as large as the dialog allows (small images scaled up): the brush needs room.
      const room = Math.min(this.dialog.clientWidth - 40, 820);
      const scale = Math.min(room / w, (window.innerHeight * 0.6) / h);
      this.image.style.width = `${Math.round(w * scale)}px`;
      this.image.style.height = `${Math.round(h * scale)}px`;
      for (const c of [this.canvas, this.mask]) {
        c.width = w;
        c.height = h;
      }
      this.cursor = { x: w / 2, y: h / 2 };
      this.clear();
      this.canvas.focus();
    };
    this.image.src = url;
    this.dialog.showModal();
  }

  toImage(event) {
    const box = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) / box.width) * this.canvas.width,
      y: ((event.clientY - box.top) / box.height) * this.canvas.height,
    };
  }

  // The brush's radius in image pixels: the slider is in screen pixels.
  radius() {
    const box = this.canvas.getBoundingClientRect();
    const scale = box.width ? this.canvas.width / box.width : 1;
    return (Number(this.brush.value) / 2) * scale;
  }

  paintAt({ x, y }) {
    const r = this.radius();
    this.ctx.fillStyle = "rgba(255, 64, 160, 0.55)";
    this.ctx.beginPath();
    this.ctx.arc(x, y, r, 0, Math.PI * 2);
    this.ctx.fill();
    const m = this.mask.getContext("2d");
    m.fillStyle = "#fff";
    m.beginPath();
    m.arc(x, y, r, 0, Math.PI * 2);
    m.fill();
    this.painted = true;
    $("region-submit").disabled = false;
  }

  key(event) {
    if (!this.cursor) return;
    const step = Math.max(4, this.radius());
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[event.key]) {
      event.preventDefault();
      const [dx, dy] = moves[event.key];
      this.cursor.x = Math.max(0, Math.min(this.canvas.width, this.cursor.x + dx));
      this.cursor.y = Math.max(0, Math.min(this.canvas.height, this.cursor.y + dy));
      if (event.shiftKey) this.paintAt(this.cursor);
    } else if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      this.paintAt(this.cursor);
    }
  }

  clear() {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const m = this.mask.getContext("2d");
    m.fillStyle = "#000";
    m.fillRect(0, 0, this.mask.width, this.mask.height);
    this.painted = false;
    $("region-submit").disabled = true;
  }

  async submit() {
    if (!this.painted) return;
    const mask = this.mask.toDataURL("image/png").split(",", 2)[1];
    const prompt = this.prompt.value.trim();
    if (await this.onSubmit(this.card, mask, prompt || undefined)) this.dialog.close();
  }
}
