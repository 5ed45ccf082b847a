// The master's JSON API (docs/webui.md) as the page's two parts use it.

/// A JSON request; throws an Error with the API's own words (and the HTTP status as `status`).
export async function api(method, url, csrf, body) {
  const headers = { "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(data.error || url + ": HTTP " + res.status), { status: res.status });
  return data;
}
