// The post editor's "E-mail subscribers when published": keep the count of who publishing would e-mail
// in step with the post's topics and regions, and ask before a publish that e-mails anyone.
(function () {
  "use strict";

  function start() {
    const status = document.getElementById("email-audience");
    const form = status && status.closest("form");
    const box = form && form.querySelector('input[name="notify_subscribers"]');
    if (!box) return;
    const urgent = form.querySelector('input[name="urgent"]');

    function params(ticked) {
      const query = new URLSearchParams();
      if (status.dataset.post) query.set("post", status.dataset.post);
      form.querySelectorAll('input[name="topics"]:checked').forEach(function (input) {
        query.append("topic", input.value);
      });
      form.querySelectorAll('input[name^="region_links-"][name$="-region"]').forEach(function (input) {
        if (input.name.indexOf("__prefix__") !== -1 || !input.value) return;
        const prefix = input.name.slice(0, -"region".length);
        const deleted = form.querySelector('input[name="' + prefix + 'DELETE"]');
        if (deleted && (deleted.checked || deleted.value === "1" || deleted.value === "on")) return;
        query.append("region", input.value);
      });
      query.set("ticked", ticked ? "1" : "0");
      if (urgent && urgent.checked) query.set("urgent", "1");
      return query;
    }

    function count(ticked) {
      return fetch(status.dataset.countUrl + "?" + params(ticked), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      });
    }

    // One request at a time: a count still on its way finishes before the next one (or a publish) starts.
    let timer = null;
    let pending = Promise.resolve();
    function refresh() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        pending = pending.then(function () {
          return count(box.checked).then(function (answer) {
            if (answer.available) status.textContent = answer.text;
          }, function () {});
        });
      }, 250);
    }
    form.addEventListener("change", refresh);
    // Choosing or removing a region adds, hides or fills inputs without always firing "change".
    const regions = document.getElementById("id_region_links-FORMS");
    if (regions) {
      new MutationObserver(refresh).observe(regions, { childList: true, subtree: true, attributes: true,
                                                       attributeFilter: ["value"] });
    }

    // "Publish" and a moderator's "Approve and publish" send the post out.
    const SENDS = 'button[name="action-publish"], button[data-workflow-action-name="approve"]';
    let confirmed = false;
    document.addEventListener("click", function (event) {
      const button = event.target.closest && event.target.closest(SENDS);
      if (!button || (button.form !== form && !form.contains(button)) || confirmed || !box.checked) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      function publish() {
        confirmed = true; // the click below is dispatched at once, and passes through to Wagtail
        try {
          button.click();
        } finally {
          confirmed = false;
        }
      }
      clearTimeout(timer);
      pending.then(function () {
        return count(true);
      }).then(function (answer) {
        if (!answer.available || answer.sent) return publish();
        if (window.confirm(answer.confirm + "\n\nPublish and e-mail now?")) publish();
        else refresh();
      }, function () {
        if (window.confirm("The recipients could not be counted. Publish and e-mail anyway?")) publish();
      });
    }, true);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
