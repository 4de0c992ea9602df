// The answer-text editor: add/remove buttons, and a live preview with the server's checks
// (POST /console/api/texts/{name}/preview) shown next to the fields while typing.
"use strict";
(function () {
  var form = document.getElementById("text-form");
  if (!form) { return; }
  var name = form.getAttribute("data-name");
  var rows = document.getElementById("button-rows");
  var template = document.getElementById("button-row-template");
  var timer = null;

  function fill(list, items) {
    list.textContent = "";
    (items || []).forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = item;
      list.appendChild(li);
    });
  }

  function showPlatform(platform, shown) {
    var figure = document.getElementById("preview-" + platform);
    var bubbles = figure.querySelector(".bubbles");
    var buttons = figure.querySelector(".chat-buttons");
    bubbles.textContent = "";
    shown.parts.forEach(function (part) {
      var div = document.createElement("div");
      div.className = "bubble";
      div.textContent = part;
      bubbles.appendChild(div);
    });
    buttons.textContent = "";
    shown.buttons.forEach(function (title) {
      var span = document.createElement("span");
      span.className = "chat-button";
      span.textContent = title;
      buttons.appendChild(span);
    });
    fill(figure.querySelector(".notes"), shown.notes);
  }

  function draft() {
    var titles = form.querySelectorAll("input[name=button_title]");
    var payloads = form.querySelectorAll("input[name=button_payload]");
    var buttons = [];
    for (var i = 0; i < titles.length; i++) {
      if (titles[i].value.trim() || payloads[i].value.trim()) {
        buttons.push({ title: titles[i].value, payload: payloads[i].value });
      }
    }
    return {
      text: form.querySelector("textarea[name=text]").value,
      buttons: buttons,
      variation: parseInt(form.querySelector("input[name=variation]").value, 10),
      channel: form.querySelector("input[name=channel]").value
    };
  }

  function refresh() {
    fetch("/console/api/texts/" + encodeURIComponent(name) + "/preview", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": window.consoleCsrf() },
      body: JSON.stringify(draft())
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (!data) { return; }
      fill(document.getElementById("text-errors"), data.errors.text);
      fill(document.getElementById("buttons-errors"), data.errors.buttons);
      var textarea = form.querySelector("textarea[name=text]");
      if (data.errors.text) { textarea.setAttribute("aria-invalid", "true"); } else { textarea.removeAttribute("aria-invalid"); }
      showPlatform("telegram", data.telegram);
      showPlatform("zalo", data.zalo);
      form.setAttribute("data-previewed", "1");
    }).catch(function () { /* the preview is a help; saving checks again on the server */ });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 250);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("click", function (event) {
    if (event.target.classList.contains("remove-button")) {
      event.target.closest(".button-row").remove();
      schedule();
    }
  });
  var add = document.getElementById("add-button");
  if (add) {
    add.addEventListener("click", function () {
      rows.appendChild(template.content.cloneNode(true));
      schedule();
    });
  }
})();
