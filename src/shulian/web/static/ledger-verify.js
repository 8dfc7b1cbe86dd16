/* The public ledger verifier: a signed checkpoint or a receipt is checked here, in the reader's
   browser, so nobody has to trust the library's server for the answer. SHA-256 and Ed25519 come
   from WebCrypto (crypto.subtle); the rest follows the formats exactly:
   - a verifier key is "<name>+<key hash, 8 hex>+<base64(0x01 || Ed25519 public key)>", its key
     hash the first 4 bytes of SHA-256(name || "\n" || 0x01 || public key);
   - a C2SP signed note is its text, a blank line, then lines "— <name> <base64(key hash || sig)>";
   - a checkpoint's text is origin, tree size, base64 root hash, one a line;
   - a leaf hashes as SHA-256(0x00 || leaf), a node as SHA-256(0x01 || left || right), and an
     inclusion proof is checked as RFC 9162 section 2.1.3.2 says.
   The checks, their names and their order are those of POST /api/v1/ledger/verify
   (shulian.ledger.check), which this page falls back on only where the browser lacks WebCrypto
   (a page served over plain HTTP), and then says so. Texts come from the page, in its language. */

const DASH = "\u2014";
const HASH_SIZE = 32;
const ED25519_BYTES = 64;
// A key hash and at least one byte of signature. Lines of other kinds share a note (a witness's
// cosignature: key ID, timestamp, signature) and are skipped, as C2SP asks of a verifier.
const MIN_SIGNATURE_BYTES = 5;
const enc = new TextEncoder();

/* -- bytes ------------------------------------------------------------------------------------ */

class Bad extends Error {
  constructor(code, params) {
    super(code);
    this.code = code;
    this.params = params || {};
  }
}

function fromBase64(text) {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error("base64");
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function toBase64(bytes) {
  return btoa(String.fromCharCode(...bytes));
}

function fromHex(text) {
  if (typeof text !== "string" || !/^([0-9a-fA-F]{2})*$/.test(text)) throw new Error("hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function same(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const leafHash = (data) => sha256(concat(Uint8Array.of(0), data));
const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

/* -- formats ---------------------------------------------------------------------------------- */

async function parseKey(vkey) {
  const text = vkey.trim();
  const first = text.indexOf("+");
  const second = first < 0 ? -1 : text.indexOf("+", first + 1);
  if (second < 0) throw new Bad("key_malformed");
  const name = text.slice(0, first);
  const hashHex = text.slice(first + 1, second);
  let raw;
  try { raw = fromBase64(text.slice(second + 1)); } catch (e) { throw new Bad("key_malformed"); }
  if (!name || raw.length !== 33 || raw[0] !== 1) throw new Bad("key_not_ed25519");
  const publicKey = raw.slice(1);
  const hash = (await sha256(concat(enc.encode(name + "\n"), Uint8Array.of(1), publicKey)))
    .slice(0, 4);
  if (toHex(hash) !== hashHex) throw new Bad("key_hash_mismatch");
  return { name, hash, publicKey };
}

/* The note's text and signature lines, numbered as an editor numbers them. */
function splitNote(note) {
  const at = note.lastIndexOf("\n\n");
  if (at <= 0) throw new Bad("note_no_blank");
  const head = note.slice(0, at);
  const first = head.split("\n").length + 2;
  const lines = note.slice(at + 2).split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  const sigs = lines.map((line, i) => {
    const n = first + i;
    const parts = line.split(" ");
    if (parts.length !== 3 || parts[0] !== DASH || !parts[1]) throw new Bad("note_bad_line", { line: n });
    let raw;
    try { raw = fromBase64(parts[2]); } catch (e) { throw new Bad("note_bad_base64", { line: n }); }
    if (raw.length < MIN_SIGNATURE_BYTES) throw new Bad("note_bad_length", { line: n, bytes: raw.length });
    return { line: n, name: parts[1], hash: raw.slice(0, 4), signature: raw.slice(4) };
  });
  if (!sigs.length) throw new Bad("note_unsigned");
  return { text: head + "\n", sigs };
}

function parseCheckpoint(text) {
  const lines = text.split("\n");
  if (lines.length < 4 || lines[lines.length - 1] !== "") throw new Bad("cp_lines");
  const [origin, size, rootText] = lines;
  if (!origin) throw new Bad("cp_origin");
  if (!/^(0|[1-9][0-9]*)$/.test(size)) throw new Bad("cp_size", { value: size.slice(0, 30) });
  let root;
  try { root = fromBase64(rootText); } catch (e) { throw new Bad("cp_root_base64"); }
  if (root.length !== HASH_SIZE) throw new Bad("cp_root_length", { bytes: root.length });
  return { origin, size: Number(size), root };
}

async function ed25519(publicKey, signature, text) {
  let key;
  try {
    key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch (e) {
    throw new Bad("sig_unsupported");
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, enc.encode(text));
}

function hash32(value, what) {
  let raw;
  try { raw = fromHex(value); } catch (e) { throw new Bad("hash_not_hex", { what }); }
  if (raw.length !== HASH_SIZE) throw new Bad("hash_length", { what, bytes: raw.length });
  return raw;
}

/* RFC 9162 2.1.3.2: from the leaf hash up to a root, with the proof's hashes. */
async function verifyInclusion(leaf, index, size, proof, root) {
  if (!(index >= 0 && index < size)) throw new Bad("incl_index", { index, size });
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new Bad("incl_long");
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Bad("incl_short");
  if (!same(r, root)) throw new Bad("incl_root");
}

const RECEIPT_FIELDS = [
  ["event_seq", "number"], ["checkpoint", "string"], ["leaf", "object"], ["leaf.index", "number"],
  ["leaf.event_seq", "number"], ["leaf.leaf_hash", "string"], ["leaf.data", "string"],
  ["proof", "object"], ["proof.index", "number"], ["proof.tree_size", "number"],
  ["proof.leaf_hash", "string"], ["proof.proof", "array"], ["proof.root_hash", "string"],
];

function parseReceipt(text) {
  let doc;
  try { doc = JSON.parse(text); } catch (e) { throw new Bad("receipt_not_json", { error: e.message }); }
  for (const [path, kind] of RECEIPT_FIELDS) {
    const value = path.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), doc);
    const ok = kind === "array" ? Array.isArray(value)
      : kind === "number" ? Number.isInteger(value)
      : typeof value === kind && value !== null;
    if (!ok) throw new Bad("receipt_field", { field: path });
  }
  if (!doc.proof.proof.every((p) => typeof p === "string")) throw new Bad("receipt_field", { field: "proof.proof" });
  return doc;
}

/* -- the checks ------------------------------------------------------------------------------- */

/* Every check that could run, in order, as {name, ok, code, params}. A check whose input could
   not be read is left out; the check that failed to read it says why. */
export async function verify({ key, text }) {
  const checks = [];
  const pass = (name, code, params) => checks.push({ name, ok: true, code, params: params || {} });
  async function run(name, fn) {
    try { return await fn(); } catch (e) {
      if (!(e instanceof Bad)) throw e;
      checks.push({ name, ok: false, code: e.code, params: e.params });
      return null;
    }
  }
  const verifier = await run("key", async () => {
    const v = await parseKey(key);
    pass("key", "key_ok", { name: v.name, hash: toHex(v.hash) });
    return v;
  });
  let receipt = null;
  let note = text.replace(/\r\n/g, "\n");
  if (note.trim().startsWith("{")) {
    receipt = await run("receipt", () => {
      const r = parseReceipt(note);
      pass("receipt", "receipt_ok", { seq: r.event_seq, index: r.proof.index });
      return r;
    });
    note = receipt ? receipt.checkpoint.replace(/\r\n/g, "\n") : null;
  }
  let cp = null;
  let event = null;
  const split = note === null ? null : await run("note", () => {
    const s = splitNote(note);
    pass("note", "note_ok", { count: s.sigs.length });
    return s;
  });
  if (split) {
    cp = await run("checkpoint", () => {
      const c = parseCheckpoint(split.text);
      pass("checkpoint", "checkpoint_ok", { origin: c.origin, size: c.size, root: toHex(c.root) });
      return c;
    });
    if (verifier && cp) {
      if (cp.origin === verifier.name) pass("origin", "origin_ok", { origin: cp.origin });
      else checks.push({ name: "origin", ok: false, code: "origin_wrong", params: { origin: cp.origin, name: verifier.name } });
    }
    if (verifier) await run("signature", () => checkSignature(split, verifier, pass));
  }
  if (receipt) {
    event = await run("leaf", () => checkLeaf(receipt, pass));
    const computed = await leafHash(enc.encode(receipt.leaf.data));
    await run("leaf_hash", () => {
      for (const [what, value] of [["what_leaf", receipt.leaf.leaf_hash], ["what_proof", receipt.proof.leaf_hash]]) {
        if (!same(hash32(value, what), computed)) {
          throw new Bad("leaf_hash_mismatch", { computed: toHex(computed), what, stated: value });
        }
      }
      pass("leaf_hash", "leaf_hash_ok", { hash: toHex(computed) });
    });
    if (cp) {
      await run("tree", () => {
        if (receipt.proof.tree_size !== cp.size) {
          throw new Bad("tree_size_mismatch", { proof: receipt.proof.tree_size, size: cp.size });
        }
        if (receipt.proof.root_hash.toLowerCase() !== toHex(cp.root)) {
          throw new Bad("tree_root_mismatch", { proof: receipt.proof.root_hash, root: toHex(cp.root) });
        }
        pass("tree", "tree_ok", { size: cp.size, root: toHex(cp.root) });
      });
      await run("inclusion", async () => {
        const proof = receipt.proof.proof.map((p, i) => hash32(p, "what_element:" + i));
        await verifyInclusion(computed, receipt.proof.index, cp.size, proof, cp.root);
        pass("inclusion", "incl_ok", { index: receipt.proof.index, size: cp.size, count: proof.length });
      });
    }
  }
  return {
    ok: checks.length > 0 && checks.every((c) => c.ok),
    checks,
    checkpoint: cp && { origin: cp.origin, size: cp.size, root: toHex(cp.root) },
    event,
  };
}

async function checkSignature(split, verifier, pass) {
  const mine = split.sigs.filter((s) => s.name === verifier.name);
  if (!mine.length) {
    const names = [...new Set(split.sigs.map((s) => s.name))].sort().join(", ");
    throw new Bad("sig_no_key", { name: verifier.name, names });
  }
  const matching = mine.filter((s) => same(s.hash, verifier.hash));
  if (!matching.length) {
    throw new Bad("sig_wrong_hash", { line: mine[0].line, hash: toHex(mine[0].hash), key: toHex(verifier.hash) });
  }
  for (const s of matching) {
    if (s.signature.length === ED25519_BYTES && await ed25519(verifier.publicKey, s.signature, split.text)) {
      pass("signature", "sig_ok", { line: s.line, name: verifier.name });
      return;
    }
  }
  throw new Bad("sig_bad", { line: matching[0].line });
}

function checkLeaf(receipt, pass) {
  let doc;
  try { doc = JSON.parse(receipt.leaf.data); } catch (e) { throw new Bad("leaf_not_json"); }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new Bad("leaf_not_object");
  if (doc.seq !== receipt.event_seq || receipt.leaf.event_seq !== receipt.event_seq) {
    throw new Bad("leaf_wrong_event", { seq: String(doc.seq), expected: receipt.event_seq });
  }
  if (receipt.leaf.index !== receipt.proof.index) {
    throw new Bad("leaf_wrong_index", { leaf: receipt.leaf.index, proof: receipt.proof.index });
  }
  pass("leaf", "leaf_ok", { seq: receipt.event_seq, type: String(doc.type), index: receipt.proof.index });
  return doc;
}

/* -- the page --------------------------------------------------------------------------------- */

const form = typeof document === "undefined" ? null : document.getElementById("verify-form");
if (form) setUp(form);

function setUp(form) {
  const texts = JSON.parse(document.getElementById("verify-messages").textContent);
  const messages = Object.assign({}, texts.checks, texts.ui);
  const label = (name) => texts.labels[name] || name;
  const input = form.elements.input;
  const keyBox = form.elements.key;
  const result = document.getElementById("verify-result");
  const status = document.getElementById("verify-status");

  function t(code, params) {
    const [base, arg] = String(code).split(":");
    const template = messages[base] || code;
    const all = Object.assign({ n: arg }, params || {});
    return template.replace(/\{(\w+)\}/g, (m, k) => {
      if (!(k in all)) return m;
      const v = all[k];
      return typeof v === "string" && v.startsWith("what_") ? t(v) : String(v);
    });
  }

  function say(text, kind) {
    status.textContent = text || "";
    status.className = "notice" + (kind ? " " + kind : "");
    status.hidden = !text;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  }

  function show(outcome, where) {
    result.replaceChildren();
    const failed = outcome.checks.filter((c) => !c.ok);
    const verdict = outcome.ok ? t("verdict_ok")
      : t("verdict_failed", { checks: failed.map((c) => label(c.name)).join(messages.list_sep) });
    result.append(el("p", { class: "notice " + (outcome.ok ? "ok" : "error"), role: "status",
      "data-testid": "verify-verdict", "data-ok": String(outcome.ok) }, verdict));
    result.append(el("p", { class: "hint", "data-testid": "verify-where" }, t(where)));
    const list = el("ol", { class: "checks", "data-testid": "verify-checks" });
    for (const c of outcome.checks) {
      list.append(el("li", { class: "check " + (c.ok ? "ok" : "fail"), "data-check": c.name,
        "data-ok": String(c.ok), "data-testid": "check" },
        el("span", { class: "mark", "aria-hidden": "true" }, c.ok ? "✓" : "✗"),
        el("strong", {}, label(c.name)),
        el("span", { class: "detail" }, c.detail !== undefined ? c.detail : t(c.code, c.params))));
    }
    result.append(list);
    if (outcome.event) result.append(eventCard(outcome.event));
    result.hidden = false;
  }

  function eventCard(doc) {
    const dl = el("dl", {});
    const row = (title, value) => {
      if (value === undefined || value === null || value === "") return;
      dl.append(el("dt", {}, title), el("dd", {}, String(value)));
    };
    row(t("f_type"), doc.type);
    row(t("f_seq"), doc.seq);
    row(t("f_at"), doc.at ? doc.at + " (" + new Date(doc.at).toLocaleString(document.documentElement.lang) + ")" : "");
    row(t("f_branch"), doc.branch);
    row(t("f_actor"), doc.actor);
    row(t("f_subject"), doc.subject);
    const payload = doc.payload && typeof doc.payload === "object" ? doc.payload : {};
    row(t("f_reader"), payload.reader);
    row(t("f_due"), payload.due);
    const card = el("section", { class: "card", "data-testid": "verify-event" }, el("h2", {}, t("event_title")), dl);
    if (payload.terms && typeof payload.terms === "object") {
      const terms = el("dl", { "data-testid": "verify-terms" });
      for (const [k, v] of Object.entries(payload.terms)) {
        if (v === null || v === undefined) continue;
        const money = k.endsWith("_cents") && typeof v === "number";
        const name = messages["term_" + k] || k;
        const shown = money ? (v / 100).toFixed(2) : typeof v === "boolean" ? t(v ? "yes" : "no") : String(v);
        terms.append(el("dt", {}, name), el("dd", {}, shown));
      }
      card.append(el("h3", {}, t("terms_title")), terms);
    }
    const raw = el("details", {}, el("summary", {}, t("raw_leaf")),
      el("pre", { class: "leafjson" }, JSON.stringify(doc, null, 2)));
    card.append(raw);
    return card;
  }

  async function serverCheck(key, text) {
    const body = { key };
    const trimmed = text.trim();
    if (trimmed.startsWith("{")) body.receipt = trimmed; else body.checkpoint = text;
    const r = await fetch("/api/v1/ledger/verify", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(r.status);
    return r.json();
  }

  async function check() {
    const text = input.value;
    if (!text.trim()) { say(t("nothing_pasted"), "error"); result.hidden = true; return; }
    say(t("checking"));
    try {
      if (window.isSecureContext && window.crypto && crypto.subtle) {
        let outcome = await verify({ key: keyBox.value, text });
        if (outcome.checks.some((c) => c.code === "sig_unsupported")) {
          outcome = await serverCheck(keyBox.value, text);
          show(outcome, "where_server");
        } else {
          show(outcome, "where_browser");
        }
      } else {
        show(await serverCheck(keyBox.value, text), "where_server");
      }
      say("");
    } catch (e) {
      say(t("check_error"), "error");
    }
  }

  // A loan made a moment ago enters the ledger within a second and is signed within a few:
  // until then the receipt answers "not in the ledger yet" or "not checkpointed yet"; wait.
  const PENDING = ["EventNotInLedger", "NotYetCheckpointed"];
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

  async function load(url, what, tries = 20) {
    say(t("loading_" + what));
    try {
      const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const body = await r.text();
      if (!r.ok) {
        let error = {};
        try { error = JSON.parse(body); } catch (e) { /* plain text */ }
        if (PENDING.includes(error.error) && tries > 1) {
          say(t("waiting"));
          await sleep(2000);
          return load(url, what, tries - 1);
        }
        say(t("load_failed", { reason: error.message || body }), "error");
        return;
      }
      input.value = what === "checkpoint" ? body : JSON.stringify(JSON.parse(body), null, 2);
      await check();
    } catch (e) {
      say(t("load_failed", { reason: String(e.message || e) }), "error");
    }
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); check(); });
  document.getElementById("verify-latest").addEventListener("click", () => load("/api/v1/ledger/checkpoint", "checkpoint"));
  const loan = form.dataset.loan;
  const seq = form.dataset.seq;
  if (loan) load("/api/v1/circulation/me/loans/" + encodeURIComponent(loan) + "/receipt", "loan");
  else if (seq) load("/api/v1/ledger/events/" + encodeURIComponent(seq) + "/receipt", "event");
  form.dataset.ready = "true";
}
