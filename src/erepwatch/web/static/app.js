// erepwatch's few lines of script: the reader's time zone, confirmations, filters that apply themselves,
// and the live preview of a watch's query. Everything works without it; nothing here builds HTML from text.
"use strict";

(function () {
  // Dates are shown in the browser's own zone: tell the server once per session.
  var tz = "";
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { tz = ""; }
  var form = document.getElementById("tz-form");
  if (tz && form && document.body.dataset.tz !== tz && !sessionStorage.getItem("erepwatch-tz")) {
    sessionStorage.setItem("erepwatch-tz", tz);
    form.elements.tz.value = tz;
    form.submit();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) { event.preventDefault(); }
  });

  var filters = document.querySelector("form.filters[role=search]");
  if (filters) {
    filters.addEventListener("change", function (event) {
      if (event.target.matches("select, input[type=checkbox], input[type=date]")) { filters.submit(); }
    });
  }

  var query = document.getElementById("query");
  var preview = document.getElementById("preview");
  if (!query || !preview) { return; }
  var lang = document.getElementById("lang");
  var fuzzy = document.getElementById("fuzzy");
  var count = document.getElementById("preview-count");
  var list = document.getElementById("preview-list");
  var error = document.getElementById("query-error");
  var caret = document.getElementById("query-caret");
  var timer = null;
  var seq = 0;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return String(values[key]); });
  }

  function showError(data) {
    error.textContent = fill(preview.dataset.error, data);
    error.hidden = false;
    caret.textContent = query.value + "\n" + " ".repeat(Math.max(0, data.column - 1)) + "^";
    caret.hidden = false;
  }

  function run() {
    var mine = ++seq;
    var q = query.value.trim();
    if (!q) { count.textContent = ""; list.replaceChildren(); error.hidden = true; caret.hidden = true; return; }
    var params = new URLSearchParams({ query: q, lang: lang ? lang.value : "", fuzzy: fuzzy && fuzzy.checked ? "1" : "0" });
    fetch("/api/v1/preview?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        if (mine !== seq) { return; }
        if (!res.ok) {
          list.replaceChildren(); count.textContent = "";
          if (res.data.column) { showError(res.data); } else { error.textContent = res.data.error; error.hidden = false; }
          return;
        }
        error.hidden = true; caret.hidden = true;
        count.textContent = fill(preview.dataset.matches, res.data);
        var items = res.data.items.map(function (item) {
          var li = document.createElement("li");
          var title = document.createElement(item.url && /^https?:\/\//i.test(item.url) ? "a" : "span");
          if (title.tagName === "A") { title.href = item.url; title.rel = "noopener noreferrer nofollow"; title.target = "_blank"; }
          title.textContent = item.title;
          var small = document.createElement("small");
          small.textContent = " — " + (item.sources || []).join(", ");
          li.append(title, small);
          return li;
        });
        list.replaceChildren.apply(list, items);
      })
      .catch(function () { /* the server is away: the form still works */ });
  }

  function later() { clearTimeout(timer); timer = setTimeout(run, 300); }
  query.addEventListener("input", later);
  if (lang) { lang.addEventListener("input", later); }
  if (fuzzy) { fuzzy.addEventListener("change", later); }
  run();
})();
