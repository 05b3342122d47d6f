// Calls every operation of openapi.json through openapi-fetch with the types openapi-typescript
// generated from it (./schema.d.ts), and checks the answers at run time. `tsc --strict` compiles
// it first, so every call below is also a type check of the generated types: request bodies
// without their defaulted fields, enums as unions, `items` + `next_cursor` pages, the CSV as a
// string and errors as Problem.
//
//   node client.js write <base-url> <api-key>   imports, then prints {"job_id": ...}
//   node client.js read  <base-url> <api-key>   every other operation (after the worker ran)
// Each phase prints one JSON line: {"called": [operation ids], ...}.

import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];
type Problem = Schemas["Problem"];

const [phase, baseUrl, apiKey] = process.argv.slice(2);
const reader = createClient<paths>({ baseUrl });
const writer = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });
const called: string[] = [];

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${what}`);
}

function ok<T>(operation: string, answer: { data?: T; error?: unknown; response: Response }): T {
  called.push(operation);
  check(answer.response.ok, `${operation}: HTTP ${answer.response.status} ${JSON.stringify(answer.error)}`);
  check(answer.data !== undefined, `${operation}: no data`);
  return answer.data as T;
}

// Compile-time checks of the generated types (tsc --strict fails the test if they do not hold).
const update: Schemas["PostUpdate"] = { platform: "x", post_id: "b1", likes: 99 }; // no refetch
const window: Schemas["Window"] = "30d";
const order: Schemas["SortOrder"] = "asc";

const RECORDS: Schemas["PostRecord"][] = [
  {
    platform: "x", post_id: "b1", account: "LEGOLAND_Billund", account_timezone: "Europe/Copenhagen",
    text: "Opening day! #LEGOLAND #Ninjago", posted_at: "2025-03-29T10:00:00+01:00",
    likes: 10, comments: 2, shares: 4, impressions: 1000, followers: 2000,
  },
  {
    platform: "x", post_id: "b2", account: "LEGOLAND_Billund", account_timezone: "Europe/Copenhagen",
    text: "Ninjago week #legoland #NINJAGO", posted_at: "2025-03-30T10:00:00+01:00",
    likes: 4, comments: 0, shares: 1, impressions: 500, followers: 2010,
  },
];
const NDJSON =
  JSON.stringify({
    platform: "instagram", post_id: "w1", account: "legolandwindsor", account_timezone: "Europe/London",
    text: "Family day #LEGOLAND #Family", posted_at: "2025-06-07T10:15:00+01:00",
    likes: 120, comments: 8, shares: 3, saves: 11, reach: 4000, followers: 250000,
  }) + "\n";
const CSV =
  "platform,post_id,account,text,posted_at,likes,comments,shares,followers\n" +
  "instagram,w2,legolandwindsor,Sunny #Family,2025-06-08T10:15:00+01:00,20,2,,250100\n";

async function write(): Promise<void> {
  const json = ok("import_posts", await writer.POST("/posts/import", { body: { records: RECORDS } }));
  check(json.inserted === 2 && json.rejected === 0, "JSON import");
  for (const [format, text] of [["ndjson", NDJSON], ["csv", CSV]] as const) {
    const answer = ok(
      "import_posts",
      await writer.POST("/posts/import", {
        params: { query: { format } },
        body: text,
        // Sent as it is: the default serializer would JSON-encode the text.
        bodySerializer: (body) => (typeof body === "string" ? body : JSON.stringify(body)),
        headers: { "Content-Type": "application/octet-stream" },
      }),
    );
    check(answer.inserted === 1 && answer.rejected === 0, `${format} import`);
    if (format === "csv") console.log(JSON.stringify({ called, job_id: answer.job_id }));
  }
}

async function figures(): Promise<void> {
  const page = ok("get_hashtag_performance", await reader.GET("/hashtag-performance", {
    params: { query: { window: "all", order: "desc", sort: "posts" } },
  }));
  check(page.items.some((item) => item.key === "legoland"), "performance items");
  const first = ok("get_hashtag", await reader.GET("/hashtags/{hashtag}", {
    params: { path: { hashtag: "LEGOLAND" }, query: { limit: 1, sort: "engagement" } },
  }));
  check(first.items.length === 1 && typeof first.next_cursor === "string", "hashtag page 1");
  // Page 2 from the cursor alone: it carries the sort.
  const second = ok("get_hashtag", await reader.GET("/hashtags/{hashtag}", {
    params: { path: { hashtag: "LEGOLAND" }, query: { cursor: first.next_cursor } },
  }));
  check(second.sort === "engagement" && second.items[0].post_id !== first.items[0].post_id, "page 2");
  const standouts = ok("get_hashtag_standouts", await reader.GET("/hashtags/{hashtag}/standouts", {
    params: { path: { hashtag: "LEGOLAND" }, query: { limit: 2, window: "all" } },
  }));
  check(standouts.best.length === 2 && standouts.best[0].relative >= standouts.worst[0].relative,
    "standouts");
  const change = ok("get_period_change", await reader.GET("/period-change", {
    params: { query: { since: "2025-04-01", until: "2025-06-10" } },
  }));
  check(change.items.some((item) => item.key === "legoland"), "period change");
  const trends = ok("get_engagement_trends", await reader.GET("/engagement-trends", {
    params: { query: { hashtag: ["legoland"] } },
  }));
  check(trends.items.length === 1, "trends");
  const followers = ok("get_follower_trends", await reader.GET("/follower-trends", {
    params: { query: { granularity: "day" } },
  }));
  check(Array.isArray(followers.items), "follower trends");
  const recs = ok("get_recommendations", await reader.GET("/recommendations", {
    params: { query: { min_posts: 2, limit: 3 } },
  }));
  check(recs.goal === "engagement", "recommendations");
  const report = ok("get_hashtag_report", await reader.GET("/reports/hashtags", {
    params: { query: { window: "all" } },
  }));
  check(report.items.some((row) => row.key === "legoland"), "report items");
  const table: string = ok("get_hashtag_report_csv", await reader.GET("/reports/hashtags.csv", {
    params: { query: { window: "all" } },
    parseAs: "text",
  }));
  check(table.startsWith("hashtag,key,") && table.trim().split("\n").length === report.items.length + 1, "csv");
}

async function posts(): Promise<void> {
  const updated = ok("update_post", await writer.POST("/update-post", { body: update }));
  check(updated.changed.includes("likes") && updated.post.likes === 99, "update");
  const post = ok("get_post", await reader.GET("/posts/{platform}/{post_id}", {
    params: { path: { platform: "x", post_id: "b1" } },
  }));
  check(post.likes === 99, "post");
  const history = ok("get_post_history", await reader.GET("/posts/{platform}/{post_id}/history", {
    params: { path: { platform: "x", post_id: "b1" } },
  }));
  check(history.snapshots.map((s) => s.likes).join() === "10,99", "history");
}

async function accounts(): Promise<void> {
  const created = ok("register_account", await writer.POST("/accounts", {
    body: { platform: "instagram", external_id: "1789", handle: "brand", token_ref: "brand-ig" },
  }));
  check(created.collect_enabled, "registered");
  const listed: Schemas["AccountPublic"][] = [];
  let cursor: string | null = null;
  do {
    const query: { limit: number; cursor?: string } = cursor ? { limit: 1, cursor } : { limit: 1 };
    const page: Schemas["AccountsPage"] = ok("list_accounts", await reader.GET("/accounts", { params: { query } }));
    listed.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  check(listed.length > 1 && listed.some((a) => a.id === created.id), "accounts pages");
  const got = ok("get_account", await reader.GET("/accounts/{account_id}", {
    params: { path: { account_id: created.id } },
  }));
  check(got.handle === "brand", "account");
  const changed = ok("update_account", await writer.PATCH("/accounts/{account_id}", {
    params: { path: { account_id: created.id } },
    body: { sync_interval_minutes: 30 },
  }));
  check(changed.sync_interval_minutes === 30, "account update");
  const started = ok("collect_now", await writer.POST("/collect", { body: { account_id: created.id } }));
  check(started.job_queued, "collect");
  const job = ok("get_job", await reader.GET("/jobs/{job_id}", {
    params: { path: { job_id: started.job_ids[0] } },
  }));
  check(job.status === "queued" && job.function === "collect_account", "job");
  const deleted = await writer.DELETE("/accounts/{account_id}", {
    params: { path: { account_id: created.id } },
  });
  called.push("delete_account");
  check(deleted.response.status === 204, "delete");
}

async function campaigns(): Promise<void> {
  const made = ok("create_campaign", await writer.POST("/campaigns", {
    body: { name: "Spring", starts_on: "2025-03-01", ends_on: "2025-03-31", platforms: ["x"], brief: "Ninjago" },
  }));
  check(made.plan.platforms.length === 1 && made.review.status === "ended", "campaign plan");
  const page = ok("list_campaigns", await reader.GET("/campaigns", { params: { query: { limit: 10 } } }));
  check(page.items.some((c) => c.id === made.id), "campaigns page");
  const got = ok("get_campaign", await reader.GET("/campaigns/{campaign_id}", {
    params: { path: { campaign_id: made.id } },
  }));
  check(got.plan.caveat === made.plan.caveat, "campaign");
  const table: string = ok("get_campaign_csv", await reader.GET("/campaigns/{campaign_id}.csv", {
    params: { path: { campaign_id: made.id } },
    parseAs: "text",
  }));
  check(table.startsWith("section,platform,"), "campaign csv");
  const deleted = await writer.DELETE("/campaigns/{campaign_id}", {
    params: { path: { campaign_id: made.id } },
  });
  called.push("delete_campaign");
  check(deleted.response.status === 204, "campaign delete");
}

async function alerts(): Promise<void> {
  const schedule = ok("create_report_schedule", await writer.POST("/report-schedules", {
    body: { name: "Weekly", recipients: ["analyst@example.com"], cadence: "weekly" },
  }));
  const schedules = ok("list_report_schedules", await writer.GET("/report-schedules"));
  check(schedules.length === 1 && schedules[0].id === schedule.id, "schedules");
  const unscheduled = await writer.DELETE("/report-schedules/{schedule_id}", {
    params: { path: { schedule_id: schedule.id } },
  });
  called.push("delete_report_schedule");
  check(unscheduled.response.status === 204, "delete schedule");
  const secret = "whsec_client_test_0123456789abcd";
  const subscription = ok("create_alert_subscription", await writer.POST("/alert-subscriptions", {
    body: { name: "Ops", webhook_url: "https://hooks.example.com/h", webhook_secret: secret, kinds: ["sync_stale"] },
  }));
  check(subscription.webhook_secret_hint === "…abcd", "secret hint");
  const subscriptions = ok("list_alert_subscriptions", await writer.GET("/alert-subscriptions"));
  check(subscriptions.length === 1 && !JSON.stringify(subscriptions).includes(secret), "subscriptions");
  const unsubscribed = await writer.DELETE("/alert-subscriptions/{subscription_id}", {
    params: { path: { subscription_id: subscription.id } },
  });
  called.push("delete_alert_subscription");
  check(unsubscribed.response.status === 204, "delete subscription");
}

async function errors(): Promise<void> {
  const missing = await reader.GET("/hashtags/{hashtag}", { params: { path: { hashtag: "NeverUsedTag" } } });
  const problem: Problem | undefined = missing.error;
  check(missing.response.status === 404 && problem?.code === "not_found", "404 problem");
  check(missing.response.headers.get("content-type") === "application/problem+json", "problem+json");
  check(problem?.request_id === missing.response.headers.get("x-request-id"), "request id");
  const refused = await createClient<paths>({ baseUrl, headers: { Authorization: "Bearer nope" } })
    .POST("/update-post", { body: update });
  check(refused.response.status === 401 && refused.error?.code === "invalid_token", "401 invalid_token");
}

async function read(): Promise<void> {
  check(ok("healthz", await reader.GET("/healthz")).status === "ok", "healthz");
  const ready = ok("readyz", await reader.GET("/readyz"));
  check(ready.postgres && ready.redis, "readyz");
  await figures();
  await posts();
  await accounts();
  await campaigns();
  await alerts();
  await errors();
  console.log(JSON.stringify({ called, window, order }));
}

await (phase === "write" ? write() : read());
