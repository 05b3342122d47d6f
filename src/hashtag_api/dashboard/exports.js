/* Exports: CSV of every table, SVG and PNG of every chart, made in the browser.
 *
 * A table marked data-export gets a CSV button (cells' data-value when set: the raw figure,
 * not the rounded text); a chart figure marked data-export gets SVG and PNG buttons. The SVG
 * carries the page's computed styles as attributes, so it looks the same on its own; the PNG
 * is that SVG drawn on a canvas at twice the size.
 */
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const STYLED = ["fill", "stroke", "stroke-width", "stroke-dasharray", "font-size",
    "font-family", "font-weight", "font-style", "opacity"];

  function today() {
    return new Date().toISOString().slice(0, 10);
  }

  function say(text) {
    const status = document.getElementById("status");
    if (status) status.textContent = text;
  }

  function download(name, blob) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    say(`Downloaded ${name}.`);
  }

  // ---------------------------------------------------------------- CSV

  function csvField(value) {
    let text = String(value);
    // A spreadsheet would run a text cell starting with = + - @ as a formula.
    if (/^[=+\-@]/.test(text) && Number.isNaN(Number(text))) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  function tableCsv(table) {
    const heads = [...table.querySelectorAll("thead th")];
    const keep = heads.map((th) => !th.classList.contains("no-export"));
    const lines = [heads.filter((_, i) => keep[i]).map((th) => csvField(th.textContent.trim()))];
    table.querySelectorAll("tbody tr").forEach((tr) => {
      const cells = [...tr.children];
      if (cells.length !== heads.length) return; // a "nothing to show" row
      lines.push(cells.filter((_, i) => keep[i]).map((td) => csvField(
        td.hasAttribute("data-value") ? td.getAttribute("data-value") : td.textContent.trim())));
    });
    return lines.map((l) => l.join(",")).join("\r\n") + "\r\n";
  }

  // ---------------------------------------------------------------- SVG and PNG

  function inlineStyles(source, copy) {
    // As presentation attributes: a style attribute would break the page's CSP (style-src).
    const style = window.getComputedStyle(source);
    STYLED.forEach((name) => copy.setAttribute(name, style.getPropertyValue(name)));
    const a = source.children;
    const b = copy.children;
    for (let i = 0; i < a.length; i += 1) inlineStyles(a[i], b[i]);
  }

  function standalone(svg) {
    const copy = svg.cloneNode(true);
    inlineStyles(svg, copy);
    const box = svg.viewBox.baseVal;
    copy.setAttribute("xmlns", SVG_NS);
    copy.setAttribute("width", String(box.width));
    copy.setAttribute("height", String(box.height));
    const background = document.createElementNS(SVG_NS, "rect");
    background.setAttribute("width", "100%");
    background.setAttribute("height", "100%");
    background.setAttribute("fill", "#ffffff");
    copy.insertBefore(background, copy.firstChild);
    const text = new XMLSerializer().serializeToString(copy);
    return { text: `<?xml version="1.0" encoding="UTF-8"?>\n${text}`, box };
  }

  async function png(svgText, box) {
    const image = new Image();
    const loaded = new Promise((resolve, reject) => {
      image.onload = resolve;
      image.onerror = () => reject(new Error("the SVG did not load as an image"));
    });
    image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText)}`;
    await loaded;
    const scale = 2;
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(box.width * scale);
    canvas.height = Math.round(box.height * scale);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    // Synchronously, so the download follows the click as closely as possible.
    const data = atob(canvas.toDataURL("image/png").split(",")[1]);
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i += 1) bytes[i] = data.charCodeAt(i);
    return new Blob([bytes], { type: "image/png" });
  }

  async function exportChart(figure, kind) {
    const svg = figure.querySelector("svg[role='img']");
    const name = `${figure.dataset.export}-${today()}.${kind}`;
    if (!svg) {
      say("This chart has nothing to export yet.");
      return;
    }
    const { text, box } = standalone(svg);
    if (kind === "svg") {
      download(name, new Blob([text], { type: "image/svg+xml" }));
      return;
    }
    try {
      download(name, await png(text, box));
    } catch (err) {
      say(`The PNG could not be made: ${err.message}`);
    }
  }

  // ---------------------------------------------------------------- buttons

  function button(id, text, label, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.id = id;
    b.className = "secondary";
    b.textContent = text;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    return b;
  }

  function panelTitle(node) {
    const panel = node.closest("section");
    const heading = panel && panel.querySelector("h2");
    return heading ? heading.textContent.trim() : "chart";
  }

  function init() {
    document.querySelectorAll("figure.chart[data-export]").forEach((figure) => {
      const bar = document.createElement("div");
      bar.className = "exports";
      const title = panelTitle(figure);
      bar.appendChild(button(`export-svg-${figure.id}`, "SVG", `Download the chart "${title}" as SVG`,
        () => exportChart(figure, "svg")));
      bar.appendChild(button(`export-png-${figure.id}`, "PNG", `Download the chart "${title}" as PNG`,
        () => exportChart(figure, "png")));
      figure.insertAdjacentElement("afterend", bar);
    });
    document.querySelectorAll("table.data[data-export]").forEach((table) => {
      const bar = document.createElement("div");
      bar.className = "exports";
      const caption = table.querySelector("caption");
      const title = caption ? caption.textContent.trim() : table.id;
      bar.appendChild(button(`export-csv-${table.id}`, "CSV", `Download the table "${title}" as CSV`,
        () => download(`${table.dataset.export}-${today()}.csv`,
          new Blob([tableCsv(table)], { type: "text/csv;charset=utf-8" }))));
      const wrap = table.closest(".table-wrap") || table;
      wrap.insertAdjacentElement("afterend", bar);
    });
  }

  // Each export's content, made exactly as its button makes it: the browser test checks every
  // table and chart through these and one of each kind through a real download (Chromium
  // holds back some downloads when a page starts many in a row).
  window.hashtagExports = Object.freeze({
    csv(tableId) {
      return tableCsv(document.getElementById(tableId));
    },
    svg(figureId) {
      return standalone(document.getElementById(figureId).querySelector("svg[role='img']")).text;
    },
    async pngBase64(figureId) {
      const svg = document.getElementById(figureId).querySelector("svg[role='img']");
      const { text, box } = standalone(svg);
      const bytes = new Uint8Array(await (await png(text, box)).arrayBuffer());
      let binary = "";
      bytes.forEach((b) => { binary += String.fromCharCode(b); });
      return btoa(binary);
    },
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
