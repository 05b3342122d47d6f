// Campaign plans: make one (POST /campaigns), list them, show one with its review, export its
// CSV, delete it. Plain DOM, text only (no innerHTML), no external assets.
(() => {
  "use strict";

  const KEY_STORAGE = "hashtag-dashboard-api-key"; // shared with the dashboard
  const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
  const $ = (id) => document.getElementById(id);
  let generation = 0;
  let current = null;

  function busy(on) {
    document.body.dataset.loading = on ? "true" : "false";
    if (!on) document.body.dataset.generation = String(++generation);
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function pct(x) {
    if (x === null || x === undefined) return "–";
    const v = x * 100;
    const digits = Math.abs(v) >= 10 ? 0 : 1;
    return (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(digits) + "%";
  }

  function interval(low, high) {
    return low === null || low === undefined ? "–" : `${pct(low)} to ${pct(high)}`;
  }

  function verdictCell(verdict) {
    const td = el("td", verdict || "–");
    if (verdict === "lifts" || verdict === "underperforms") td.className = `verdict-${verdict}`;
    return td;
  }

  function row(cells) {
    const tr = document.createElement("tr");
    for (const cell of cells) tr.append(cell instanceof Node ? cell : el("td", cell));
    return tr;
  }

  function headers(write) {
    const out = { Accept: "application/json" };
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) out.Authorization = `Bearer ${key}`;
    if (write) out["Content-Type"] = "application/json";
    return out;
  }

  async function call(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const data = await response.json();
    if (!response.ok) {
      const details = (data.details || []).map((d) => `${d.field}: ${d.message}`).join("; ");
      const error = new Error(details || data.detail || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function formBody(form) {
    const data = new FormData(form);
    const body = {
      name: String(data.get("name") || ""),
      goal: data.get("goal"),
      starts_on: data.get("starts_on"),
      ends_on: data.get("ends_on"),
      platforms: data.getAll("platforms"),
      accounts: String(data.get("accounts") || "").split(",").map((s) => s.trim()).filter(Boolean),
      window: data.get("window"),
    };
    const brief = String(data.get("brief") || "").trim();
    if (brief) body.brief = brief;
    return body;
  }

  async function submit(event) {
    event.preventDefault();
    const key = $("c-key").value.trim();
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    $("form-error").textContent = "";
    busy(true);
    try {
      const made = await call("POST", "/campaigns", formBody(event.target));
      await loadList();
      show(made);
      $("status").textContent = `Plan "${made.name}" made and stored.`;
    } catch (error) {
      $("form-error").textContent =
        error.status === 401 || error.status === 403
          ? "Making a plan needs an API key with scope write."
          : `Not made: ${error.message}`;
    } finally {
      busy(false);
    }
  }

  function covers(c) {
    const names = c.accounts.map((a) => a.handle);
    return names.length <= 3 ? names.join(", ") : `${names.slice(0, 3).join(", ")} +${names.length - 3}`;
  }

  async function loadList() {
    const page = await call("GET", "/campaigns?limit=200");
    const body = $("campaign-list").tBodies[0];
    body.replaceChildren();
    for (const c of page.items) {
      const button = el("button", c.name, "tag-button");
      button.type = "button";
      button.dataset.id = String(c.id);
      button.addEventListener("click", () => open(c.id));
      const first = el("td");
      first.append(button);
      body.append(row([first, c.goal, `${c.starts_on} – ${c.ends_on}`, covers(c)]));
    }
    $("list-msg").textContent = page.items.length ? "" : "No plan stored yet.";
  }

  async function open(id) {
    busy(true);
    try {
      show(await call("GET", `/campaigns/${id}`));
    } catch (error) {
      $("status").textContent = `Could not load the plan: ${error.message}`;
    } finally {
      busy(false);
    }
  }

  function itemList(title, items, cls) {
    const wrap = el("div");
    wrap.append(el("h4", title));
    const list = el("ol", null, "rec-list");
    for (const item of items) {
      const li = el("li");
      li.append(el("span", `#${item.hashtag}`, cls));
      li.append(document.createTextNode(
        ` ${pct(item.expected_lift)} (95% ${interval(item.expected_low, item.expected_high)}; ` +
          `${item.posts} posts; q ${item.qvalue === null ? "–" : item.qvalue.toFixed(3)})`,
      ));
      li.append(el("span", item.reason, "reason"));
      list.append(li);
    }
    wrap.append(list);
    return wrap;
  }

  function showPlatforms(plan) {
    const box = $("d-platforms");
    box.replaceChildren();
    for (const p of plan.platforms) {
      const section = el("section", null, "plan-platform");
      section.dataset.platform = p.platform;
      section.append(el("h3", `${p.platform}${p.account ? ` · ${p.account}` : " · all its accounts"}`));
      if (p.note) section.append(el("p", p.note, "msg empty"));
      if (p.use.length) section.append(itemList("Use", p.use, "use"));
      if (p.worth_testing.length) section.append(itemList("Worth testing (not proven)", p.worth_testing, "test"));
      if (p.avoid.length) section.append(itemList("Avoid", p.avoid, "avoid"));
      box.append(section);
    }
  }

  function showSlots(plan) {
    const body = $("d-slots").tBodies[0];
    body.replaceChildren();
    for (const s of plan.slots) {
      const when = `${WEEKDAYS[s.weekday - 1]} ${String(s.hour).padStart(2, "0")}:00 (${s.timezone})`;
      body.append(row([s.account, s.rank, when, pct(s.score), interval(s.score_low, s.score_high),
        s.posts, verdictCell(s.verdict)]));
    }
  }

  function showRelated(plan) {
    const list = $("d-related");
    list.replaceChildren();
    for (const p of plan.related_posts) {
      const li = el("li");
      const text = `${p.account}, ${p.posted_at.slice(0, 10)}: similarity ${p.similarity.toFixed(2)}, ` +
        `${pct(p.lift)} against its account's typical post; ${p.hashtags.map((h) => `#${h}`).join(" ")}`;
      if (p.url) {
        const a = el("a", text);
        a.href = p.url;
        a.rel = "noopener noreferrer";
        li.append(a);
      } else {
        li.textContent = text;
      }
      list.append(li);
    }
    if (!plan.related_posts.length) list.append(el("li", "No brief, or no past post like it.", "note"));
    const body = $("d-related-tags").tBodies[0];
    body.replaceChildren();
    for (const h of plan.related_hashtags) {
      body.append(row([`#${h.hashtag}`, h.platform, h.related_posts, pct(h.score),
        interval(h.score_low, h.score_high), h.qvalue === null ? "–" : h.qvalue.toFixed(3),
        verdictCell(h.verdict)]));
    }
  }

  function showReview(review) {
    const words = { not_started: "Not started yet.", running: "Running: a partial review.", ended: "Ended." };
    $("d-review-status").textContent = `${words[review.status]} ${review.posts} posts in its dates (judged on ${review.goal}).`;
    const body = $("d-review").tBodies[0];
    body.replaceChildren();
    for (const [label, f] of [["All posts", review.all_posts], ["With planned hashtags", review.with_planned],
      ["Without planned hashtags", review.without_planned]]) {
      body.append(row([label, f.posts, pct(f.lift), interval(f.ci_low, f.ci_high)]));
    }
    $("d-planned-used").textContent = review.planned_used.length
      ? "Planned hashtags used: " + review.planned_used.map((u) => `#${u.hashtag} (${u.platform}) on ${u.posts} posts`).join(", ")
      : "The plan had no hashtag to use.";
    $("d-review-note").textContent = review.note;
  }

  function show(c) {
    current = c;
    $("detail").hidden = false;
    $("h-detail").textContent = c.name;
    $("d-summary").textContent =
      `${c.goal}, ${c.starts_on} to ${c.ends_on}; ${covers(c)}; evidence: ${c.plan.evidence_posts} posts (${c.window}).`;
    $("d-export").href = `/campaigns/${c.id}.csv`;
    $("d-export").setAttribute("download", `campaign-${c.id}.csv`);
    $("d-caveat").textContent = c.plan.caveat;
    showPlatforms(c.plan);
    showSlots(c.plan);
    showRelated(c.plan);
    showReview(c.review);
  }

  async function remove() {
    if (!current) return;
    busy(true);
    try {
      await call("DELETE", `/campaigns/${current.id}`);
      $("detail").hidden = true;
      $("status").textContent = `Plan "${current.name}" deleted.`;
      current = null;
      await loadList();
    } catch (error) {
      $("status").textContent = `Not deleted: ${error.message}`;
    } finally {
      busy(false);
    }
  }

  async function start() {
    $("c-key").value = sessionStorage.getItem(KEY_STORAGE) || "";
    $("campaign-form").addEventListener("submit", submit);
    $("d-delete").addEventListener("click", remove);
    busy(true);
    try {
      await loadList();
    } catch (error) {
      $("list-msg").textContent = `Could not list the plans: ${error.message}`;
    } finally {
      busy(false);
    }
  }

  start();
})();
