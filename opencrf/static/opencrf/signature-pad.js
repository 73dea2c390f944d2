/**
 * Draw-on-screen signatures for file fields with the `signature` validation (REDCap's
 * signature field), in data entry, in surveys and on the e-consent page.
 *
 * Each `<input type="file" data-signature>` gets a canvas to sign on with a finger, a pen or
 * the mouse (Pointer Events), a Clear button, and a text box to sign by typing one's name
 * instead (the keyboard fallback: the name is drawn on the canvas). Whatever is on the canvas
 * becomes a PNG file put into the file input itself, so the form submits it as an ordinary
 * upload that the server checks by content. The input stays the submitted field; it is only
 * hidden. Texts come from `data-signature-*` attributes on the nearest `[data-crf-widgets]`
 * element (dictionary/render/widget_texts.html). No inline script or style: CSP-safe.
 */

const WIDTH = 600;
const HEIGHT = 200;
const INK = "#10204a";

const DEFAULT_TEXTS = {
  signatureLabel: "Signature pad: draw your signature with a finger, a pen or the mouse",
  signatureClear: "Clear signature",
  signatureType: "Or type your name to sign with the keyboard",
  signatureSigned: "Signed",
  signatureEmpty: "Not signed yet",
};

/** The texts of the widget: from the nearest `[data-crf-widgets]`, else English. */
function textsFor(input) {
  const holder = input.closest("[data-crf-widgets]");
  const texts = { ...DEFAULT_TEXTS };
  if (holder) {
    for (const key of Object.keys(DEFAULT_TEXTS)) {
      if (holder.dataset[key]) texts[key] = holder.dataset[key];
    }
  }
  return texts;
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

/** Give one file input its signature pad; returns the pad's container (or null if skipped). */
export function initSignaturePad(input) {
  if (input.dataset.signatureReady || input.disabled) return null;
  input.dataset.signatureReady = "1";
  const texts = textsFor(input);
  const id = input.id || `signature-${input.name}`;
  const box = element("div", { class: "crf-signature", "data-testid": `signature-${input.name}` });
  const canvas = element("canvas", {
    class: "crf-signature-canvas",
    width: String(WIDTH),
    height: String(HEIGHT),
    role: "img",
    "aria-label": texts.signatureLabel,
    "data-testid": `signature-canvas-${input.name}`,
  });
  canvas.style.touchAction = "none"; // CSSOM, not an inline style attribute: allowed by CSP
  const bar = element("div", { class: "crf-signature-bar" });
  const clear = element(
    "button",
    { type: "button", class: "btn btn-sm btn-outline-secondary" },
    texts.signatureClear,
  );
  const state = element("span", { class: "crf-signature-state small", "aria-live": "polite" });
  state.textContent = texts.signatureEmpty;
  bar.append(clear, state);
  const typedId = `${id}-typed`;
  const typedLabel = element("label", { class: "form-label small mt-2", for: typedId }, texts.signatureType);
  const typed = element("input", {
    type: "text",
    id: typedId,
    class: "form-control",
    autocomplete: "name",
    maxlength: "100",
  });
  box.append(canvas, bar, typedLabel, typed);
  input.hidden = true;
  input.after(box);

  const context = canvas.getContext("2d");
  let drawing = false;
  let inked = false;
  let last = null;

  function blank() {
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, WIDTH, HEIGHT);
    context.strokeStyle = "#c9cfd8";
    context.lineWidth = 1;
    context.beginPath();
    context.moveTo(20, HEIGHT - 40);
    context.lineTo(WIDTH - 20, HEIGHT - 40);
    context.stroke();
    inked = false;
  }

  function point(event) {
    const rect = canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * WIDTH) / rect.width,
      y: ((event.clientY - rect.top) * HEIGHT) / rect.height,
    };
  }

  function stroke(from, to) {
    context.strokeStyle = INK;
    context.lineWidth = 3;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x, to.y);
    context.stroke();
    inked = true;
  }

  function setFile(blob) {
    const transfer = new DataTransfer();
    if (blob) transfer.items.add(new File([blob], "signature.png", { type: "image/png" }));
    input.files = transfer.files;
    state.textContent = blob ? texts.signatureSigned : texts.signatureEmpty;
    box.classList.toggle("crf-signature-signed", Boolean(blob));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function publish() {
    if (!inked) {
      setFile(null);
      return;
    }
    canvas.toBlob((blob) => setFile(blob), "image/png");
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    canvas.setPointerCapture?.(event.pointerId);
    if (typed.value) {
      typed.value = "";
      blank();
    }
    drawing = true;
    last = point(event);
    stroke(last, { x: last.x + 0.1, y: last.y + 0.1 });
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    event.preventDefault();
    const next = point(event);
    stroke(last, next);
    last = next;
  });
  const finish = () => {
    if (!drawing) return;
    drawing = false;
    publish();
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  canvas.addEventListener("pointerleave", finish);

  clear.addEventListener("click", () => {
    typed.value = "";
    blank();
    publish();
  });

  typed.addEventListener("input", () => {
    blank();
    const name = typed.value.trim();
    if (name) {
      context.fillStyle = INK;
      context.textAlign = "center";
      context.textBaseline = "alphabetic";
      let size = 56;
      context.font = `italic ${size}px serif`;
      while (size > 16 && context.measureText(name).width > WIDTH - 60) {
        size -= 4;
        context.font = `italic ${size}px serif`;
      }
      context.fillText(name, WIDTH / 2, HEIGHT - 52);
      inked = true;
    }
    publish();
  });

  blank();
  return box;
}

/** Start a pad on every signature input under `root`. */
export function initSignaturePads(root = document) {
  for (const input of root.querySelectorAll('input[type="file"][data-signature]')) {
    initSignaturePad(input);
  }
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => initSignaturePads());
  } else {
    initSignaturePads();
  }
}
