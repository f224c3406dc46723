// The playground: the key, the account, the composer, the feed of cards and their live progress.

import { Api, ApiError, NetworkError, isTerminal } from "./api.js";
import { Card } from "./cards.js";
import { RegionEditor } from "./mask.js";

const $ = (id) => document.getElementById(id);
const KEY = "outframe.apiKey";
const INPUTS = "outframe.inputs"; // what this browser submitted, for servers whose jobs lack `input`
const MAX_INPUTS = 500;
// Each stream holds a connection, and a browser opens six per server: past this many jobs in
// flight, the others are polled.
const MAX_STREAMS = 3;
const POLL_MS = 1500;
const PAGE_SIZE = 8;

let api = null;
const cards = new Map(); // job id -> Card
let nextCursor = null;
let streams = 0;
let me = null;

// --- errors ----------------------------------------------------------------------------------

function showError(err) {
  if (err && err.name === "AbortError") return;
  const text = err instanceof ApiError || err instanceof NetworkError ? err.describe() : String(err);
  const box = $("errors");
  const item = document.createElement("div");
  item.className = "error";
  if (err instanceof ApiError) item.dataset.status = String(err.status);
  const message = document.createElement("span");
  message.textContent = text;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "ghost";
  close.textContent = "Dismiss";
  close.addEventListener("click", () => item.remove());
  item.append(message, close);
  box.append(item);
  while (box.children.length > 4) box.firstElementChild.remove();
}

// --- inputs remembered locally -----------------------------------------------------------------

function loadInputs() {
  try {
    return JSON.parse(localStorage.getItem(INPUTS) || "{}");
  } catch {
    return {};
  }
}

function remember(id, input) {
  const inputs = loadInputs();
  inputs[id] = input;
  const ids = Object.keys(inputs);
  for (const old of ids.slice(0, Math.max(0, ids.length - MAX_INPUTS))) delete inputs[old];
  localStorage.setItem(INPUTS, JSON.stringify(inputs));
}

function inputOf(job) {
  const local = loadInputs()[job.id] || {};
  return { ...local, ...(job.input || {}) };
}

// --- account -------------------------------------------------------------------------------------

async function refreshAccount() {
  try {
    me = await api.me();
  } catch (err) {
    showError(err);
    return;
  }
  $("team-name").textContent = me.team.name;
  $("credits").textContent = String(me.team.credits);
  showConcurrency();
}

function showConcurrency() {
  if (!me) return;
  const running = [...cards.values()].filter((c) => c.job.status === "PROCESSING").length;
  $("concurrency").textContent = `${running} / ${me.team.maxConcurrentJobs}`;
}

let accountTimer = null;
function refreshAccountSoon() {
  clearTimeout(accountTimer);
  accountTimer = setTimeout(refreshAccount, 150);
}

// --- following a job -----------------------------------------------------------------------------

async function follow(card) {
  if (card.following) return;
  card.following = true;
  try {
    while (!isTerminal(card.job.status)) {
      if (streams < MAX_STREAMS && !card.streamFailed) {
        streams += 1;
        try {
          const final = await api.events(card.id, (name, data) => {
            if (name === "progress") card.progress(data.status, data.progress);
          });
          if (final) break; // else the server closed a long stream: open it again
        } catch (err) {
          if (err instanceof ApiError) throw err;
          card.streamFailed = true; // polling from now on
        } finally {
          streams -= 1;
        }
        showConcurrency();
      } else {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        const job = await api.job(card.id);
        card.update(job);
        showConcurrency();
      }
    }
    card.update(await api.job(card.id)); // the whole job: result, error, creditCost
  } catch (err) {
    showError(err);
  } finally {
    card.following = false;
    showConcurrency();
    refreshAccountSoon();
  }
}

// --- cards ---------------------------------------------------------------------------------------

const cardActions = {
  submit: (body, input) => submitAction(body, input),
  video: async (body, input) => {
    const parent = cards.get(body.jobId);
    try {
      const answer = await api.zoomVideo(body);
      await started(answer.jobId, { ...input, prompt: (parent && parent.promptText()) || undefined });
    } catch (err) {
      showError(err);
    }
  },
  cancel: async (card) => {
    try {
      card.update(await api.cancel(card.id));
    } catch (err) {
      showError(err);
    }
    refreshAccountSoon();
  },
  view: (url, name) => openViewer(url, name),
  region: (card, url) => region.open(card, url),
  focusJob: (id) => {
    const card = cards.get(id);
    if (!card) return;
    card.node.scrollIntoView({ behavior: "smooth", block: "center" });
    card.node.focus({ preventScroll: true });
  },
};

function addCard(job, { atTop }) {
  let card = cards.get(job.id);
  if (card) {
    card.update(job);
    return card;
  }
  card = new Card(job, inputOf(job), cardActions, (id) => cards.get(id));
  cards.set(job.id, card);
  const feed = $("feed");
  if (atTop) feed.prepend(card.node);
  else feed.append(card.node);
  $("feed-empty").hidden = true;
  if (!isTerminal(job.status)) follow(card);
  return card;
}

async function started(jobId, input) {
  remember(jobId, input);
  const job = await api.job(jobId);
  const card = addCard(job, { atTop: true });
  card.node.scrollIntoView({ behavior: "smooth", block: "nearest" });
  refreshAccountSoon();
  return card;
}

async function submitAction(body, input) {
  const parent = cards.get(body.parentJobId);
  const full = { ...input, prompt: body.prompt || (parent && parent.promptText()) || undefined };
  try {
    const answer = await api.action(body);
    await started(answer.jobId, full);
    return true;
  } catch (err) {
    showError(err);
    return false;
  }
}

async function loadHistory() {
  try {
    const page = await api.jobs(nextCursor, PAGE_SIZE);
    for (const job of page.jobs) addCard(job, { atTop: false });
    nextCursor = page.nextCursor;
    $("load-more").hidden = !page.hasMore;
    $("feed-empty").hidden = cards.size > 0;
    // Labels of parents loaded after their children.
    for (const card of cards.values()) {
      if (card.job.parentJobId && page.jobs.some((j) => j.id === card.job.parentJobId)) card.render();
    }
  } catch (err) {
    showError(err);
  }
}

// --- the viewer ----------------------------------------------------------------------------------

function openViewer(url, name) {
  $("viewer-image").src = url;
  $("viewer-image").alt = name;
  $("viewer-download").href = url;
  $("viewer-download").download = `outframe-${name}`;
  $("viewer").showModal();
}

// --- the key -------------------------------------------------------------------------------------

async function useKey(key) {
  api = new Api(key);
  try {
    me = await api.me();
  } catch (err) {
    api = null;
    showError(err);
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      localStorage.removeItem(KEY);
    }
    return;
  }
  localStorage.setItem(KEY, key);
  $("key-form").hidden = true;
  $("welcome").hidden = true;
  $("account").hidden = false;
  $("studio").hidden = false;
  await refreshAccount();
  $("feed").replaceChildren();
  cards.clear();
  nextCursor = null;
  await loadHistory();
  $("prompt").focus();
}

function forgetKey() {
  localStorage.removeItem(KEY);
  api = null;
  me = null;
  cards.clear();
  $("feed").replaceChildren();
  $("account").hidden = true;
  $("studio").hidden = true;
  $("welcome").hidden = false;
  $("key-form").hidden = false;
  $("key-input").value = "";
  $("key-input").focus();
}

// --- imagine and import --------------------------------------------------------------------------

async function imagine(event) {
  event.preventDefault();
  const text = $("prompt").value.trim();
  if (!text) return;
  const seed = $("seed").value.trim();
  const prompt = seed ? `${text} --seed ${seed}` : text;
  const button = $("imagine");
  button.disabled = true;
  try {
    const answer = await api.generate(prompt, $("aspect").value);
    await started(answer.jobId, { prompt });
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

async function importFile(file) {
  if (!file) return;
  try {
    const answer = await api.importFile(file);
    await started(answer.jobId, { fileName: file.name });
  } catch (err) {
    showError(err);
  }
}

function setUpDrop() {
  const zone = $("drop-zone");
  let depth = 0;
  const hasFile = (e) => e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  document.addEventListener("dragenter", (e) => {
    if (!api || !hasFile(e)) return;
    depth += 1;
    zone.hidden = false;
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.hidden = true;
  });
  document.addEventListener("dragover", (e) => {
    if (hasFile(e)) e.preventDefault();
  });
  document.addEventListener("drop", (e) => {
    if (!hasFile(e)) return;
    e.preventDefault();
    depth = 0;
    zone.hidden = true;
    if (api) importFile(e.dataTransfer.files[0]);
  });
}

// --- start ---------------------------------------------------------------------------------------

const region = new RegionEditor(async (card, mask, prompt) =>
  submitAction({ action: "inpaint", parentJobId: card.id, mask, prompt }, {}),
);

function start() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (key) useKey(key);
  });
  $("forget-key").addEventListener("click", forgetKey);
  $("imagine-form").addEventListener("submit", imagine);
  $("import-button").addEventListener("click", () => $("import-file").click());
  $("import-file").addEventListener("change", (e) => {
    importFile(e.target.files[0]);
    e.target.value = "";
  });
  $("load-more").addEventListener("click", loadHistory);
  $("viewer-image").addEventListener("click", () => $("viewer").close());
  setUpDrop();
  const saved = localStorage.getItem(KEY);
  if (saved) useKey(saved);
  else $("key-input").focus();
}

start();
