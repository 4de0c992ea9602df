// The handoff chat: poll the conversation every second, send the agent's replies (CSRF header).
"use strict";
(function () {
  // The queue: reload when the tickets of this tab change (checked every 5 s, not while reading a transcript).
  var table = document.querySelector("table.tickets[data-queue]");
  if (table) {
    window.setInterval(function () {
      if (document.querySelector("table.tickets details[open]")) { return; }
      fetch("/console/api/handoff/tickets?queue=" + table.getAttribute("data-queue"),
            { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (tickets) {
          if (tickets && tickets.map(function (t) { return t.id; }).join(",") !== table.getAttribute("data-ids")) {
            window.location.reload();
          }
        })
        .catch(function () { /* next round */ });
    }, 5000);
  }
})();
(function () {
  var live = document.getElementById("live");
  if (!live) { return; }
  var ticket = live.getAttribute("data-ticket");
  var after = 0, busy = false;
  var WHO = { user: "Người dân", bot: "Trợ lý", agent: "Cán bộ" };
  var EVENTS = { pause: "Cán bộ đã nhận — trợ lý tạm dừng.", resume: "Đã trả lại cho trợ lý.",
                 session_started: "Phiên trò chuyện mới.", restart: "Người dân bắt đầu lại hội thoại." };
  var STATUS = { open: "Đang chờ", active: "Đang xử lý", closed: "Đã đóng" };

  function add(m) {
    var li = document.createElement("li");
    li.className = "msg msg-" + m.by;
    li.setAttribute("data-event-id", m.id);
    if (m.by === "system") {
      li.textContent = EVENTS[m.event] || m.event;
    } else {
      var who = document.createElement("b");
      who.textContent = (WHO[m.by] || m.by) + (m.agent ? " " + m.agent : "") + ": ";
      li.appendChild(who);
      li.appendChild(document.createTextNode(m.text));
    }
    live.appendChild(li);
    live.scrollTop = live.scrollHeight;
  }

  function poll() {
    if (busy) { return; }
    busy = true;
    fetch("/console/api/handoff/tickets/" + ticket + "/messages?after=" + after,
          { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        data.messages.forEach(add);
        after = data.last_id;
        var status = document.getElementById("ticket-status");
        if (status) { status.textContent = STATUS[data.ticket_status] || data.ticket_status; }
        if (data.paused !== null) {
          document.getElementById("paused-warning").hidden = data.paused || data.ticket_status !== "active";
        }
      })
      .catch(function () { /* the next poll retries */ })
      .then(function () { busy = false; });
  }

  var form = document.getElementById("reply-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var box = document.getElementById("reply-text"), error = document.getElementById("reply-error");
      var button = form.querySelector("button");
      if (!box.value.trim()) { return; }
      button.disabled = true;
      error.hidden = true;
      fetch("/console/api/handoff/tickets/" + ticket + "/reply", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": window.consoleCsrf() },
        body: JSON.stringify({ text: box.value })
      }).then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, data: data }; });
      }).then(function (result) {
        if (result.ok) { box.value = ""; poll(); }
        else { error.textContent = result.data.detail || "Không gửi được."; error.hidden = false; }
      }).catch(function () {
        error.textContent = "Mất kết nối tới máy chủ. Tin chưa được gửi."; error.hidden = false;
      }).then(function () { button.disabled = false; });
    });
  }
  poll();
  window.setInterval(poll, 1000);
})();
