/* Hashtag analysis dashboard: plain JavaScript, SVG charts drawn here, no external assets.
 *
 * Every panel fetches one public read endpoint and shows the exact URL it fetched, so the
 * figures can be reproduced with curl or in Swagger UI. Figures are defined in docs/metrics.md.
 */
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
  const WINDOW_DAYS = { "7d": 7, "30d": 30, "90d": 90, "365d": 365, all: null };
  const LINE_COLOURS = [
    "#1a5fb4", "#c64600", "#26a269", "#813d9c", "#a51d2d", "#0b7285", "#986a44", "#5e5c64",
  ];
  const TOP_LIMIT = 15;
  const KEY_STORAGE = "hashtag-dashboard-api-key";

  const GOALS = {
    engagement: "engagement", reach: "reach", virality: "virality (shares per view)",
    er_follower: "engagement per follower", followers: "follower growth",
  };
  const SEARCH_PAGE = 1000;
  const SEARCH_SHOWN = 50;
  const POSTS_SHOWN = 5;

  const state = {
    selected: null, top: [], computedAt: null, generation: 0, redraw: new Map(),
    catalogue: null, catalogueScope: null, tag: null,
  };

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- helpers

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function pct(x) {
    if (x === null || x === undefined) return "n/a";
    const v = x * 100;
    if (Math.abs(v) < 0.05) return "0%";
    return (v > 0 ? "+" : "") + (Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(1)) + "%";
  }

  function num(x, digits) {
    if (x === null || x === undefined) return "n/a";
    return Number(x).toLocaleString("en-US", { maximumFractionDigits: digits ?? 0 });
  }

  function compact(x) {
    const a = Math.abs(x);
    if (a >= 1e6) return (x / 1e6).toFixed(a >= 1e7 ? 0 : 1) + "M";
    if (a >= 1e3) return (x / 1e3).toFixed(a >= 1e4 ? 0 : 1) + "k";
    return String(Math.round(x * 10) / 10);
  }

  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) { hi = lo + 1; }
    const raw = (hi - lo) / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
      ticks.push(Math.round(t / step) * step);
    }
    return ticks;
  }

  function url(path, params) {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v === null || v === undefined || v === "") continue;
      search.append(k, v);
    }
    const qs = search.toString();
    return qs ? `${path}?${qs}` : path;
  }

  function showApi(id, href) {
    const link = $(id);
    link.href = href;
    link.textContent = new URL(href, window.location.origin).href;
  }

  function setMsg(id, text, kind) {
    const node = $(id);
    node.textContent = text || "";
    node.className = "msg" + (kind ? " " + kind : "");
    if (kind === "error") node.setAttribute("role", "alert");
    else node.removeAttribute("role");
  }

  function setStatus(text, isError) {
    const node = $("status");
    node.textContent = text;
    node.classList.toggle("error", Boolean(isError));
  }

  class ApiError extends Error {}

  async function getJson(href) {
    const headers = { Accept: "application/json, application/problem+json" };
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) headers.Authorization = `Bearer ${key}`;
    let response;
    try {
      response = await fetch(href, { headers });
    } catch (err) {
      throw new ApiError(`the service did not answer (${err.message})`);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      // Errors are RFC 9457 problem details: `detail` says what went wrong.
      const message = (body && body.detail) || response.statusText;
      const hint = response.status === 401 || response.status === 403
        ? " Paste a valid API key in the filters." : "";
      throw new ApiError(`HTTP ${response.status}: ${message}.${hint}`);
    }
    return body;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function chartWidth(container, fallback) {
    // One SVG unit per CSS pixel, so labels keep their size on a phone.
    const w = Math.floor(container.getBoundingClientRect().width);
    return w >= 200 ? Math.min(w, 1200) : fallback;
  }

  function fitText(node, room) {
    // Shorten a label that would run out of the chart; its full text stays in a title.
    const full = node.textContent;
    let text = full;
    while (text.length > 4 && node.getComputedTextLength() > room) {
      text = text.slice(0, -1);
      node.textContent = `${text}…`;
    }
    if (text !== full) node.appendChild(svgEl("title", {}, full));
  }

  // Charts are drawn to their container's width: redraw one when its width changes (the
  // window is resized, or the chart was drawn while its panel was hidden).
  const resized = new ResizeObserver((entries) => {
    entries.forEach((entry) => {
      const width = Math.floor(entry.contentRect.width);
      const drawn = Number(entry.target.dataset.drawnWidth || 0);
      const draw = state.redraw.get(entry.target.id);
      if (draw && width >= 200 && Math.abs(width - drawn) > 1) {
        requestAnimationFrame(() => {
          if (state.redraw.get(entry.target.id) === draw) draw();
        });
      }
    });
  });

  function remember(chartId, draw) {
    state.redraw.set(chartId, draw);
    resized.observe($(chartId));
    draw();
  }

  function cellLabels(table) {
    // On a narrow screen the rows stack and each cell shows its column's name.
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    table.querySelectorAll("tbody tr").forEach((tr) => {
      [...tr.children].forEach((td, i) => td.setAttribute("data-label", heads[i] || ""));
    });
  }

  function cell(tr, text, value) {
    const td = tr.appendChild(el("td", {}, text));
    if (value !== undefined && value !== null) td.setAttribute("data-value", String(value));
    return td;
  }

  function newSvg(container, width, height, summary, chartName) {
    clear(container);
    container.dataset.drawnWidth = String(Math.floor(container.getBoundingClientRect().width));
    const root = svgEl("svg", {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-labelledby": `${container.id}-title`,
      "data-chart": chartName,
      preserveAspectRatio: "xMidYMid meet",
    });
    root.appendChild(svgEl("title", { id: `${container.id}-title` }, summary));
    container.appendChild(root);
    return root;
  }

  function hiddenTable(container, caption, head, rows) {
    // Tables ignore overflow, so the wrapper is what hides it visually.
    const wrap = el("div", { class: "sr-only" });
    const table = wrap.appendChild(el("table"));
    table.appendChild(el("caption", {}, caption));
    const tr = el("tr");
    head.forEach((h) => tr.appendChild(el("th", { scope: "col" }, h)));
    table.appendChild(el("thead")).appendChild(tr);
    const body = table.appendChild(el("tbody"));
    rows.forEach((r) => {
      const row = body.appendChild(el("tr"));
      r.forEach((c) => row.appendChild(el("td", {}, c)));
    });
    container.appendChild(wrap);
  }

  // ---------------------------------------------------------------- filters

  function filters() {
    return {
      platform: $("f-platform").value || null,
      account: $("f-account").value || null,
      window: $("f-window").value,
      goal: $("f-goal").value,
      since: $("f-since").value || null,
      until: $("f-until").value || null,
    };
  }

  function seriesWindow(f) {
    // The series follow the window, counted back from when the figures were computed,
    // unless explicit dates are given.
    let since = f.since;
    const days = WINDOW_DAYS[f.window];
    // Counted back from the computation, unless an end date was chosen without a start.
    if (!since && !f.until && days && state.computedAt) {
      const d = new Date(state.computedAt);
      d.setUTCDate(d.getUTCDate() - days);
      since = d.toISOString().slice(0, 10);
    }
    const spanDays = days || 3650;
    return { since, until: f.until, granularity: spanDays > 31 ? "week" : "day" };
  }

  async function loadAccounts() {
    const select = $("f-account");
    try {
      const accounts = [];
      let cursor = null;
      do {
        const page = await getJson(
          "/accounts?limit=500" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "")
        );
        accounts.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      const platform = $("f-platform").value;
      const current = select.value;
      clear(select);
      select.appendChild(el("option", { value: "" }, "All accounts"));
      accounts
        .filter((a) => !platform || a.platform === platform)
        .sort((a, b) => a.handle.localeCompare(b.handle))
        .forEach((a) => {
          select.appendChild(el("option", { value: String(a.id) }, `${a.handle} (${a.platform})`));
        });
      select.value = [...select.options].some((o) => o.value === current) ? current : "";
    } catch (err) {
      setStatus(`Accounts could not be listed: ${err.message}`, true);
    }
  }

  // ---------------------------------------------------------------- top hashtags

  function drawTop(items) {
    const container = $("chart-top");
    const rows = items.filter((i) => i.score !== null);
    if (!rows.length) {
      clear(container);
      return;
    }
    const width = chartWidth(container, 640);
    const labelW = Math.min(170, Math.round(width * 0.36));
    const rowH = 24;
    const top = 24;
    const height = top + rows.length * rowH + 28;
    const lo = Math.min(0, ...rows.map((i) => i.score_ci_low ?? i.score));
    const hi = Math.max(0, ...rows.map((i) => i.score_ci_high ?? i.score));
    const pad = (hi - lo) * 0.05 || 0.05;
    const x0 = lo - pad;
    const x1 = hi + pad;
    const plotW = width - labelW - 16;
    const sx = (v) => labelW + ((v - x0) / (x1 - x0)) * plotW;
    const summary = `Bar chart of the top ${rows.length} hashtags by score for ` +
      `${GOALS[state.goal] || "the goal"}: ` +
      rows.slice(0, 3).map((i) => `#${i.hashtag} ${pct(i.score)}`).join(", ") +
      (rows.length > 3 ? ", …" : "") + ". The table beside it lists every value.";
    const root = newSvg(container, width, height, summary, "top");
    root.setAttribute("data-count", rows.length);

    const axis = root.appendChild(svgEl("g", { class: "axis" }));
    niceTicks(x0, x1, width < 480 ? 3 : 6).forEach((t) => {
      axis.appendChild(svgEl("line", { x1: sx(t), x2: sx(t), y1: top - 4, y2: height - 24 }));
      axis.appendChild(
        svgEl("text", { x: sx(t), y: height - 8, "text-anchor": "middle" }, pct(t)),
      );
    });
    axis.appendChild(svgEl("text", { x: width < 480 ? 4 : labelW, y: 12 }, width < 480
      ? "Score (vs account median)"
      : `Score for ${GOALS[state.goal] || "the goal"} (vs account median)`));
    root.appendChild(svgEl("line", {
      class: "zero", x1: sx(0), x2: sx(0), y1: top - 4, y2: height - 24,
    }));

    rows.forEach((item, i) => {
      const y = top + i * rowH;
      const under = item.verdict === "underperforms";
      const g = root.appendChild(svgEl("g", { class: "bar-row", "data-key": item.key }));
      g.addEventListener("click", () => select(item.key));
      const label = g.appendChild(svgEl("text", {
        class: "bar-label" + (under ? " under" : ""),
        x: labelW - 8, y: y + rowH / 2 + 4, "text-anchor": "end",
      }, (under ? "▼ " : "") + "#" + item.hashtag));
      fitText(label, labelW - 12);
      const a = sx(Math.min(0, item.score));
      const b = sx(Math.max(0, item.score));
      const bar = g.appendChild(svgEl("rect", {
        class: "bar" + (under ? " under" : "") + (item.key === state.selected ? " selected" : ""),
        x: a, y: y + 4, width: Math.max(1, b - a), height: rowH - 8,
      }));
      bar.appendChild(svgEl("title", {},
        `#${item.hashtag}: score ${pct(item.score)} (95% ${pct(item.score_ci_low)} to ` +
        `${pct(item.score_ci_high)}), ${item.posts} posts`));
      if (item.score_ci_low !== null && item.score_ci_high !== null) {
        const cy = y + rowH / 2;
        g.appendChild(svgEl("line", {
          class: "whisker", x1: sx(item.score_ci_low), x2: sx(item.score_ci_high), y1: cy, y2: cy,
        }));
        [item.score_ci_low, item.score_ci_high].forEach((v) => {
          g.appendChild(svgEl("line", {
            class: "whisker", x1: sx(v), x2: sx(v), y1: cy - 5, y2: cy + 5,
          }));
        });
      }
    });
  }

  function fillTopTable(items) {
    const body = $("table-top").querySelector("tbody");
    clear(body);
    items.forEach((item) => {
      const under = item.verdict === "underperforms";
      const tr = body.appendChild(el("tr", { "data-key": item.key }));
      if (under) tr.classList.add("under");
      if (item.key === state.selected) tr.classList.add("selected");
      const button = el("button", {
        type: "button",
        class: "tag-button",
        "data-key": item.key,
        "aria-pressed": item.key === state.selected ? "true" : "false",
        "aria-label": `Show #${item.hashtag} in the heatmap and trend`,
      }, (under ? "▼ " : "") + "#" + item.hashtag);
      button.addEventListener("click", () => select(item.key));
      const first = tr.appendChild(el("td"));
      first.setAttribute("data-value", item.hashtag);
      first.appendChild(button);
      figureCells(tr, item);
      const open = el("button", {
        type: "button", class: "secondary open-page", "data-open": item.key,
        "aria-label": `Open the page of #${item.hashtag}`,
      }, "Open");
      open.addEventListener("click", () => openTag(item.key));
      tr.appendChild(el("td", { "data-value": "" })).appendChild(open);
    });
    cellLabels($("table-top"));
  }

  function figureCells(tr, item) {
    cell(tr, pct(item.score), item.score);
    cell(tr, `${pct(item.score_ci_low)} to ${pct(item.score_ci_high)}`,
      item.score_ci_low === null ? "" : `${item.score_ci_low};${item.score_ci_high}`);
    cell(tr, num(item.posts), item.posts);
    cell(tr, item.verdict || "n/a", item.verdict || "");
  }

  async function loadTop(f, generation) {
    const href = url("/hashtag-performance", {
      platform: f.platform, account: f.account, window: f.window, goal: f.goal, limit: TOP_LIMIT,
    });
    showApi("api-top", href);
    setMsg("msg-top", "Loading…", "empty");
    const page = await getJson(href);
    if (generation !== state.generation) return null;
    state.computedAt = page.computed_at;
    $("computed-at").textContent = page.computed_at
      ? `computed ${new Date(page.computed_at).toISOString().replace("T", " ").slice(0, 16)} UTC`
      : "not computed yet";
    state.top = page.items;
    if (!state.top.some((i) => i.key === state.selected)) {
      state.selected = state.top.length ? state.top[0].key : null;
    }
    state.goal = page.goal;
    $("goal-name").textContent = GOALS[page.goal] || page.goal;
    remember("chart-top", () => drawTop(page.items));
    fillTopTable(page.items);
    if (!page.items.length) {
      setMsg("msg-top", "No hashtags in this scope and window: widen the window or " +
        "choose another platform or account.", "empty");
    } else {
      setMsg("msg-top", "");
    }
    return page;
  }

  // ---------------------------------------------------------------- heatmap

  function colour(t) {
    // Light to dark blue, readable at both ends.
    const a = [232, 241, 250];
    const b = [16, 62, 130];
    const c = a.map((v, i) => Math.round(v + (b[i] - v) * t));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }

  function drawHeat(trend, target) {
    const container = target || $("chart-heat");
    const cells = trend.cells;
    const avail = chartWidth(container, 632);
    const left = avail < 480 ? 36 : 84;
    const top = 22;
    const cw = Math.max(10, Math.min(22, Math.floor((avail - left - 10) / 24)));
    const ch = 22;
    const width = left + 24 * cw + 10;
    const height = top + 7 * ch + 56;
    const max = Math.max(...cells.map((c) => c.avg_engagement), 0) || 1;
    const best = [...cells].sort((a, b) => b.avg_engagement - a.avg_engagement)[0];
    const summary = `Heatmap of mean engagement by weekday and hour for #${trend.hashtag}, ` +
      `${cells.length} slots with posts; highest ${WEEKDAYS[best.weekday - 1]} ` +
      `${best.hour}:00 (${num(best.avg_engagement, 1)}). A table follows.`;
    const root = newSvg(container, width, height, summary, "heatmap");
    root.setAttribute("data-count", cells.length);
    const byKey = new Map(cells.map((c) => [`${c.weekday}-${c.hour}`, c]));
    const axis = root.appendChild(svgEl("g", { class: "axis" }));
    for (let h = 0; h < 24; h += cw < 16 ? 6 : 3) {
      axis.appendChild(svgEl("text", {
        x: left + h * cw + cw / 2, y: top - 6, "text-anchor": "middle",
      }, `${String(h).padStart(2, "0")}h`));
    }
    WEEKDAYS.forEach((name, d) => {
      axis.appendChild(svgEl("text", {
        x: left - 6, y: top + d * ch + ch / 2 + 4, "text-anchor": "end",
      }, name.slice(0, 3)));
      for (let h = 0; h < 24; h += 1) {
        const c = byKey.get(`${d + 1}-${h}`);
        const x = left + h * cw;
        const y = top + d * ch;
        if (!c) {
          root.appendChild(svgEl("rect", { class: "cell empty", x, y, width: cw, height: ch }));
          continue;
        }
        const label = `${name} ${h}:00: ${c.posts} posts, mean engagement ` +
          `${num(c.avg_engagement, 1)}` + (c.score !== null && c.score !== undefined
          ? `, estimate ${pct(c.score)} (95% ${pct(c.score_ci_low)} to ${pct(c.score_ci_high)}` +
            `, ${(c.verdict || "").replace(/_/g, " ")})`
          : c.lift !== null && c.lift !== undefined
            ? `, raw lift ${pct(c.lift)} (95% ${pct(c.lift_ci_low)} to ${pct(c.lift_ci_high)})`
            : "");
        const rect = root.appendChild(svgEl("rect", {
          class: "cell", x, y, width: cw, height: ch,
          fill: colour(c.avg_engagement / max), tabindex: "0", role: "img", "aria-label": label,
          "data-weekday": c.weekday, "data-hour": c.hour,
        }));
        rect.appendChild(svgEl("title", {}, label));
      }
    });
    // Legend: a stepped scale from 0 to the highest cell mean.
    const legend = root.appendChild(svgEl("g", { class: "legend" }));
    const ly = top + 7 * ch + 18;
    legend.appendChild(svgEl("text", { x: left - 6, y: ly + 11, "text-anchor": "end" }, "Mean"));
    const steps = 10;
    const sw = Math.min(24, Math.floor((width - left - 10) / steps));
    for (let i = 0; i < steps; i += 1) {
      legend.appendChild(svgEl("rect", {
        x: left + i * sw, y: ly, width: sw, height: 14, fill: colour(i / (steps - 1)),
      }));
    }
    legend.appendChild(svgEl("text", { x: left, y: ly + 30 }, "0"));
    legend.appendChild(svgEl("text", {
      x: left + steps * sw, y: ly + 30, "text-anchor": "end",
    }, num(max, 0)));
    if (width - left - steps * sw > 240) {
      legend.appendChild(svgEl("text", { x: left + steps * sw + 12, y: ly + 11 },
        "engagement per post (grey: no posts)"));
    }
    hiddenTable(container, `Mean engagement by weekday and hour for #${trend.hashtag}`,
      ["Weekday", "Hour", "Posts", "Mean engagement", "Estimate", "Verdict", "Raw lift"],
      cells.map((c) => [WEEKDAYS[c.weekday - 1], `${c.hour}:00`, c.posts,
        num(c.avg_engagement, 1), pct(c.score), (c.verdict || "n/a").replace(/_/g, " "),
        pct(c.lift)]));
  }

  function showBestSlots(trend) {
    const node = $("best-slots");
    if (!trend.best_slots.length) {
      node.textContent = "Best slots: not enough posts in any slot to say (5 per slot needed).";
      return;
    }
    node.textContent = "Best slots (account-local time): " + trend.best_slots.map((s) =>
      (s.score !== null && s.score !== undefined
        ? `${WEEKDAYS[s.weekday - 1]} ${s.hour}:00 (${pct(s.score)}, 95% ` +
          `${pct(s.score_ci_low)} to ${pct(s.score_ci_high)}, ` +
          `${(s.verdict || "").replace(/_/g, " ")}, n=${s.posts})`
        : `${WEEKDAYS[s.weekday - 1]} ${s.hour}:00 (raw ${pct(s.lift)}, 95% ` +
          `${pct(s.lift_ci_low)} to ${pct(s.lift_ci_high)}, n=${s.posts})`)).join("; ") + ".";
  }

  // ---------------------------------------------------------------- line charts

  function drawLines(container, series, opts) {
    // series: [{name, colour, points: [{x: Date, y: number, label: string}]}]
    const width = chartWidth(container, 640);
    const height = width < 480 ? 220 : 260;
    const m = { l: 48, r: 12, t: 18, b: 34 };
    const all = series.flatMap((s) => s.points);
    const xs = all.map((p) => p.x.getTime());
    const ys = all.map((p) => p.y);
    let xmin = Math.min(...xs);
    let xmax = Math.max(...xs);
    if (xmin === xmax) { xmin -= 86400000; xmax += 86400000; }
    const positive = ys.every((v) => v > 0);
    const log = Boolean(opts.logIfWide) && positive && Math.max(...ys) / Math.min(...ys) > 30;
    const tf = log ? Math.log10 : (v) => v;
    let ymin = opts.zeroBased ? 0 : Math.min(...ys.map(tf));
    let ymax = Math.max(...ys.map(tf));
    if (ymin === ymax) { ymin -= 1; ymax += 1; }
    const ypad = (ymax - ymin) * 0.05;
    ymin = opts.zeroBased ? 0 : ymin - ypad;
    ymax += ypad;
    const sx = (v) => m.l + ((v - xmin) / (xmax - xmin)) * (width - m.l - m.r);
    const sy = (v) => height - m.b - ((tf(v) - ymin) / (ymax - ymin)) * (height - m.t - m.b);
    const root = newSvg(container, width, height, opts.summary, opts.name);
    root.setAttribute("data-count", series.length);
    const axis = root.appendChild(svgEl("g", { class: "axis" }));
    const yTicks = log
      ? niceTicks(Math.floor(ymin), Math.ceil(ymax), 5).filter(Number.isInteger).map((e) => 10 ** e)
      : niceTicks(ymin, ymax, 5);
    yTicks.forEach((t) => {
      if (tf(t) < ymin || tf(t) > ymax) return;
      axis.appendChild(svgEl("line", { x1: m.l, x2: width - m.r, y1: sy(t), y2: sy(t) }));
      axis.appendChild(svgEl("text", { x: m.l - 6, y: sy(t) + 4, "text-anchor": "end" },
        compact(t)));
    });
    const nx = width < 480 ? 2 : 5;
    for (let i = 0; i <= nx; i += 1) {
      const v = xmin + ((xmax - xmin) * i) / nx;
      axis.appendChild(svgEl("text", {
        x: sx(v), y: height - m.b + 16, "text-anchor": i === 0 ? "start" : i === nx ? "end" : "middle",
      }, new Date(v).toISOString().slice(0, 10)));
    }
    axis.appendChild(svgEl("text", { x: 4, y: 10 }, opts.yLabel + (log ? " (log scale)" : "")));
    series.forEach((s) => {
      const d = s.points.map((p, i) => `${i ? "L" : "M"}${sx(p.x.getTime()).toFixed(1)},` +
        `${sy(p.y).toFixed(1)}`).join("");
      const line = root.appendChild(svgEl("path", {
        class: "line", d, stroke: s.colour, "data-name": s.name,
      }));
      if (s.dashed) line.setAttribute("stroke-dasharray", "6 3");
      if (opts.points) {
        s.points.forEach((p) => {
          const c = root.appendChild(svgEl("circle", {
            class: "pt", cx: sx(p.x.getTime()), cy: sy(p.y), r: 3, fill: s.colour,
          }));
          c.appendChild(svgEl("title", {}, p.label));
        });
      }
    });
    if (opts.legend) {
      // An HTML legend wraps and reads better than SVG text; the table below has the values.
      const legend = el("ul", { class: "legend-list", "aria-hidden": "true" });
      series.forEach((s) => {
        const item = legend.appendChild(el("li"));
        const swatch = item.appendChild(el("span", { class: "swatch" }));
        swatch.style.backgroundColor = s.colour; // CSSOM: allowed by style-src 'self'
        item.appendChild(document.createTextNode(s.name + (s.dashed ? " (dashed)" : "")));
      });
      container.appendChild(legend);
    }
    return root;
  }

  function day(s) {
    return new Date(`${s}T00:00:00Z`);
  }

  // ---------------------------------------------------------------- panels

  function clearPanel(chartId, msgId, text, kind) {
    state.redraw.delete(chartId);
    clear($(chartId));
    setMsg(msgId, text, kind);
  }

  async function loadTrend(f, generation) {
    const w = seriesWindow(f);
    if (!state.selected) {
      $("heat-tag").textContent = "no hashtag selected";
      $("eng-tag").textContent = "no hashtag selected";
      $("best-slots").textContent = "";
      clearPanel("chart-heat", "msg-heat", "No hashtag to show: the top list is empty.", "empty");
      clearPanel("chart-eng", "msg-eng", "No hashtag to show: the top list is empty.", "empty");
      showApi("api-heat", "/engagement-trends");
      showApi("api-eng", "/engagement-trends");
      return;
    }
    const href = url("/engagement-trends", {
      hashtag: state.selected, platform: f.platform, account: f.account, window: f.window,
      granularity: w.granularity, since: w.since, until: w.until,
    });
    showApi("api-heat", href);
    showApi("api-eng", href);
    setMsg("msg-heat", "Loading…", "empty");
    setMsg("msg-eng", "Loading…", "empty");
    let page;
    try {
      page = await getJson(href);
    } catch (err) {
      if (generation !== state.generation) return;
      clearPanel("chart-heat", "msg-heat", `Could not load the heatmap: ${err.message}`, "error");
      clearPanel("chart-eng", "msg-eng", `Could not load the trend: ${err.message}`, "error");
      $("best-slots").textContent = "";
      throw err;
    }
    if (generation !== state.generation) return;
    const trend = page.items[0];
    $("heat-tag").textContent = `#${trend.hashtag}`;
    $("eng-tag").textContent = `#${trend.hashtag}`;
    if (!trend.cells.length) {
      clearPanel("chart-heat", "msg-heat", "No posts with this hashtag in this scope.", "empty");
      $("best-slots").textContent = "";
    } else {
      remember("chart-heat", () => drawHeat(trend));
      showBestSlots(trend);
      setMsg("msg-heat", "");
    }
    if (!trend.series.length) {
      clearPanel("chart-eng", "msg-eng", "No posts with this hashtag in this period.", "empty");
      return;
    }
    const points = trend.series.map((p) => ({
      x: day(p.period_start), y: p.avg_engagement,
      label: `${p.period_start}: mean ${num(p.avg_engagement, 1)} over ${p.posts} posts`,
    }));
    const container = $("chart-eng");
    const unit = page.granularity === "week" ? "week" : "day";
    const last = trend.series[trend.series.length - 1];
    remember("chart-eng", () => {
      drawLines(container, [{ name: `#${trend.hashtag}`, colour: LINE_COLOURS[0], points }], {
        name: "engagement", points: true, zeroBased: true,
        yLabel: `Mean engagement per post, by ${unit}`,
        summary: `Line chart of mean engagement per post for #${trend.hashtag} by ${unit}, ` +
          `${points.length} periods from ${trend.series[0].period_start} to ` +
          `${last.period_start}. A table follows.`,
      });
      hiddenTable(container, `Mean engagement per ${unit} for #${trend.hashtag}`,
        [`${unit} starting`, "Posts", "Mean engagement"],
        trend.series.map((p) => [p.period_start, p.posts, num(p.avg_engagement, 1)]));
    });
    setMsg("msg-eng", "");
  }

  async function loadFollowers(f, generation) {
    const w = seriesWindow(f);
    const href = url("/follower-trends", {
      platform: f.platform, account: f.account, granularity: w.granularity,
      since: w.since, until: w.until,
    });
    showApi("api-fol", href);
    setMsg("msg-fol", "Loading…", "empty");
    let page;
    try {
      page = await getJson(href);
    } catch (err) {
      if (generation !== state.generation) return;
      clearPanel("chart-fol", "msg-fol", `Could not load followers: ${err.message}`, "error");
      throw err;
    }
    if (generation !== state.generation) return;
    const items = page.items.filter((a) => a.series.length);
    if (!items.length) {
      clearPanel("chart-fol", "msg-fol", "No follower counts recorded in this scope and period.",
        "empty");
      return;
    }
    const container = $("chart-fol");
    const series = items.map((a, i) => ({
      name: `${a.handle} (${a.platform})`,
      colour: LINE_COLOURS[i % LINE_COLOURS.length],
      dashed: i >= LINE_COLOURS.length,
      points: a.series.map((p) => ({ x: day(p.period_start), y: p.followers, label: "" })),
    }));
    remember("chart-fol", () => {
      drawLines(container, series, {
        name: "followers", points: false, zeroBased: false, legend: true, logIfWide: true,
        yLabel: `Followers, end of each ${page.granularity}`,
        summary: `Line chart of follower counts for ${items.length} accounts. A table follows.`,
      });
      hiddenTable(container, "Followers per account: first and last count in the period",
        ["Account", "From", "Followers then", "To", "Followers then"],
        items.map((a) => {
          const first = a.series[0];
          const last = a.series[a.series.length - 1];
          return [`${a.handle} (${a.platform})`, first.period_start, num(first.followers),
            last.period_start, num(last.followers)];
        }));
    });
    setMsg("msg-fol", "");
  }

  function fillRecs(listId, items, kind, note) {
    const list = $(listId);
    clear(list);
    if (note) list.appendChild(el("li", { class: "note" }, note));
    if (!items.length) {
      if (!note) {
        list.appendChild(el("li", {}, kind === "use"
          ? "None with enough evidence in this scope." : "None reliably below the baseline."));
      }
      return;
    }
    items.forEach((item) => {
      const li = list.appendChild(el("li"));
      li.appendChild(el("span", { class: kind }, `#${item.hashtag}`));
      li.appendChild(document.createTextNode(
        ` ${pct(item.expected_lift)} (95% ${pct(item.expected_low)} to ` +
        `${pct(item.expected_high)}), n=${item.posts}`));
      li.appendChild(el("span", { class: "reason" }, item.reason));
    });
  }

  async function loadRecs(f, generation) {
    const href = url("/recommendations", {
      platform: f.platform, account: f.account, window: f.window, goal: f.goal,
    });
    showApi("api-rec", href);
    setMsg("msg-rec", "Loading…", "empty");
    let page;
    try {
      page = await getJson(href);
    } catch (err) {
      if (generation !== state.generation) return;
      clear($("rec-use"));
      clear($("rec-avoid"));
      setMsg("msg-rec", `Could not load recommendations: ${err.message}`, "error");
      throw err;
    }
    if (generation !== state.generation) return;
    const testing = !page.use.length && page.worth_testing && page.worth_testing.length;
    fillRecs("rec-use", testing ? page.worth_testing : page.use, testing ? "test" : "use",
      page.note);
    fillRecs("rec-avoid", page.avoid, "avoid");
    setMsg("msg-rec", "");
  }

  // ---------------------------------------------------------------- search over all hashtags

  function normalise(text) {
    return text.trim().replace(/^#+/, "").normalize("NFKC").toLowerCase();
  }

  async function catalogue(f) {
    // Every hashtag in the scope and window, most used first, paged through with the cursor.
    const scope = [f.platform, f.account, f.window, f.goal].join("|");
    if (state.catalogue && state.catalogueScope === scope) return state.catalogue;
    const first = url("/hashtag-performance", {
      platform: f.platform, account: f.account, window: f.window, goal: f.goal,
      sort: "posts", limit: SEARCH_PAGE,
    });
    showApi("api-search", first);
    const items = [];
    let href = first;
    while (href) {
      const page = await getJson(href);
      items.push(...page.items);
      href = page.next_cursor ? url("/hashtag-performance", { cursor: page.next_cursor }) : null;
    }
    state.catalogue = items;
    state.catalogueScope = scope;
    return items;
  }

  async function runSearch() {
    const term = $("q").value;
    const wanted = normalise(term);
    const panel = $("panel-search");
    if (!wanted) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    $("search-term").textContent = term.trim();
    setMsg("msg-search", "Searching…", "empty");
    const body = $("table-search").querySelector("tbody");
    clear(body);
    let items;
    try {
      items = await catalogue(filters());
    } catch (err) {
      setMsg("msg-search", `Could not search: ${err.message}`, "error");
      return;
    }
    const found = items.filter((i) => i.key.includes(wanted) ||
      i.hashtag.toLowerCase().includes(wanted));
    found.slice(0, SEARCH_SHOWN).forEach((item) => {
      const tr = body.appendChild(el("tr", { "data-key": item.key }));
      const first = tr.appendChild(el("td", { "data-value": item.hashtag }));
      const open = first.appendChild(el("button", {
        type: "button", class: "tag-button", "data-open": item.key,
        "aria-label": `Open the page of #${item.hashtag}`,
      }, `#${item.hashtag}`));
      open.addEventListener("click", () => openTag(item.key));
      figureCells(tr, item);
    });
    cellLabels($("table-search"));
    setMsg("msg-search", found.length
      ? (found.length > SEARCH_SHOWN ? `${found.length} match; the ${SEARCH_SHOWN} most used ` +
        "are shown: type more to narrow." : `${found.length} found.`)
      : "No hashtag in this scope and window contains that text.", found.length ? "" : "empty");
    setStatus(`Search: ${found.length} hashtag(s) match.`);
  }

  // ---------------------------------------------------------------- hashtag page

  const FIGURE_ROWS = [
    ["Posts", "posts", null, (v) => num(v)],
    ["Mean engagement per post", "avg_engagement", "posts", (v) => num(v, 1)],
    ["Median engagement per post", "median_engagement", "posts", (v) => num(v, 1)],
    ["Engagement per follower", "engagement_rate_follower", "engagement_rate_follower_posts",
      (v) => pctPlain(v, 2)],
    ["Engagement per reach", "engagement_rate_reach", "engagement_rate_reach_posts",
      (v) => pctPlain(v, 2)],
    ["Virality (shares per view)", "virality", "virality_posts", (v) => pctPlain(v, 3)],
    ["Mean reach", "avg_reach", "reach_posts", (v) => num(v)],
    ["Mean impressions", "avg_impressions", "impressions_posts", (v) => num(v)],
  ];

  function pctPlain(x, digits) {
    return x === null || x === undefined ? "n/a" : `${(x * 100).toFixed(digits)}%`;
  }

  function fillTagFigures(page, goal) {
    const body = $("table-tag-figures").querySelector("tbody");
    clear(body);
    const fig = page.figures;
    if (fig) {
      FIGURE_ROWS.forEach(([label, field, nField, fmt]) => {
        const tr = body.appendChild(el("tr", { "data-field": field }));
        cell(tr, label, label);
        cell(tr, fmt(fig[field]), fig[field] ?? "");
        cell(tr, num(nField ? fig[nField] : fig.posts), nField ? fig[nField] : fig.posts);
      });
    }
    const lift = page.insights && page.insights.lifts.find((l) => l.goal === goal);
    if (lift) {
      const name = GOALS[goal] || goal;
      [[`Score for ${name} (95% interval)`, "score", lift.score,
        `${pct(lift.score)} (${pct(lift.score_ci_low)} to ${pct(lift.score_ci_high)})`],
      [`Raw lift for ${name} (95% interval)`, "lift", lift.lift,
        `${pct(lift.lift)} (${pct(lift.lift_ci_low)} to ${pct(lift.lift_ci_high)})`],
      [`Verdict for ${name}`, "verdict", lift.verdict || "", lift.verdict || "n/a"],
      ].forEach(([label, field, value, text]) => {
        const tr = body.appendChild(el("tr", { "data-field": field }));
        cell(tr, label, label);
        cell(tr, text, value ?? "");
        cell(tr, num(lift.lift_posts), lift.lift_posts);
      });
    }
    cellLabels($("table-tag-figures"));
  }

  function fillCompanions(page) {
    const body = $("table-companions").querySelector("tbody");
    clear(body);
    const pairs = (page.insights && page.insights.pairs) || [];
    pairs.forEach((p) => {
      const tr = body.appendChild(el("tr", { "data-key": p.hashtag }));
      const first = tr.appendChild(el("td", { "data-value": p.hashtag }));
      const open = first.appendChild(el("button", {
        type: "button", class: "tag-button", "aria-label": `Open the page of #${p.hashtag}`,
      }, `#${p.hashtag}`));
      open.addEventListener("click", () => openTag(p.hashtag));
      cell(tr, num(p.posts), p.posts);
      cell(tr, pct(p.pair_lift), p.pair_lift ?? "");
      cell(tr, p.synergy === null ? "n/a"
        : `${pct(p.synergy)} (${pct(p.synergy_ci_low)} to ${pct(p.synergy_ci_high)})`,
      p.synergy ?? "");
    });
    if (!pairs.length) {
      const tr = body.appendChild(el("tr"));
      tr.appendChild(el("td", { colspan: "4" }, "No hashtag shares 5 or more posts with it."));
    }
    cellLabels($("table-companions"));
  }

  function fillPosts(tableId, posts) {
    const body = $(tableId).querySelector("tbody");
    clear(body);
    posts.forEach((p) => {
      const tr = body.appendChild(el("tr", { "data-post": p.post_id }));
      const first = tr.appendChild(el("td", { "data-value": p.url || p.post_id }));
      const text = p.text.length > 80 ? `${p.text.slice(0, 77)}…` : p.text;
      if (p.url) {
        first.appendChild(el("a", { href: p.url, rel: "noopener noreferrer", target: "_blank" },
          text));
      } else {
        first.textContent = text;
      }
      cell(tr, `${p.account} (${p.platform})`, `${p.account} (${p.platform})`);
      cell(tr, p.posted_at.slice(0, 10), p.posted_at);
      cell(tr, num(p.engagement), p.engagement);
      cell(tr, pct(p.relative), p.relative);
    });
    if (!posts.length) {
      const tr = body.appendChild(el("tr"));
      tr.appendChild(el("td", { colspan: "5" }, "No posts in this scope and window."));
    }
    cellLabels($(tableId));
  }

  async function loadTag(f, generation) {
    const key = state.tag;
    if (!key) return;
    const panel = $("panel-tag");
    panel.hidden = false;
    const params = { platform: f.platform, account: f.account, window: f.window };
    const href = url(`/hashtags/${encodeURIComponent(key)}`, { ...params, limit: 1 });
    const postsHref = url(`/hashtags/${encodeURIComponent(key)}/standouts`,
      { ...params, limit: POSTS_SHOWN });
    showApi("api-tag", href);
    showApi("api-tag-posts", postsHref);
    setMsg("msg-tag", "Loading…", "empty");
    let page;
    let standouts;
    try {
      [page, standouts] = await Promise.all([getJson(href), getJson(postsHref)]);
    } catch (err) {
      if (generation !== state.generation) return;
      setMsg("msg-tag", `Could not load the hashtag: ${err.message}`, "error");
      throw err;
    }
    if (generation !== state.generation || key !== state.tag) return;
    $("tag-name").textContent = `#${page.hashtag}`;
    fillTagFigures(page, f.goal);
    fillCompanions(page);
    fillPosts("table-best", standouts.best);
    fillPosts("table-worst", standouts.worst);
    setMsg("msg-tag", page.figures ? "" : "No posts with this hashtag in this scope and window.",
      page.figures ? "" : "empty");
  }

  // Runs load(filters, generation) with the page marked loading; null when a newer action
  // has started meanwhile (the page is that action's now), else whether the load failed.
  async function loadPanel(load) {
    document.body.setAttribute("data-loading", "true");
    const generation = state.generation;
    let failed = false;
    try {
      await load(filters(), generation);
    } catch (err) {
      failed = true;
    }
    if (generation !== state.generation) return null;
    document.body.setAttribute("data-loading", "false");
    return failed;
  }

  async function openTag(key) {
    state.tag = key;
    if (window.location.hash !== `#tag=${encodeURIComponent(key)}`) {
      window.history.replaceState(null, "", `#tag=${encodeURIComponent(key)}`);
    }
    const failed = await loadPanel(loadTag);
    if (failed === null) return;
    document.body.setAttribute("data-tag", key);
    setStatus(failed ? "The hashtag page could not be loaded." : `Hashtag page: #${key}.`, failed);
    $("h-tag").scrollIntoView({ block: "start" });
    $("tag-close").focus({ preventScroll: true });
  }

  function closeTag() {
    state.tag = null;
    $("panel-tag").hidden = true;
    document.body.removeAttribute("data-tag");
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    $("q").focus();
  }

  // ---------------------------------------------------------------- side by side

  const COMPARE_MAX = 4;

  function compareKeys() {
    const seen = [];
    $("compare-tags").value.split(/[\s,]+/).map(normalise).forEach((k) => {
      if (k && !seen.includes(k)) seen.push(k);
    });
    return seen;
  }

  function fillCompareTable(pages, goal) {
    const body = $("table-compare").querySelector("tbody");
    clear(body);
    pages.forEach((page) => {
      const fig = page.figures || {};
      const lift = (page.insights && page.insights.lifts.find((l) => l.goal === goal)) || {};
      const tr = body.appendChild(el("tr", { "data-key": page.key }));
      cell(tr, `#${page.hashtag}`, page.hashtag);
      cell(tr, num(fig.posts ?? 0), fig.posts ?? 0);
      cell(tr, num(fig.avg_engagement, 1), fig.avg_engagement ?? "");
      cell(tr, pct(lift.score), lift.score ?? "");
      cell(tr, `${pct(lift.score_ci_low)} to ${pct(lift.score_ci_high)}`,
        lift.score_ci_low === null || lift.score_ci_low === undefined
          ? "" : `${lift.score_ci_low};${lift.score_ci_high}`);
      cell(tr, lift.verdict || "n/a", lift.verdict || "");
    });
    cellLabels($("table-compare"));
  }

  function drawCompare(trends, unit) {
    const withSeries = trends.filter((t) => t.series.length);
    const lines = $("chart-cmp-lines");
    if (withSeries.length) {
      remember("chart-cmp-lines", () => drawLines(lines, withSeries.map((t, i) => ({
        name: `#${t.hashtag}`, colour: LINE_COLOURS[i],
        points: t.series.map((p) => ({
          x: day(p.period_start), y: p.avg_engagement,
          label: `#${t.hashtag} ${p.period_start}: mean ${num(p.avg_engagement, 1)} over ` +
            `${p.posts} posts`,
        })),
      })), {
        name: "compare-engagement", points: true, zeroBased: true, legend: true,
        yLabel: `Mean engagement per post, by ${unit}`,
        summary: `Line chart of mean engagement per post by ${unit} for ` +
          withSeries.map((t) => `#${t.hashtag}`).join(", ") + ".",
      }));
    } else {
      clearPanel("chart-cmp-lines", "msg-compare", "No posts with these hashtags in this period.",
        "empty");
    }
    for (let i = 0; i < COMPARE_MAX; i += 1) {
      const figure = $(`chart-cmp-heat-${i}`);
      const trend = trends[i];
      const slot = figure.closest(".cmp-heat");
      slot.hidden = !trend;
      if (!trend) {
        state.redraw.delete(figure.id);
        clear(figure);
        continue;
      }
      slot.querySelector("h3").textContent = `When to post: #${trend.hashtag}`;
      if (trend.cells.length) remember(figure.id, () => drawHeat(trend, figure));
      else clearPanel(figure.id, "msg-compare", `No posts with #${trend.hashtag} in this scope.`,
        "empty");
    }
  }

  async function loadCompare(f, generation) {
    const keys = compareKeys();
    if (keys.length < 2) return;
    $("panel-compare").hidden = false;
    const w = seriesWindow(f);
    const href = url("/engagement-trends", {
      platform: f.platform, account: f.account, window: f.window,
      granularity: w.granularity, since: w.since, until: w.until,
    }) + keys.map((k) => `&hashtag=${encodeURIComponent(k)}`).join("");
    showApi("api-compare", href);
    setMsg("msg-compare", "Loading…", "empty");
    const pages = keys.map((k) => url(`/hashtags/${encodeURIComponent(k)}`, {
      platform: f.platform, account: f.account, window: f.window, limit: 1,
    }));
    let trends;
    let figures;
    try {
      [trends, ...figures] = await Promise.all([getJson(href), ...pages.map(getJson)]);
    } catch (err) {
      if (generation !== state.generation) return;
      setMsg("msg-compare", `Could not compare: ${err.message}`, "error");
      throw err;
    }
    if (generation !== state.generation) return;
    fillCompareTable(figures, f.goal);
    setMsg("msg-compare", "");
    drawCompare(trends.items, trends.granularity === "week" ? "week" : "day");
  }

  async function runCompare() {
    const keys = compareKeys();
    if (keys.length < 2 || keys.length > COMPARE_MAX) {
      $("panel-compare").hidden = false;
      setMsg("msg-compare", `Name 2 to ${COMPARE_MAX} hashtags, separated by commas or spaces ` +
        `(${keys.length} given).`, "error");
      return;
    }
    const failed = await loadPanel(loadCompare);
    if (failed === null) return;
    document.body.setAttribute("data-compare", keys.join(","));
    setStatus(failed ? "The comparison could not be loaded." : `Comparing ${keys.length} hashtags.`,
      failed);
  }

  function addToCompare(key) {
    const keys = compareKeys().filter((k) => k !== key);
    keys.push(key);
    $("compare-tags").value = keys.slice(-COMPARE_MAX).join(", ");
    $("compare-tags").focus();
  }

  // ---------------------------------------------------------------- previous period

  function periodRange(f) {
    // The dates chosen; else the window, ending on the day the figures were computed.
    if (f.since && f.until) return { since: f.since, until: f.until };
    const days = WINDOW_DAYS[f.window];
    if (!days || !state.computedAt) return null;
    const end = new Date(state.computedAt);
    end.setUTCHours(0, 0, 0, 0);
    end.setUTCDate(end.getUTCDate() + 1);
    const start = new Date(end);
    start.setUTCDate(start.getUTCDate() - days);
    return { since: start.toISOString().slice(0, 10), until: end.toISOString().slice(0, 10) };
  }

  async function loadPeriod(f, generation) {
    const body = $("table-period").querySelector("tbody");
    const range = periodRange(f);
    if (!range) {
      clear(body);
      showApi("api-period", "/period-change");
      setMsg("msg-period", "Choose the dates (From and Before) or a window of days to compare.",
        "empty");
      return;
    }
    const href = url("/period-change", {
      since: range.since, until: range.until, platform: f.platform, account: f.account,
      min_posts: 2, limit: 20,
    });
    showApi("api-period", href);
    setMsg("msg-period", "Loading…", "empty");
    let page;
    try {
      page = await getJson(href);
    } catch (err) {
      if (generation !== state.generation) return;
      clear(body);
      setMsg("msg-period", `Could not compare the periods: ${err.message}`, "error");
      throw err;
    }
    if (generation !== state.generation) return;
    $("period-range").textContent = `${page.since} to ${page.until} (exclusive), against ` +
      `${page.previous_since} to ${page.since}`;
    clear(body);
    page.items.forEach((item) => {
      const tr = body.appendChild(el("tr", { "data-key": item.key }));
      const first = tr.appendChild(el("td", { "data-value": item.hashtag }));
      const open = first.appendChild(el("button", {
        type: "button", class: "tag-button", "data-open": item.key,
        "aria-label": `Open the page of #${item.hashtag}`,
      }, `#${item.hashtag}`));
      open.addEventListener("click", () => openTag(item.key));
      cell(tr, num(item.current_posts), item.current_posts);
      cell(tr, num(item.previous_posts), item.previous_posts);
      cell(tr, pct(item.change), item.change ?? "");
      cell(tr, item.change_ci_low === null ? "n/a"
        : `${pct(item.change_ci_low)} to ${pct(item.change_ci_high)}`,
      item.change_ci_low === null ? "" : `${item.change_ci_low};${item.change_ci_high}`);
      cell(tr, item.direction, item.direction);
    });
    cellLabels($("table-period"));
    setMsg("msg-period", page.items.length ? ""
      : "No hashtag has 2 posts in either period in this scope.", page.items.length ? "" : "empty");
  }

  // ---------------------------------------------------------------- orchestration

  function markSelection() {
    document.querySelectorAll("#table-top tbody tr").forEach((tr) => {
      const on = tr.getAttribute("data-key") === state.selected;
      tr.classList.toggle("selected", on);
      const b = tr.querySelector("button");
      if (b) b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    document.querySelectorAll("#chart-top .bar-row").forEach((g) => {
      const bar = g.querySelector(".bar");
      if (bar) bar.classList.toggle("selected", g.getAttribute("data-key") === state.selected);
    });
  }

  // ---------------------------------------------------------------- languages and sentiment

  function share(x) {
    return x === null || x === undefined ? "n/a" : `${Math.round(x * 100)}%`;
  }

  function sentimentText(ins) {
    const langs = ins.sentiment_languages.join(", ") || "none";
    const covered = ins.sentiment_coverage === null ? "coverage unknown"
      : `${share(ins.sentiment_coverage)} of its posts`;
    if (ins.sentiment_status === "not scored" || ins.sentiment_mean === null) {
      return `Sentiment: not scored (${num(ins.sentiment_scored_posts)} scored posts, ` +
        `${covered}; languages scored: ${langs}).`;
    }
    return `Sentiment: mean ${num(ins.sentiment_mean, 2)} over ` +
      `${num(ins.sentiment_scored_posts)} scored posts (${covered}; ${langs}); ` +
      `${share(ins.sentiment_positive_share)} positive, ` +
      `${share(ins.sentiment_negative_share)} negative.`;
  }

  async function loadLanguages(f, generation) {
    if (!state.selected) {
      $("lang-tag").textContent = "no hashtag selected";
      $("lang-mix").textContent = "";
      $("lang-sentiment").textContent = "";
      showApi("api-lang", "/hashtags/{hashtag}");
      return;
    }
    const href = url(`/hashtags/${encodeURIComponent(state.selected)}`, {
      platform: f.platform, account: f.account, window: f.window, limit: 1,
    });
    showApi("api-lang", href);
    setMsg("msg-lang", "Loading…", "empty");
    let page;
    try {
      page = await getJson(href);
    } catch (err) {
      if (generation !== state.generation) return;
      setMsg("msg-lang", `Could not load the languages: ${err.message}`, "error");
      throw err;
    }
    if (generation !== state.generation) return;
    $("lang-tag").textContent = `#${page.hashtag}`;
    const ins = page.insights;
    if (!ins || !ins.languages.length) {
      $("lang-mix").textContent = "";
      $("lang-sentiment").textContent = "";
      setMsg("msg-lang", "No language figures yet for this hashtag in this scope.", "empty");
      return;
    }
    $("lang-mix").textContent = "Languages: " + ins.languages.map((l) =>
      `${l.language} ${share(l.share)} (${num(l.posts)})`).join(", ") + ".";
    $("lang-sentiment").textContent = sentimentText(ins);
    setMsg("msg-lang", "");
  }

  async function settle(promises) {
    const results = await Promise.allSettled(promises);
    return results.filter((r) => r.status === "rejected").length;
  }

  async function select(key) {
    state.selected = key;
    markSelection();
    const generation = state.generation;
    setStatus("Loading the hashtag's heatmap and trend…");
    document.body.setAttribute("data-loading", "true");
    const failed = await settle([loadTrend(filters(), generation),
      loadLanguages(filters(), generation)]);
    if (generation !== state.generation) return;
    document.body.setAttribute("data-loading", "false");
    setStatus(failed ? "The hashtag's figures could not be loaded; see the message in the panel."
      : `Showing #${(state.top.find((i) => i.key === key) || { hashtag: key }).hashtag}.`,
    Boolean(failed));
  }

  async function refresh() {
    state.generation += 1;
    const generation = state.generation;
    const f = filters();
    document.body.setAttribute("data-loading", "true");
    setStatus("Loading…");
    let failed = 0;
    try {
      await loadTop(f, generation);
    } catch (err) {
      if (generation !== state.generation) return;
      state.redraw.delete("chart-top");
      clear($("chart-top"));
      clear($("table-top").querySelector("tbody"));
      state.top = [];
      state.selected = null;
      setMsg("msg-top", `Could not load the top hashtags: ${err.message}`, "error");
      failed += 1;
    }
    if (generation !== state.generation) return;
    failed += await settle([loadTrend(f, generation), loadLanguages(f, generation),
      loadFollowers(f, generation), loadRecs(f, generation), loadTag(f, generation),
      loadCompare(f, generation), loadPeriod(f, generation)]);
    if (generation !== state.generation) return;
    if (!$("panel-search").hidden) await runSearch();
    if (generation !== state.generation) return;
    document.body.setAttribute("data-loading", "false");
    document.body.setAttribute("data-generation", String(generation));
    setStatus(failed ? `${failed} panel(s) could not be loaded; see the messages in red.`
      : `Loaded: ${state.top.length} hashtags.`, Boolean(failed));
  }

  function init() {
    const key = $("f-key");
    key.value = sessionStorage.getItem(KEY_STORAGE) || "";
    key.addEventListener("change", () => {
      if (key.value) sessionStorage.setItem(KEY_STORAGE, key.value.trim());
      else sessionStorage.removeItem(KEY_STORAGE);
    });
    $("f-platform").addEventListener("change", async () => {
      await loadAccounts();
      refresh();
    });
    ["f-account", "f-window", "f-goal", "f-since", "f-until"].forEach((id) => {
      $(id).addEventListener("change", refresh);
    });
    $("search").addEventListener("submit", (event) => {
      event.preventDefault();
      runSearch();
    });
    $("tag-close").addEventListener("click", closeTag);
    $("compare").addEventListener("submit", (event) => {
      event.preventDefault();
      runCompare();
    });
    $("tag-compare").addEventListener("click", () => addToCompare(state.tag));
    $("print").addEventListener("click", () => window.print());
    const match = /^#tag=(.+)$/.exec(window.location.hash);
    if (match) state.tag = decodeURIComponent(match[1]);
    $("filters").addEventListener("submit", async (event) => {
      event.preventDefault();
      if (key.value) sessionStorage.setItem(KEY_STORAGE, key.value.trim());
      await loadAccounts();
      refresh();
    });
    loadAccounts().then(refresh);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
