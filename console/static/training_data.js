// Training pages: NLU inbox labelling (select text -> entity), examples and synonyms, via the JSON API.
"use strict";
(function () {
  var statusBox = document.getElementById("training-status");

  function show(message, isError) {
    if (!statusBox) { return; }
    statusBox.hidden = false;
    statusBox.className = isError ? "error" : "ok";
    statusBox.textContent = message;
  }

  function api(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": window.consoleCsrf()},
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var detail = typeof data.detail === "string" ? data.detail : "Yêu cầu không hợp lệ (" + response.status + ")";
          throw new Error(detail);
        }
        return data;
      });
    });
  }

  function done(message) {
    return function (data) {
      var warnings = (data && data.warnings) || [];
      show(message + (warnings.length ? " Lưu ý: " + warnings.join(" · ") : ""), false);
      window.setTimeout(function () { window.location.reload(); }, warnings.length ? 2500 : 600);
    };
  }

  function fail(error) { show(error.message, true); }

  // --- inbox: spans chosen by selecting text in the message ---
  function spansOf(item) {
    if (!item._spans) { item._spans = JSON.parse(item.getAttribute("data-entities") || "[]"); }
    return item._spans;
  }

  function drawSpans(item) {
    var list = item.querySelector("ul.spans");
    var text = item.querySelector(".sample").textContent;
    list.textContent = "";
    spansOf(item).forEach(function (span, index) {
      var li = document.createElement("li");
      li.textContent = "«" + text.slice(span.start, span.end) + "» → " + span.entity + " ";
      var remove = document.createElement("button");
      remove.type = "button"; remove.className = "link"; remove.textContent = "bỏ";
      remove.addEventListener("click", function () { spansOf(item).splice(index, 1); drawSpans(item); });
      li.appendChild(remove);
      list.appendChild(li);
    });
  }

  function markSelection(item) {
    var sample = item.querySelector(".sample");
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) {
      show("Hãy bôi đen một đoạn trong tin nhắn trước.", true); return;
    }
    var range = selection.getRangeAt(0);
    if (!sample.contains(range.startContainer) || !sample.contains(range.endContainer)) {
      show("Đoạn đã chọn phải nằm trong tin nhắn này.", true); return;
    }
    var before = document.createRange();
    before.selectNodeContents(sample);
    before.setEnd(range.startContainer, range.startOffset);
    var start = before.toString().length;
    var end = start + range.toString().length;
    var text = sample.textContent;
    while (start < end && /\s/.test(text[start])) { start++; }
    while (end > start && /\s/.test(text[end - 1])) { end--; }
    if (start === end) { show("Đoạn đã chọn trống.", true); return; }
    var entity = item.querySelector(".entity-choice").value;
    var spans = spansOf(item).filter(function (s) { return s.end <= start || s.start >= end; });
    spans.push({start: start, end: end, entity: entity});
    spans.sort(function (a, b) { return a.start - b.start; });
    item._spans = spans;
    selection.removeAllRanges();
    drawSpans(item);
  }

  document.querySelectorAll(".inbox-item").forEach(drawSpans);

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) { return; }
    var action = button.getAttribute("data-action");
    var item = button.closest(".inbox-item");
    var row = button.closest("tr[data-id]");
    if (action === "collect") {
      api("POST", "/console/api/training/inbox/collect").then(function (data) {
        show("Đã cập nhật: thêm " + data.added + " tin nhắn.", false);
        window.setTimeout(function () { window.location.reload(); }, 600);
      }, fail);
    } else if (action === "mark" && item) {
      markSelection(item);
    } else if (action === "label" && item) {
      var intent = item.querySelector(".intent-choice").value;
      api("POST", "/console/api/training/inbox/" + item.getAttribute("data-id") + "/label",
          {intent: intent, entities: spansOf(item)}).then(done("Đã thêm ví dụ cho ý định " + intent + "."), fail);
    } else if (action === "dismiss" && item) {
      api("POST", "/console/api/training/inbox/" + item.getAttribute("data-id") + "/dismiss", {})
        .then(done("Đã bỏ qua."), fail);
    } else if (action === "new-intent" && item) {
      api("POST", "/console/api/training/inbox/" + item.getAttribute("data-id") + "/new-intent", {
        name: item.querySelector(".proposal-name").value, note: item.querySelector(".proposal-note").value
      }).then(done("Đã ghi nhận: cần ý định mới."), fail);
    } else if (action === "move" && row) {
      api("POST", "/console/api/training/examples/" + row.getAttribute("data-id") + "/move",
          {intent: row.querySelector(".move-choice").value}).then(done("Đã chuyển."), fail);
    } else if (action === "delete" && row) {
      if (!window.confirm("Xóa ví dụ này?")) { return; }
      api("DELETE", "/console/api/training/examples/" + row.getAttribute("data-id")).then(done("Đã xóa."), fail);
    } else if (action === "delete-synonym" && row) {
      if (!window.confirm("Xóa từ đồng nghĩa này?")) { return; }
      api("DELETE", "/console/api/training/synonyms/" + row.getAttribute("data-id")).then(done("Đã xóa."), fail);
    }
  });

  function formSubmit(id, url, message) {
    var form = document.getElementById(id);
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {};
      new FormData(form).forEach(function (value, key) { body[key] = value; });
      api("POST", url, body).then(done(message), fail);
    });
  }
  // --- examples: move every selected example at once (all or nothing, after a confirmation) ---
  var bulk = document.getElementById("bulk-move");
  if (bulk) {
    var picks = Array.prototype.slice.call(document.querySelectorAll("table.examples input.pick"));
    var selectAll = document.getElementById("select-all");
    var chosen = function () { return picks.filter(function (box) { return box.checked; }); };
    var refresh = function () {
      var count = chosen().length;
      document.getElementById("bulk-count").textContent = "Đã chọn " + count + " ví dụ.";
      bulk.querySelector("button[type=submit]").disabled = count === 0;
      selectAll.checked = count > 0 && count === picks.length;
      selectAll.indeterminate = count > 0 && count < picks.length;
    };
    selectAll.addEventListener("change", function () {
      picks.forEach(function (box) { box.checked = selectAll.checked; });
      refresh();
    });
    picks.forEach(function (box) { box.addEventListener("change", refresh); });
    bulk.addEventListener("submit", function (event) {
      event.preventDefault();
      var ids = chosen().map(function (box) { return Number(box.closest("tr[data-id]").getAttribute("data-id")); });
      var intent = bulk.querySelector("select[name=intent]").value;
      if (!ids.length) { return; }
      if (!window.confirm("Chuyển " + ids.length + " ví dụ sang ý định " + intent + "? Mô hình sẽ học lại theo thay đổi này ở lần huấn luyện sau.")) { return; }
      api("POST", "/console/api/training/examples/move", {ids: ids, intent: intent}).then(function (data) {
        done("Đã chuyển " + (data.moved + data.merged) + " ví dụ sang ý định " + data.intent + ".")(data);
      }, fail);
    });
    refresh();
  }

  formSubmit("add-example", "/console/api/training/examples", "Đã thêm ví dụ.");
  formSubmit("add-synonym", "/console/api/training/synonyms", "Đã thêm từ đồng nghĩa.");
})();
