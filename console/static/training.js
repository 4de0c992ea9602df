// The training job page: follow a running job (progress, stage, log) and reload when it ends.
"use strict";
(function () {
  var box = document.getElementById("job");
  if (!box) { return; }
  var running = ["queued", "training", "evaluating"];
  if (running.indexOf(box.getAttribute("data-state")) < 0) { return; }
  var id = box.getAttribute("data-job-id");
  function poll() {
    fetch("/console/api/training/jobs/" + id, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { window.setTimeout(poll, 5000); return; }
        if (running.indexOf(job.state) < 0) { window.location.reload(); return; }
        document.getElementById("job-progress").value = job.progress;
        document.getElementById("job-percent").textContent = job.progress + "%";
        document.getElementById("job-stage").textContent = job.stage || "";
        var state = document.querySelector("#job-state .badge");
        if (state && state.getAttribute("data-state") !== job.state) {
          state.setAttribute("data-state", job.state);
          state.textContent = job.state === "evaluating" ? "Đang đánh giá" : "Đang huấn luyện";
        }
        var log = document.getElementById("job-log");
        log.textContent = job.log_tail;
        log.scrollTop = log.scrollHeight;
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
